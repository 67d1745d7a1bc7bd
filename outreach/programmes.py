"""Outreach programmes: the settings object behind every weekly list.

A programme (``outreach/programmes/<name>.toml``) says who can be listed (cohort
flag and municipalities), which model ranks them, how many fit in a week, who is
suppressed, and what the list shows. It is validated when it is built, against
the declarative :data:`CONSTRAINTS` table, so a bad file fails at load with one
message whose text is pinned in a test. :mod:`outreach.lists` reads it.
"""

from __future__ import annotations

import csv
import io
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from features.constraints import (
    Rule,
    check_parameter,
    float_range,
    int_range,
    list_of,
    one_of,
    str_matching,
)
from features.errors import ConfigError, NotFoundError
from models.spec import COHORT_FLAGS, CohortFlag, available_specs

__all__ = [
    "AUDIT_ONLY_COLUMNS",
    "CONSTRAINTS",
    "LIST_COLUMNS",
    "MUNICIPALITY_NAMES",
    "Programme",
    "available_programmes",
    "load_programme",
    "municipality_name",
]

APPOINTMENT_KINDS = (
    "diabetes_annual_control",
    "diabetes_control",
    "eye_screening",
    "foot_examination",
    "copd_control",
    "heart_outpatient",
    "psychiatric_outpatient",
    "gp_consultation",
    "rehabilitation",
)
#: Columns a programme may show on its list; everything else stays in DuckDB.
LIST_COLUMNS = (
    "rank",
    "citizen_id",
    "area",
    "stop",
    "preferred_language",
    "risk_band",
    "reasons",
    "last_contact",
)
#: Used to audit fairness, never shown on a list and never a feature.
AUDIT_ONLY_COLUMNS = ("education_level", "origin")


def _municipality_names() -> dict[str, str]:
    """Read the 98 kommunekoder and names (``outreach/data/municipalities.csv``)."""
    text = resources.files("outreach").joinpath("data", "municipalities.csv")
    rows = csv.DictReader(io.StringIO(text.read_text(encoding="utf-8")))
    return {row["code"]: row["name"] for row in rows}


#: The 98 Danish municipalities by kommunekode; an unknown code prints as itself.
MUNICIPALITY_NAMES: Mapping[str, str] = _municipality_names()

_MISSING_PARAM = "The {name!r} parameter of {caller} is required but missing."
_UNKNOWN_PARAMS = "{caller} has unknown parameter(s) {names}; allowed: {allowed}."
_AREA_SUM = (
    "The per-area capacities of {caller} add up to {total}, "
    "more than capacity_per_week = {cap}."
)
_AREA_OUTSIDE = (
    "The 'capacity_per_area' parameter of {caller} names municipality {area!r}, "
    "which is not in 'municipalities'."
)
_AUDIT_COLUMN = (
    "The 'columns' parameter of {caller} names {name!r}: "
    "education level and origin are used to audit, not to list."
)
_NAME_MISMATCH = "The 'name' parameter of {caller} must match its file name {stem!r}."
_UNKNOWN_PROGRAMME = "Unknown programme {name!r}. Available: {available}."
_CODE = re.compile(r"^[0-9]{3}$")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


_AT_LEAST_ONE = int_range(1)


def _area_caps(value: Any) -> bool:
    return isinstance(value, dict) and all(
        _CODE.match(str(k)) and _AT_LEAST_ONE.ok(v) for k, v in value.items()
    )


_TEXT = Rule("a non-empty str", lambda v: isinstance(v, str) and v.strip() != "")
_NAME_RULE = str_matching(_NAME)
_MODEL_REF = re.compile(r"^([a-z][a-z0-9_]*)(@[A-Za-z0-9_.-]+)?$")


def _model_refs(value: Any) -> bool:
    """Return True for a list of unique ``NAME[@ALIAS|VERSION]`` of shipped specs."""
    if not isinstance(value, list) or len(set(map(str, value))) != len(value):
        return False
    matches = [_MODEL_REF.match(v) if isinstance(v, str) else None for v in value]
    specs = set(available_specs())
    return all(m is not None and m.group(1) in specs for m in matches)


_REFERENCE_RANKINGS = Rule(
    "a list of unique model references NAME[@ALIAS or @VERSION] whose NAME is a "
    f"spec in models/specs/ ({', '.join(available_specs())})",
    _model_refs,
)

