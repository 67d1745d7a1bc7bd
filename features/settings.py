"""Engine settings: where the warehouse, outputs and stores live, and how to run.

Every stage reads one :class:`EngineSettings`. Precedence is CLI option >
environment variable (``OPSPOR_*``, MLflow's own ``MLFLOW_TRACKING_URI`` and the
login name ``USER``) > default. This is the only module that reads the
environment (``tests/architecture/test_layering.py`` greps for it); the one
secret, the session key, is kept out of ``repr``.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from features.errors import ConfigError

__all__ = [
    "ENV_VARIABLES",
    "EngineSettings",
    "LOCK_WAIT_DEFAULT",
    "LOG_LEVELS",
    "EXPLAIN_RANKS_MIN",
    "EXPLAIN_RANKS_PER_CAPACITY",
    "MEMORY_RULE",
]

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
LOCK_WAIT_DEFAULT = 10.0
_BAD_VALUE = "The {name!r} setting from {source} must be {rule}. Got {value!r} instead."
#: DuckDB's own memory units (1000^i and 1024^i), e.g. ``12GB`` or ``1.5GiB``.
_MEMORY = re.compile(r"^[0-9]+(\.[0-9]+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$")
MEMORY_RULE = (
    "an amount of memory such as '12GB' or '1.5GiB' "
    "(KB, MB, GB, TB, KiB, MiB, GiB, TiB)"
)
_RANKS_RULE = "a whole number of at least 0 (0: explain every scored citizen)"
#: The weekly run explains the first max(5 x the programmes' summed weekly
#: capacities, 5,000) ranks unless ``explain_ranks`` says otherwise.
EXPLAIN_RANKS_PER_CAPACITY = 5
EXPLAIN_RANKS_MIN = 5_000


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
    model_threads : int
        OpenMP threads for gradient boosting, SHAP and prediction (default 1:
        on the shared 2-core machine one thread is faster, as OpenMP threads spin
        while they wait for a core).
    lock_wait : float
        Seconds to keep retrying a warehouse another process holds (default 10).
    operational_db : str or None
        PostgreSQL URL of the operational store; ``None`` keeps it in the
        warehouse.
    secret_key : str or None
        The web app's session-signing key; ``None`` means a generated file.
    default_actor : str or None
        Who acts when no ``--user`` is given (the login name).
    tls : bool
        The web app is reached over HTTPS (directly or behind a TLS proxy): the
        session cookie is ``Secure`` and responses carry HSTS.
    session_idle_minutes : int
        A web session unused this long ends (default 30).
    session_max_hours : int
        A web session ends this long after sign-in, used or not (default 12).
    access_log_retention_days : int
        Entries of the per-citizen access log older than this are purged
        (default 1826, five years).
    duckdb_memory_limit : str or None
        DuckDB's ``memory_limit`` on every connection, e.g. ``"12GB"``; above it
        a query spills to ``duckdb_temp_directory`` instead of growing. ``None``
        keeps DuckDB's default (80 % of RAM).
    duckdb_threads : int or None
        DuckDB's worker threads; ``None`` keeps DuckDB's default (all cores).
    duckdb_temp_directory : Path or None
        Where DuckDB spills; ``None`` means ``duckdb_tmp`` beside the warehouse
        (under ``output_dir`` unless ``db_path`` moves it).
    explain_ranks : int or None
        How many ranks of each model the weekly run explains (SHAP reasons);
        a listed citizen below them is explained when the list is built.
    cache_dir : Path or None
        Where Opspor keeps what it can rebuild at any time (the empty schema of
        a new local MLflow store); ``None`` means ``~/.cache/opspor``.
        ``None`` means max(``EXPLAIN_RANKS_PER_CAPACITY`` x the programmes'
        summed weekly capacities, ``EXPLAIN_RANKS_MIN``); ``0`` means every
        scored citizen (:meth:`ranks_to_explain`).
    """

    output_dir: Path = Path("build")
    db_path: Path | None = None
    mlflow_uri: str | None = None
    log_level: str = "WARNING"
    model_threads: int = 1
    lock_wait: float = LOCK_WAIT_DEFAULT
    operational_db: str | None = None
    secret_key: str | None = field(default=None, repr=False)
    default_actor: str | None = None
    tls: bool = False
    session_idle_minutes: int = 30
    session_max_hours: int = 12
    access_log_retention_days: int = 1826
    duckdb_memory_limit: str | None = None
    duckdb_threads: int | None = None
    duckdb_temp_directory: Path | None = None
    explain_ranks: int | None = None
    cache_dir: Path | None = None

    def __post_init__(self) -> None:
        self._check_duckdb()
        if self.explain_ranks is not None and self.explain_ranks < 0:
            raise ConfigError(
                _BAD_VALUE.format(
                    name="explain_ranks",
                    source="EngineSettings",
                    rule=_RANKS_RULE,
                    value=self.explain_ranks,
                )
            )
        for name in (
            "session_idle_minutes",
            "session_max_hours",
            "access_log_retention_days",
        ):
            if getattr(self, name) < 1:
                raise ConfigError(
                    _BAD_VALUE.format(
                        name=name,
                        source="EngineSettings",
                        rule="a whole number of at least 1",
                        value=getattr(self, name),
                    )
                )
        if self.model_threads < 1:
            raise ConfigError(
                _BAD_VALUE.format(
                    name="model_threads",
                    source="EngineSettings",
                    rule="a whole number of at least 1",
                    value=self.model_threads,
                )
            )
        if self.log_level not in LOG_LEVELS:
            raise ConfigError(
                _BAD_VALUE.format(
                    name="log_level",
                    source="EngineSettings",
                    rule=f"one of {LOG_LEVELS}",
                    value=self.log_level,
                )
            )

    def _check_duckdb(self) -> None:
        """Refuse DuckDB settings that DuckDB would refuse, naming the rule."""
        limit = self.duckdb_memory_limit
        if limit is not None and not _MEMORY.match(limit.strip()):
            raise ConfigError(
                _BAD_VALUE.format(
                    name="duckdb_memory_limit",
                    source="EngineSettings",
                    rule=MEMORY_RULE,
                    value=limit,
                )
            )
        if self.duckdb_threads is not None and self.duckdb_threads < 1:
            raise ConfigError(
                _BAD_VALUE.format(
                    name="duckdb_threads",
                    source="EngineSettings",
                    rule="a whole number of at least 1",
                    value=self.duckdb_threads,
                )
            )

    def duckdb_config(self, warehouse: Path | None = None) -> dict[str, str]:
        """Return the DuckDB settings every connection gets (``set name = value``).

        Parameters
        ----------
        warehouse : Path, optional
            The database file opened; its folder holds the default temp
            directory (``None``: an in-memory database, under ``output_dir``).

        Returns
        -------
        dict
            ``memory_limit`` and ``threads`` when configured, and always
            ``temp_directory``.
        """
        folder = warehouse.parent if warehouse is not None else self.output_dir
        temp = self.duckdb_temp_directory or folder / "duckdb_tmp"
        config = {"temp_directory": str(temp)}
        if self.duckdb_memory_limit is not None:
            config["memory_limit"] = self.duckdb_memory_limit.strip()
        if self.duckdb_threads is not None:
            config["threads"] = str(self.duckdb_threads)
        return config

    def ranks_to_explain(self, capacities: Iterable[int]) -> int | None:
        """Return how many ranks the weekly run explains; ``None`` means all.

        Parameters
        ----------
        capacities : iterable of int
            The weekly capacities of the programmes the model's lists serve.

        Returns
        -------
        int or None
            ``explain_ranks`` when set (``0`` gives ``None``: every scored
            citizen), else max(5 x the summed capacities, 5,000).
        """
        if self.explain_ranks is not None:
            return self.explain_ranks or None
        return max(EXPLAIN_RANKS_PER_CAPACITY * sum(capacities), EXPLAIN_RANKS_MIN)

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
    def cache_root(self) -> Path:
        """The rebuildable cache: ``cache_dir``, else ``~/.cache/opspor``."""
        if self.cache_dir is not None:
            return self.cache_dir
        return Path.home() / ".cache" / "opspor"

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
        for name, (variables, parse) in ENV_VARIABLES.items():
            given = next((env[v] for v in variables if env.get(v)), None)
            if given is not None:
                values[name] = parse(given)
        values.update({k: v for k, v in overrides.items() if v is not None})
        for key in ("output_dir", "db_path", "duckdb_temp_directory", "cache_dir"):
            if key in values and not isinstance(values[key], Path):
                values[key] = Path(str(values[key]))
        return replace(cls(), **values)  # type: ignore[arg-type]

    def configure_logging(self) -> None:
        """Set the root log level; logs carry counts, never rows."""
        logging.basicConfig(level=getattr(logging, self.log_level))


