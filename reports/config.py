"""FairnessConfig: the audit's groupings, thresholds and bootstrap settings.

Read from ``reports/fairness.toml`` (or another TOML file) by
:meth:`FairnessConfig.from_toml` and validated against :data:`CONSTRAINTS` when
built, so a bad value fails at load with one message template. The audit in
:mod:`reports.fairness` takes one config and nothing else as its settings.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from features.constraints import (
    BAD_PARAMETER,
    Rule,
    check_parameter,
    float_range,
    int_range,
    one_of,
)
from features.errors import ConfigError

__all__ = [
    "BAD_PARAMETER",
    "CONSTRAINTS",
    "FLAG_CODES",
    "FairnessConfig",
    "Grouping",
    "INTERSECTION",
    "Language",
    "METRICS",
    "RETIRED_SETTING",
    "UNKNOWN_GROUPING",
    "UNKNOWN_SETTING",
    "load_config",
]

UNKNOWN_GROUPING = (
    "The grouping {name!r} of {source} is built of {part!r}, which is not a grouping "
    "defined before it."
)
RETIRED_SETTING = (
    "The {key!r} setting in [{section}] of {source} is no longer read: {replaced}. "
    "Remove it."
)
UNKNOWN_SETTING = (
    "The {key!r} setting in [{section}] of {source} is not a known setting; "
    "known: {known}."
)
INTERSECTION = " × "
Language = Literal["da", "en"]
DEFAULT_SOURCE = "reports/fairness.toml"

METRICS = (
    "selection_rate",
    "share_of_cohort",
    "share_of_list",
    "share_of_need",
    "precision_at_k",
    "recall_at_k",
    "false_positive_rate",
    "observed_rate",
    "mean_predicted",
    "calibration_in_the_large",
    "brier_score_loss",
    "roc_auc_score",
)
FLAG_CODES = (
    "under_reach",
    "gp_contact_bias",
    "calibration_gap",
    "label_ascertainment",
)
SEVERITIES = ("breach", "warning")

_RATIO = float_range(0.0, 1.0, closed_low=False)

#: Declarative constraint table (scikit-learn's ``_parameter_constraints``).
CONSTRAINTS: Mapping[str, Rule] = {
    "min_cell_size": int_range(1),
    "n_bootstrap": int_range(1),
    "confidence": float_range(0.0, 1.0, closed_low=False, closed_high=False),
    "seed": int_range(0),
    "curve_points": int_range(2),
    "calibration_bins": int_range(2),
    "flag_adjustment": one_of(("bonferroni", "none")),
    "thresholds.min_recall_ratio": _RATIO,
    "thresholds.max_calibration_gap": _RATIO,
    "label_ascertainment.margin": float_range(0.0, 1.0, closed_high=False),
    "label_ascertainment.washout_days": int_range(0),
}


@dataclass(frozen=True)
class Grouping:
    """One way of splitting the cohort into groups, with its reference group.

    Parameters
    ----------
    name : str
        Key in the report (``education_level``, ``education_x_sex``).
    column : str or None
        Frame column for a plain grouping; ``None`` for an intersection.
    of : tuple of str
        For an intersection, the two groupings it crosses.
    reference : str
        A group value, ``"largest"``, or ``"<value> × *"`` for an intersection.
    phrase : str
        Plain-language template with ``{group}``, used in flag messages.
    labels : Mapping
        Plain-language name of each group value.
    value_map : Mapping
        Recoding of raw values (education's survey split); unmapped -> ``unknown``.
    flag : str
        Flag code raised when recall@k falls short in this grouping.
    phrase_da, labels_da : str, Mapping
        The same in Danish (``phrase_da`` empty: the English phrase; a label
        missing from ``labels_da``: the English label).
    """

    name: str
    column: str | None = None
    of: tuple[str, ...] = ()
    reference: str = "largest"
    phrase: str = "in group {group}"
    labels: Mapping[str, str] = field(default_factory=dict)
    value_map: Mapping[str, str] = field(default_factory=dict)
    flag: str = "under_reach"
    phrase_da: str = ""
    labels_da: Mapping[str, str] = field(default_factory=dict)

    def describe(self, group: str, lang: Language = "en") -> str:
        """Plain-language description of one group ("with basic education").

        Parameters
        ----------
        group : str
            The group's value.
        lang : {"en", "da"}
            Language; Danish falls back to English where no Danish is given.

        Returns
        -------
        str
        """
        label = self.labels.get(group, group)
        if lang == "da":
            return (self.phrase_da or self.phrase).format(
                group=self.labels_da.get(group, label)
            )
        return self.phrase.format(group=label)


@dataclass(frozen=True)
class FairnessConfig:
    """Settings of the fairness audit (see ``reports/fairness.toml``).

    Parameters
    ----------
    groupings : tuple of Grouping
        Audited in order; education first.
    metrics : tuple of str
        Metrics reported per group (all are computed).
    min_recall_ratio, max_calibration_gap : float
        Flag thresholds.
    ascertainment_margin : float
        ``label_ascertainment`` flags a group only when the upper end of its
        interval (found at care / expected from those found at an acute
        admission, as a ratio to the reference group's) is below ``1 - margin``.
    ascertainment_washout_days : int
        The label check counts first records over the whole covered history of
        diagnoses and hospital contacts, from this many days after its start (a
        complication known before it is re-recorded early, not found anew).
    ascertainment_not_flagged : tuple of str
        Groupings whose label-check figures are shown but never flagged: groups
        defined by the care they receive (GP contact), for which the yardstick
        is confounded by construction.
    severity : Mapping
        Flag code -> ``breach`` or ``warning``; breaches fail a release gate.
    care_gap : Mapping
        Frame column -> plain name of a care indicator (attendance, testing,
        redemption), compared by group and never flagged.
    alternative_outcomes : Mapping
        Frame column -> plain name of an alternative outcome label.
    min_cell_size : int
        Cells with fewer citizens are suppressed everywhere.
    n_bootstrap, seed, confidence : int, int, float
        Bootstrap resamples of citizens, the Generator seed, interval level.
    flag_adjustment : str
        ``bonferroni``: a flag needs the interval widened for the groups compared.
    curve_points, calibration_bins : int
        Capacities in the curve over k; risk bins for calibration.
    mitigation_grouping : str
        Grouping used by the re-ranking comparison.
    """

    groupings: tuple[Grouping, ...]
    metrics: tuple[str, ...] = METRICS
    min_recall_ratio: float = 0.8
    max_calibration_gap: float = 0.05
    ascertainment_margin: float = 0.2
    ascertainment_washout_days: int = 800
    ascertainment_not_flagged: tuple[str, ...] = ()
    severity: Mapping[str, str] = field(default_factory=dict)
    care_gap: Mapping[str, str] = field(default_factory=dict)
    alternative_outcomes: Mapping[str, str] = field(default_factory=dict)
    min_cell_size: int = 10
    n_bootstrap: int = 500
    seed: int = 0
    confidence: float = 0.95
    flag_adjustment: str = "bonferroni"
    curve_points: int = 9
    calibration_bins: int = 10
    mitigation_grouping: str = "education_split"

    def grouping(self, name: str) -> Grouping:
        """Return the grouping called ``name``."""
        return {g.name: g for g in self.groupings}[name]

    def severity_of(self, code: str) -> str:
        """Severity of a flag code (``breach`` unless configured otherwise)."""
        return self.severity.get(code, "breach")

    def with_overrides(self, **values: Any) -> FairnessConfig:
        """Return a validated copy with some values replaced (tests, CLI)."""
        return _validated(replace(self, **values), DEFAULT_SOURCE)

    @classmethod
    def from_toml(cls, path: Path | str | None = None) -> FairnessConfig:
        """Build the config from a TOML file (default: the packaged ``fairness.toml``).

        Parameters
        ----------
        path : Path, str or None
            TOML file; ``None`` reads the packaged ``reports/fairness.toml``.

        Returns
        -------
        FairnessConfig

        Raises
        ------
        ConfigError
            A value breaks :data:`CONSTRAINTS` or a grouping is malformed.
        """
        if path is None:
            text = (
                resources.files("reports").joinpath("fairness.toml").read_text("utf-8")
            )
            source = DEFAULT_SOURCE
        else:
            text = Path(path).read_text(encoding="utf-8")
            source = str(path)
        return _from_mapping(tomllib.loads(text), source)


def load_config(path: Path | str | None = None) -> FairnessConfig:
    """Shortcut for :meth:`FairnessConfig.from_toml`."""
    return FairnessConfig.from_toml(path)


#: Settings of a section that are read, and those no longer read with what
#: replaced them (refused, never silently ignored).
_SECTION_KEYS = {"label_ascertainment": ("margin", "washout_days", "not_flagged")}
_RETIRED = {
    ("label_ascertainment", "lookback_days"): (
        "the label check counts first records over the whole covered history of "
        "diagnoses and hospital contacts, from 'washout_days' after its start"
    ),
}


def _check_section(raw: Mapping[str, Any], section: str, source: str) -> None:
    """Refuse a retired or unknown key in one section of the TOML file."""
    known = _SECTION_KEYS[section]
    for key in raw.get(section, {}):
        if (section, key) in _RETIRED:
            raise ConfigError(
                RETIRED_SETTING.format(
                    key=key,
                    section=section,
                    source=source,
                    replaced=_RETIRED[section, key],
                )
            )
        if key not in known:
            raise ConfigError(
                UNKNOWN_SETTING.format(
                    key=key, section=section, source=source, known=", ".join(known)
                )
            )


def _from_mapping(raw: Mapping[str, Any], source: str) -> FairnessConfig:
    """Turn parsed TOML into a validated FairnessConfig."""
    _check_section(raw, "label_ascertainment", source)
    thresholds = raw.get("thresholds", {})
    label = raw.get("label_ascertainment", {})
    groupings = tuple(
        _grouping(name, spec) for name, spec in raw.get("groupings", {}).items()
    )
    config = FairnessConfig(
        groupings=groupings,
        metrics=tuple(raw.get("metrics", METRICS)),
        min_recall_ratio=thresholds.get("min_recall_ratio", 0.8),
        max_calibration_gap=thresholds.get("max_calibration_gap", 0.05),
        ascertainment_margin=label.get("margin", 0.2),
        ascertainment_washout_days=label.get("washout_days", 800),
        ascertainment_not_flagged=tuple(label.get("not_flagged", ())),
        severity=dict(raw.get("severity", {})),
        care_gap=dict(raw.get("care_gap", {})),
        alternative_outcomes=dict(raw.get("alternative_outcomes", {})),
        **{k: raw[k] for k in _SCALARS if k in raw},
    )
    return _validated(config, source)


_SCALARS = (
    "min_cell_size",
    "n_bootstrap",
    "seed",
    "confidence",
    "flag_adjustment",
    "curve_points",
    "calibration_bins",
    "mitigation_grouping",
)


def _grouping(name: str, spec: Mapping[str, Any]) -> Grouping:
    """Build one Grouping from its TOML table."""
    return Grouping(
        name=name,
        column=spec.get("column"),
        of=tuple(spec.get("of", ())),
        reference=str(spec.get("reference", "largest")),
        phrase=spec.get("phrase", "in group {group}"),
        labels={str(k): str(v) for k, v in spec.get("labels", {}).items()},
        value_map={str(k): str(v) for k, v in spec.get("map", {}).items()},
        flag=spec.get("flag", "gp_contact_bias" if _is_gp(spec) else "under_reach"),
        phrase_da=str(spec.get("phrase_da", "")),
        labels_da={str(k): str(v) for k, v in spec.get("labels_da", {}).items()},
    )


def _is_gp(spec: Mapping[str, Any]) -> bool:
    """Tell whether a grouping is led by GP contact ("we help the healthy")."""
    first = spec.get("column") or next(iter(spec.get("of", [])), "")
    return str(first).startswith("gp_contact")


def _validated(config: FairnessConfig, source: str) -> FairnessConfig:
    """Check every constrained value and the groupings; return the config."""
    values = {
        **{k: getattr(config, k) for k in _SCALARS if k in CONSTRAINTS},
        "thresholds.min_recall_ratio": config.min_recall_ratio,
        "thresholds.max_calibration_gap": config.max_calibration_gap,
        "label_ascertainment.margin": config.ascertainment_margin,
        "label_ascertainment.washout_days": config.ascertainment_washout_days,
    }
    for name, value in values.items():
        check_parameter(CONSTRAINTS[name], name=name, value=value, caller=source)
    _check_choices("metrics", config.metrics, METRICS, source)
    _check_choices("severity", tuple(config.severity), FLAG_CODES, source)
    _check_choices(
        "severity values", tuple(config.severity.values()), SEVERITIES, source
    )
    _check_groupings(config, source)
    return config


def _check_choices(
    name: str, values: tuple[str, ...], allowed: tuple[str, ...], source: str
) -> None:
    """Raise ConfigError when a listed value is not among ``allowed``."""
    rule = Rule(
        "a list of values among {" + ", ".join(repr(a) for a in allowed) + "}",
        lambda v: v in allowed,
    )
    for value in values:
        check_parameter(rule, name=name, value=value, caller=source)


def _check_groupings(config: FairnessConfig, source: str) -> None:
    """Each grouping has a column or crosses two earlier groupings."""
    seen: set[str] = set()
    for grouping in config.groupings:
        for part in grouping.of:
            if part not in seen:
                raise ConfigError(
                    UNKNOWN_GROUPING.format(
                        name=grouping.name, source=source, part=part
                    )
                )
        if (grouping.column is None) == (not grouping.of) or len(grouping.of) not in (
            0,
            2,
        ):
            raise ConfigError(
                BAD_PARAMETER.format(
                    name=f"groupings.{grouping.name}",
                    caller=source,
                    rule="a table with either 'column' or 'of' (two groupings)",
                    value=grouping.column,
                )
            )
        _check_choices(
            f"groupings.{grouping.name}.flag", (grouping.flag,), FLAG_CODES, source
        )
        seen.add(grouping.name)
    check_parameter(
        Rule("the name of a grouping", lambda v: v in seen),
        name="mitigation_grouping",
        value=config.mitigation_grouping,
        caller=source,
    )
    for name in config.ascertainment_not_flagged:
        check_parameter(
            Rule("a list of grouping names", lambda v: v in seen),
            name="label_ascertainment.not_flagged",
            value=name,
            caller=source,
        )