#: Declarative constraint table (scikit-learn's ``_parameter_constraints``).
CONSTRAINTS: Mapping[str, Rule] = {
    "name": _NAME_RULE,
    "title": _TEXT,
    "description": Rule("a str", lambda v: isinstance(v, str)),
    "cohort": one_of(COHORT_FLAGS),
    "municipalities": list_of(
        "a list of unique 3-digit municipality codes", pattern=_CODE
    ),
    "model_name": _NAME_RULE,
    "model_alias": _TEXT,
    "reach_against": _REFERENCE_RANKINGS,
    "capacity_per_week": _AT_LEAST_ONE,
    "capacity_per_area": Rule(
        "a table of 3-digit municipality code = int >= 1", _area_caps
    ),
    "min_days_since_contact": int_range(0),
    "attended_control_within_days": int_range(0),
    "relevant_controls": list_of(
        f"a list of appointment kinds among {list(APPOINTMENT_KINDS)}",
        options=APPOINTMENT_KINDS,
    ),
    "declined_within_days": int_range(0),
    "screened_within_days": int_range(0),
    "exclude_inpatients": Rule("a bool", lambda v: isinstance(v, bool)),
    "reasons_language": one_of(("da", "en")),
    "reasons_per_citizen": int_range(1, 10),
    "columns": list_of(
        f"a non-empty list of columns among {list(LIST_COLUMNS)}",
        options=LIST_COLUMNS,
        non_empty=True,
    ),
    "group_stops_by_site": Rule("a bool", lambda v: isinstance(v, bool)),
    "holdout_share": float_range(0.0, 0.5),
    "follow_up_days": _AT_LEAST_ONE,
    "max_extract_age_days": int_range(0, 366),
}
_REQUIRED = ("name", "cohort", "model_name", "capacity_per_week")


@dataclass(frozen=True)
class Programme:
    """One outreach programme, validated when it is built.

    Parameters
    ----------
    name : str
        Identifier; also the file stem and the folder of its exported lists.
    cohort : str
        Cohort flag column of ``marts.scoring_features`` (e.g. ``has_diabetes``).
    model_name : str
        Registered model whose scores rank the cohort.
    capacity_per_week : int
        Most citizens listed in one week, in all.
    reach_against : tuple of str
        Reference rankings (``NAME[@ALIAS|VERSION]`` of shipped specs) that
        ``opspor audit`` compares each group's recall@k with, unless
        ``--reach-against`` is given (:func:`reports.reach.reach_against`).
    capacity_per_area : Mapping[str, int]
        Most citizens per municipality code; areas not named share the rest.
    municipalities : tuple of str
        Municipality codes served; empty means all.
    holdout_share : float
        Share of would-be-listed citizens held back for evaluation (0 = none).
    max_extract_age_days : int
        Oldest the loaded extract may be on the list week's Monday (days);
        an older one is refused unless the list is built with ``allow_stale``.
    screened_within_days : int
        Suppress citizens with an HbA1c and a lipid test both in this many days
        before the as-of date (0 = off; :mod:`outreach.clinical`).
    exclude_inpatients : bool
        Suppress citizens admitted and not discharged at the as-of date.
    source : str
        Where the settings came from; the caller named in error messages.
    """

    name: str
    cohort: CohortFlag
    model_name: str
    capacity_per_week: int
    title: str = ""
    description: str = ""
    municipalities: tuple[str, ...] = ()
    model_alias: str = "champion"
    reach_against: tuple[str, ...] = ()
    capacity_per_area: Mapping[str, int] = field(default_factory=dict)
    min_days_since_contact: int = 28
    attended_control_within_days: int = 90
    relevant_controls: tuple[str, ...] = ()
    declined_within_days: int = 180
    screened_within_days: int = 0
    exclude_inpatients: bool = False
    reasons_language: Literal["da", "en"] = "da"
    reasons_per_citizen: int = 3
    columns: tuple[str, ...] = (
        "rank",
        "citizen_id",
        "stop",
        "preferred_language",
        "risk_band",
        "reasons",
        "last_contact",
    )
    group_stops_by_site: bool = True
    holdout_share: float = 0.0
    follow_up_days: int = 90
    max_extract_age_days: int = 14
    source: str = "Programme"

    def __post_init__(self) -> None:
        for spec in fields(self):
            if spec.name in CONSTRAINTS:
                _check(spec.name, _plain(getattr(self, spec.name)), self.source)
        _check_areas(self)

    @classmethod
    def from_toml(cls, path: Path | str, *, caller: str | None = None) -> Programme:
        """Read and validate a programme file.

        Parameters
        ----------
        path : Path or str
            The TOML file.
        caller : str, optional
            Name used in messages (defaults to the path as given).

        Returns
        -------
        Programme

        Raises
        ------
        ConfigError
            A key is unknown, missing or out of range.
        """
        path = Path(path)
        caller = caller or str(path)
        with path.open("rb") as fh:
            data = tomllib.load(fh)
        return cls.from_mapping(data, caller=caller, stem=path.stem)

    @classmethod
    def from_mapping(
        cls,
        data: Mapping[str, Any],
        *,
        caller: str = "Programme",
        stem: str | None = None,
    ) -> Programme:
        """Build a programme from parsed TOML, checking names before values."""
        unknown = sorted(set(data) - set(CONSTRAINTS))
        if unknown:
            raise ConfigError(
                _UNKNOWN_PARAMS.format(
                    caller=caller, names=unknown, allowed=sorted(CONSTRAINTS)
                )
            )
        for name in _REQUIRED:
            if name not in data:
                raise ConfigError(_MISSING_PARAM.format(name=name, caller=caller))
        for name, value in data.items():
            _check(name, value, caller)
        if stem is not None and data["name"] != stem:
            raise ConfigError(_NAME_MISMATCH.format(caller=caller, stem=stem))
        values: dict[str, Any] = {
            k: tuple(v) if isinstance(v, list) else v for k, v in data.items()
        }
        if "capacity_per_area" in values:
            values["capacity_per_area"] = {
                str(k): v for k, v in values["capacity_per_area"].items()
            }
        return cls(**values, source=caller)

    def area_capacity(self, area: str) -> int:
        """Most citizens from one municipality (the total when it has no own cap)."""
        return int(self.capacity_per_area.get(area, self.capacity_per_week))


