"""MonitorConfig: the thresholds and windows of ``opspor monitor``.

Read from ``reports/monitoring.toml`` (or another TOML file) by
:meth:`MonitorConfig.from_toml` and validated against :data:`CONSTRAINTS` when
built, with the one template :data:`~features.constraints.BAD_PARAMETER`.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from fnmatch import fnmatchcase
from importlib import resources
from pathlib import Path
from typing import Any

from features.constraints import (
    BAD_PARAMETER,
    Rule,
    check_parameter,
    float_range,
    int_range,
)
from features.errors import ConfigError

__all__ = [
    "BAD_CALENDAR_FEATURE",
    "BAD_PARAMETER",
    "CONSTRAINTS",
    "MonitorConfig",
    "UNKNOWN_KEY",
]

UNKNOWN_KEY = "{source} has the unknown setting(s) {keys}; known: {known}."
BAD_CALENDAR_FEATURE = (
    "{source}: [calendar_features] maps a feature name or pattern to the reason its "
    "drift raises no alert; {key!r} has {value!r}."
)
DEFAULT_SOURCE = "reports/monitoring.toml"

_SHARE = float_range(0.0, 1.0, closed_low=False)

#: Declarative constraint table (scikit-learn's ``_parameter_constraints``).
CONSTRAINTS: Mapping[str, Rule] = {
    "min_cell_size": int_range(1),
    "recent_months": int_range(1, 12),
    "typical_months": int_range(3, 60),
    "min_monthly_rows": int_range(1),
    "n_bootstrap": int_range(1),
    "confidence": float_range(0.0, 1.0, closed_low=False, closed_high=False),
    "seed": int_range(0),
    "max_volume_drop": _SHARE,
    "max_median_ratio": float_range(1.0, 100.0, closed_low=False),
    "min_code_share": _SHARE,
    "max_quarantine_rate": _SHARE,
    "max_psi": float_range(0.0, 10.0, closed_low=False),
    "max_missing_increase": _SHARE,
    "max_precision_drop": _SHARE,
}
_THRESHOLDS = (
    "max_volume_drop",
    "max_median_ratio",
    "min_code_share",
    "max_quarantine_rate",
    "max_psi",
    "max_missing_increase",
    "max_precision_drop",
)


@dataclass(frozen=True)
class MonitorConfig:
    """Settings of the monitor (see ``reports/monitoring.toml`` for each meaning)."""

    min_cell_size: int = 10
    recent_months: int = 3
    typical_months: int = 12
    min_monthly_rows: int = 20
    n_bootstrap: int = 500
    confidence: float = 0.95
    seed: int = 0
    max_volume_drop: float = 0.30
    max_median_ratio: float = 1.5
    min_code_share: float = 0.01
    max_quarantine_rate: float = 0.05
    max_psi: float = 0.25
    max_missing_increase: float = 0.10
    max_precision_drop: float = 0.5
    calendar_features: Mapping[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Return every setting (shown in ``monitoring.json``)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def calendar_reason(self, feature: str) -> str | None:
        """Why ``feature`` drifts by construction (no drift alert), or None."""
        for pattern, reason in self.calendar_features.items():
            if fnmatchcase(feature, pattern):
                return reason
        return None

    def with_overrides(self, **values: Any) -> MonitorConfig:
        """Return a validated copy with some values replaced (tests, CLI)."""
        return _validated(replace(self, **values), DEFAULT_SOURCE)

    @classmethod
    def from_toml(cls, path: Path | str | None = None) -> MonitorConfig:
        """Build the config from a TOML file (default: the packaged one).

        Raises
        ------
        ConfigError
            A value breaks :data:`CONSTRAINTS`, or a key is unknown.
        """
        if path is None:
            package = resources.files("reports").joinpath("monitoring.toml")
            text, source = package.read_text("utf-8"), DEFAULT_SOURCE
        else:
            text, source = Path(path).read_text(encoding="utf-8"), str(path)
        return _from_mapping(tomllib.loads(text), source)


def _from_mapping(raw: Mapping[str, Any], source: str) -> MonitorConfig:
    """Turn parsed TOML into a validated MonitorConfig."""
    flat = {k: v for k, v in raw.items() if k != "thresholds"}
    flat.update(raw.get("thresholds", {}))
    known = [f.name for f in fields(MonitorConfig)]
    unknown = sorted(set(flat) - set(known))
    if unknown:
        raise ConfigError(
            UNKNOWN_KEY.format(source=source, keys=unknown, known=", ".join(known))
        )
    _check_calendar_features(flat.get("calendar_features", {}), source)
    return _validated(MonitorConfig(**flat), source)


def _check_calendar_features(table: Any, source: str) -> None:
    """Each entry is a name or pattern with a non-empty reason."""
    items = table.items() if isinstance(table, Mapping) else [("", table)]
    for key, value in items:
        if not (isinstance(value, str) and value.strip() and key):
            raise ConfigError(
                BAD_CALENDAR_FEATURE.format(source=source, key=key, value=value)
            )


def _validated(config: MonitorConfig, source: str) -> MonitorConfig:
    """Check every constrained value; return the config."""
    for name, rule in CONSTRAINTS.items():
        label = f"thresholds.{name}" if name in _THRESHOLDS else name
        check_parameter(rule, name=label, value=getattr(config, name), caller=source)
    return config
