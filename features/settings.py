"""Engine settings: where the warehouse, outputs and MLflow store live.

Every stage reads one :class:`EngineSettings`. Precedence is CLI option >
environment variable (``OPSPOR_*``, and MLflow's own ``MLFLOW_TRACKING_URI``) >
default. Nothing here is a secret.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from features.errors import ConfigError

__all__ = ["EngineSettings", "LOG_LEVELS"]

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
_BAD_VALUE = "The {name!r} setting from {source} must be {rule}. Got {value!r} instead."


@dataclass(frozen=True)
class EngineSettings:
    """Paths and URIs shared by all stages.

    Parameters
    ----------
    output_dir : Path
        Root of everything Opspor writes (default ``build/``).
    db_path : Path or None
        The DuckDB warehouse; ``None`` means ``<output_dir>/opspor.duckdb``.
    mlflow_uri : str or None
        MLflow tracking URI; ``None`` means a local store under ``<output_dir>/mlruns``.
    log_level : str
        One of ``DEBUG``, ``INFO``, ``WARNING``, ``ERROR``.
    operational_db : str or None
        PostgreSQL URL of the operational store (``OPSPOR_OPERATIONAL_DB``);
        ``None`` keeps the operational tables in the warehouse.
    default_actor : str or None
        Who acts when no ``--user`` is given (the login name, ``USER``).
    """

    output_dir: Path = Path("build")
    db_path: Path | None = None
    mlflow_uri: str | None = None
    log_level: str = "WARNING"
    operational_db: str | None = None
    default_actor: str | None = None

    def __post_init__(self) -> None:
        if self.log_level not in LOG_LEVELS:
            raise ConfigError(
                _BAD_VALUE.format(
                    name="log_level",
                    source="EngineSettings",
                    rule=f"one of {LOG_LEVELS}",
                    value=self.log_level,
                )
            )

    @property
    def warehouse(self) -> Path:
        """The DuckDB file used by every stage."""
        return (
            self.db_path
            if self.db_path is not None
            else self.output_dir / "opspor.duckdb"
        )

    @property
    def tracking_uri(self) -> str:
        """The MLflow tracking URI: configured, or an embedded SQLite store."""
        if self.mlflow_uri:
            return self.mlflow_uri
        return f"sqlite:///{(self.output_dir / 'mlflow.db').resolve()}"

    @property
    def artifact_dir(self) -> Path:
        """Where the embedded MLflow store keeps artifacts."""
        return self.output_dir / "mlruns"

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, **overrides: object
    ) -> EngineSettings:
        """Build settings from ``OPSPOR_*`` variables, then apply explicit overrides.

        Parameters
        ----------
        env : Mapping, optional
            Environment to read; defaults to ``os.environ``.
        **overrides
            Values given on the command line; ``None`` values are ignored.

        Returns
        -------
        EngineSettings
        """
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        if env.get("OPSPOR_OUTPUT_DIR"):
            values["output_dir"] = Path(env["OPSPOR_OUTPUT_DIR"])
        if env.get("OPSPOR_DB"):
            values["db_path"] = Path(env["OPSPOR_DB"])
        uri = env.get("OPSPOR_MLFLOW_URI") or env.get("MLFLOW_TRACKING_URI")
        if uri:
            values["mlflow_uri"] = uri
        if env.get("OPSPOR_OPERATIONAL_DB"):
            values["operational_db"] = env["OPSPOR_OPERATIONAL_DB"]
        if env.get("USER"):
            values["default_actor"] = env["USER"]
        if env.get("OPSPOR_LOG_LEVEL"):
            values["log_level"] = env["OPSPOR_LOG_LEVEL"].upper()
        values.update({k: v for k, v in overrides.items() if v is not None})
        for key in ("output_dir", "db_path"):
            if key in values and not isinstance(values[key], Path):
                values[key] = Path(str(values[key]))
        return replace(cls(), **values)  # type: ignore[arg-type]

    def configure_logging(self) -> None:
        """Set the root log level; logs carry counts, never rows."""
        logging.basicConfig(level=getattr(logging, self.log_level))