def _plain(value: Any) -> Any:
    """Tuples back to lists and mappings to dicts, as they were in TOML."""
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, Mapping):
        return dict(value)
    return value


def _check(name: str, value: Any, caller: str) -> None:
    """Raise the pinned ConfigError if value breaks its constraint."""
    if name == "columns" and isinstance(value, list):
        for column in value:
            if column in AUDIT_ONLY_COLUMNS:
                raise ConfigError(_AUDIT_COLUMN.format(caller=caller, name=column))
    check_parameter(CONSTRAINTS[name], name=name, value=value, caller=caller)


def _check_areas(programme: Programme) -> None:
    """Per-area caps must fit in the total and name served municipalities."""
    total = sum(programme.capacity_per_area.values())
    if total > programme.capacity_per_week:
        raise ConfigError(
            _AREA_SUM.format(
                caller=programme.source, total=total, cap=programme.capacity_per_week
            )
        )
    for area in programme.capacity_per_area:
        if programme.municipalities and area not in programme.municipalities:
            raise ConfigError(_AREA_OUTSIDE.format(caller=programme.source, area=area))


def available_programmes() -> list[str]:
    """Names of the programmes shipped in ``outreach/programmes``."""
    folder = resources.files("outreach").joinpath("programmes")
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def load_programme(name_or_path: str | Path) -> Programme:
    """Load a shipped programme by name, or any programme file by path.

    Parameters
    ----------
    name_or_path : str or Path
        ``diabetes_bus`` or ``path/to/my_programme.toml``.

    Returns
    -------
    Programme

    Raises
    ------
    NotFoundError
        No shipped programme has that name.
    ConfigError
        The file breaks a constraint.
    """
    text = str(name_or_path)
    if text.endswith(".toml"):
        path = Path(text)
        if not path.exists():
            raise NotFoundError(
                _UNKNOWN_PROGRAMME.format(name=text, available=available_programmes())
            )
        return Programme.from_toml(path)
    if text not in available_programmes():
        raise NotFoundError(
            _UNKNOWN_PROGRAMME.format(name=text, available=available_programmes())
        )
    resource = resources.files("outreach").joinpath("programmes", f"{text}.toml")
    with resources.as_file(resource) as path:
        return Programme.from_toml(path, caller=f"outreach/programmes/{text}.toml")


def municipality_name(code: str) -> str:
    """Return the municipality's name, or its code when unknown."""
    return MUNICIPALITY_NAMES.get(code, code)