def _threads(text: str) -> int:
    """Parse ``OPSPOR_MODEL_THREADS``; ConfigError (exit 2) if it is not a number."""
    try:
        return int(text)
    except ValueError as error:
        rule = "a whole number of at least 1"
        raise ConfigError(
            _BAD_VALUE.format(
                name="OPSPOR_MODEL_THREADS",
                source="the environment",
                rule=rule,
                value=text,
            )
        ) from error


def _whole(variable: str) -> Callable[[str], int]:
    """Return a parser of a whole-number variable (ConfigError, exit 2, if not)."""

    def parse(text: str) -> int:
        try:
            return int(text)
        except ValueError as error:
            raise ConfigError(
                _BAD_VALUE.format(
                    name=variable,
                    source="the environment",
                    rule="a whole number of at least 1",
                    value=text,
                )
            ) from error

    return parse


def _ranks(text: str) -> int:
    """Parse ``OPSPOR_EXPLAIN_RANKS``; ConfigError (exit 2) unless a number >= 0."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise ConfigError(
            _BAD_VALUE.format(
                name="OPSPOR_EXPLAIN_RANKS",
                source="the environment",
                rule=_RANKS_RULE,
                value=text,
            )
        )
    return value


def _flag(text: str) -> bool:
    """Parse a yes/no variable such as ``OPSPOR_TLS`` (1, true, yes, on)."""
    return text.strip().lower() in {"1", "true", "yes", "on"}


def _lock_wait(text: str) -> float:
    """Parse ``OPSPOR_LOCK_WAIT``: negative means 0, unreadable means the default."""
    try:
        return max(0.0, float(text))
    except ValueError:
        return LOCK_WAIT_DEFAULT


#: Each setting read from the environment: the variables (first set wins) and
#: how the text becomes the value.
ENV_VARIABLES: dict[str, tuple[tuple[str, ...], Callable[[str], object]]] = {
    "output_dir": (("OPSPOR_OUTPUT_DIR",), Path),
    "db_path": (("OPSPOR_DB",), Path),
    "mlflow_uri": (("OPSPOR_MLFLOW_URI", "MLFLOW_TRACKING_URI"), str),
    "log_level": (("OPSPOR_LOG_LEVEL",), str.upper),
    "model_threads": (("OPSPOR_MODEL_THREADS",), _threads),
    "lock_wait": (("OPSPOR_LOCK_WAIT",), _lock_wait),
    "operational_db": (("OPSPOR_OPERATIONAL_DB",), str),
    "secret_key": (("OPSPOR_SECRET_KEY",), str),
    "default_actor": (("USER",), str),
    "tls": (("OPSPOR_TLS",), _flag),
    "session_idle_minutes": (
        ("OPSPOR_SESSION_IDLE_MINUTES",),
        _whole("OPSPOR_SESSION_IDLE_MINUTES"),
    ),
    "session_max_hours": (
        ("OPSPOR_SESSION_MAX_HOURS",),
        _whole("OPSPOR_SESSION_MAX_HOURS"),
    ),
    "access_log_retention_days": (
        ("OPSPOR_ACCESS_LOG_RETENTION_DAYS",),
        _whole("OPSPOR_ACCESS_LOG_RETENTION_DAYS"),
    ),
    "duckdb_memory_limit": (("OPSPOR_DUCKDB_MEMORY_LIMIT",), str.strip),
    "duckdb_threads": (("OPSPOR_DUCKDB_THREADS",), _whole("OPSPOR_DUCKDB_THREADS")),
    "duckdb_temp_directory": (("OPSPOR_DUCKDB_TEMP_DIRECTORY",), Path),
    "explain_ranks": (("OPSPOR_EXPLAIN_RANKS",), _ranks),
    "cache_dir": (("OPSPOR_CACHE_DIR",), Path),
}
