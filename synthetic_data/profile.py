"""Synthetic-region profiles: the settings object at the head of the generator.

A profile (``profiles/*.toml``) holds every figure the generator draws from —
population shape, prevalences, care behaviour, planted knobs — with its source
cited beside it in the TOML. :func:`load_profile` reads one into a frozen
:class:`SyntheticProfile`, which validates itself against the declarative
:data:`CONSTRAINTS` table when it is built (scikit-learn's
``_parameter_constraints``), so a bad value fails at load with one message
template. :mod:`synthetic_data.generate` is the only consumer.
"""

from __future__ import annotations

import dataclasses
import math
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from synthetic_data.world import World

__all__ = [
    "CONSTRAINTS",
    "EDUCATION_LEVELS",
    "ORIGINS",
    "ProfileError",
    "SyntheticProfile",
    "load_profile",
]

EDUCATION_LEVELS = (
    "basic",
    "upper_secondary",
    "vocational",
    "short_tertiary",
    "medium_tertiary",
    "long_tertiary",
    "unknown",
)
ORIGINS = (
    "danish",
    "immigrant_western",
    "immigrant_non_western",
    "descendant_western",
    "descendant_non_western",
    "unknown",
)
DISEASES = ("diabetes", "copd", "heart", "cancer", "back_pain", "smi")
COMPLICATIONS = ("kidney", "eye", "nerve", "circulation", "foot")

BAD_PARAMETER = (
    "The {name!r} parameter of {caller} must be {rule}. Got {value!r} instead."
)
MISSING_PARAMETER = "The {name!r} parameter of {caller} is missing."
UNKNOWN_PARAMETER = "The {name!r} parameter of {caller} is not a profile parameter."
UNKNOWN_PROFILE = (
    "Unknown profile {name!r}: expected one of {known} or a path to a .toml file."
)
UNREADABLE_PROFILE = "The profile {caller} cannot be read: {error}."

_AGE_RANGE = re.compile(r"^(\d{1,3})-(\d{1,3})$")
_YEAR_RANGE = re.compile(r"^(\d{4})-(\d{4})$")
_MUNICIPALITY = re.compile(r"^\d{3}$")
_LANGUAGE = re.compile(r"^([a-z]{2}|none)$")


class ProfileError(ValueError):
    """A profile value is missing, unknown or outside its allowed range."""


# --- constraints --------------------------------------------------------------


@dataclass(frozen=True)
class _Constraint:
    """One rule: a predicate on the value and the words that describe it."""

    rule: str
    check: Callable[[Any], bool]


def _interval(kind: type, low: float, high: float) -> _Constraint:
    """Build an int/float interval rule, closed at finite ends (as sklearn's)."""
    name = "an int" if kind is int else "a float"
    left = "(" if low == -math.inf else "["
    right = ")" if high == math.inf else "]"
    rule = f"{name} in the range {left}{_num(low)}, {_num(high)}{right}"

    def check(value: Any) -> bool:
        if isinstance(value, bool):
            return False
        ok_type = (
            isinstance(value, int) if kind is int else isinstance(value, int | float)
        )
        return ok_type and low <= value <= high

    return _Constraint(rule, check)


def _num(value: float) -> str:
    """Format an interval end the way scikit-learn does."""
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return str(value)


def _mapping(
    rule: str, key_ok: Callable[[str], bool], low: float, high: float
) -> _Constraint:
    """Build a rule for a table of str keys to numbers in [low, high]."""

    def check(value: Any) -> bool:
        if not isinstance(value, Mapping) or not value:
            return False
        numbers = all(
            isinstance(v, int | float) and not isinstance(v, bool) and low <= v <= high
            for v in value.values()
        )
        return (
            numbers and all(key_ok(str(k)) for k in value) and sum(value.values()) > 0
        )

    return _Constraint(rule, check)


def _age_key(key: str) -> bool:
    """Check an age band key like ``40-59`` (low <= high <= 120)."""
    match = _AGE_RANGE.match(key)
    return match is not None and int(match[1]) <= int(match[2]) <= 120


def _cohort_table(value: Any) -> bool:
    """Birth-cohort keys ``YYYY-YYYY``, each a weights table over education levels."""
    weights = _mapping("", lambda k: k in EDUCATION_LEVELS, 0.0, math.inf)
    return (
        isinstance(value, Mapping)
        and bool(value)
        and all(
            _YEAR_RANGE.match(str(k)) and weights.check(v) for k, v in value.items()
        )
    )


def _language_table(value: Any) -> bool:
    """Origin keys, each a weights table over ISO 639-1 codes (``none`` = null)."""
    weights = _mapping("", lambda k: bool(_LANGUAGE.match(k)), 0.0, math.inf)
    return (
        isinstance(value, Mapping)
        and set(value) == set(ORIGINS)
        and all(weights.check(v) for v in value.values())
    )


def _municipalities(value: Any) -> bool:
    """Check a list of {code, name, population} rows with unique 3-digit codes."""
    if not isinstance(value, list) or not value:
        return False
    rows_ok = all(
        isinstance(row, Mapping)
        and set(row) == {"code", "name", "population"}
        and isinstance(row["code"], str)
        and bool(_MUNICIPALITY.match(row["code"]))
        and isinstance(row["name"], str)
        and isinstance(row["population"], int)
        and row["population"] > 0
        for row in value
    )
    return rows_ok and len({row["code"] for row in value}) == len(value)


def _is_date(value: Any) -> bool:
    """Check a TOML date (or an ISO date string)."""
    if isinstance(value, date):
        return True
    try:
        date.fromisoformat(str(value))
    except ValueError:
        return False
    return isinstance(value, str)


_INT_POS = _interval(int, 1, math.inf)
_SHARE = _interval(float, 0.0, 1.0)
_RATE = _interval(float, 0.0, 10.0)
_RR = _interval(float, 1.0, 10.0)
_STR = _Constraint("a non-empty str", lambda v: isinstance(v, str) and bool(v.strip()))
_BOOL = _Constraint("an instance of 'bool'", lambda v: isinstance(v, bool))
_DATE = _Constraint("an ISO date (YYYY-MM-DD)", _is_date)
_BY_AGE = _mapping(
    "a table of age bands ('40-59') to probabilities in [0, 1]", _age_key, 0, 1
)

#: parameter -> constraint; the order is the order of the dataclass fields.
CONSTRAINTS: dict[str, _Constraint] = {
    "name": _STR,
    "source": _STR,
    "seed": _interval(int, 0, 2**32 - 1),
    "extract_date": _DATE,
    "history_years": _interval(int, 3, 15),
    "citizens": _INT_POS,
    "female_share": _SHARE,
    "age_pyramid": _mapping(
        "a table of age bands ('40-44') to non-negative weights", _age_key, 0, math.inf
    ),
    "municipalities": _Constraint(
        "a list of {code, name, population} tables with unique 3-digit codes",
        _municipalities,
    ),
    "origin_shares": _mapping(
        f"a table of weights over {ORIGINS}", lambda k: k in ORIGINS, 0, math.inf
    ),
    "languages": _Constraint(
        "a table of one ISO 639-1 weights table per origin", _language_table
    ),
    "education_by_birth_cohort": _Constraint(
        "a table of birth cohorts ('1945-1959') to education-level weights",
        _cohort_table,
    ),
    "immigrant_unknown_education_share": _SHARE,
    "nursing_home_share_80plus": _SHARE,
    "supported_housing_share": _SHARE,
    "shelter_share": _SHARE,
    "prison_share": _SHARE,
    "unknown_living_share": _SHARE,
    "no_gp_share": _SHARE,
    "opt_out_share": _SHARE,
    "mortality_at_50": _SHARE,
    "mortality_doubling_years": _interval(float, 1.0, 30.0),
    "emigration_rate": _SHARE,
    "type2_prevalence_by_age": _BY_AGE,
    "type1_prevalence": _SHARE,
    "copd_prevalence_by_age": _BY_AGE,
    "heart_prevalence_by_age": _BY_AGE,
    "cancer_prevalence_by_age": _BY_AGE,
    "back_pain_prevalence_by_age": _BY_AGE,
    "smi_prevalence_by_age": _BY_AGE,
    "hypertension_prevalence_by_age": _BY_AGE,
    "education_rr": _mapping(
        f"a table of relative risks in [1, 10] over {DISEASES}",
        lambda k: k in DISEASES,
        1.0,
        10.0,
    ),
    "smi_rr_diabetes": _RR,
    "smi_rr_heart": _RR,
    "non_western_rr_diabetes": _RR,
    "diabetes_oversampling": _interval(float, 1.0, 10.0),
    "single_high_hba1c_share": _SHARE,
    "glp1_obesity_share": _SHARE,
    "pcos_metformin_share": _SHARE,
    "pregnancy_rate": _SHARE,
    "gestational_diabetes_share": _SHARE,
    "primary_non_adherence": _SHARE,
    "no_show_rate": _SHARE,
    "citizen_cancel_rate": _SHARE,
    "provider_cancel_rate": _SHARE,
    "hba1c_mean_type2": _interval(float, 30.0, 120.0),
    "hba1c_mean_type1": _interval(float, 30.0, 120.0),
    "hba1c_sd": _interval(float, 0.0, 40.0),
    "acute_admission_rate_type2": _RATE,
    "acute_admission_rate_type1": _RATE,
    "complication_rates": _mapping(
        f"a table of yearly rates in [0, 1] over {COMPLICATIONS}",
        lambda k: k in COMPLICATIONS,
        0.0,
        1.0,
    ),
    "engagement_education_gradient": _interval(float, 0.0, 5.0),
    "ascertainment_bias": _BOOL,
    "engagement_harm_effect": _interval(float, 0.0, 5.0),
    "ascertainment_window_days": _interval(int, 30, 790),
    "ascertainment_engagement_slope": _interval(float, 0.0, 5.0),
}


# --- the settings object ------------------------------------------------------


@dataclass(frozen=True)
class SyntheticProfile:
    """Every figure the generator uses, validated against :data:`CONSTRAINTS`.

    Build it with :meth:`from_toml` or :func:`load_profile`;
    ``dataclasses.replace`` re-validates. ``caller`` names the file in messages.
    Field meanings and sources are documented in the profile TOML files and in
    ``synthetic_data/README.md``.
    """

    name: str
    source: str
    seed: int
    extract_date: date
    history_years: int
    citizens: int
    female_share: float
    age_pyramid: dict[str, float]
    municipalities: list[dict[str, Any]]
    origin_shares: dict[str, float]
    languages: dict[str, dict[str, float]]
    education_by_birth_cohort: dict[str, dict[str, float]]
    immigrant_unknown_education_share: float
    nursing_home_share_80plus: float
    supported_housing_share: float
    shelter_share: float
    prison_share: float
    unknown_living_share: float
    no_gp_share: float
    opt_out_share: float
    mortality_at_50: float
    mortality_doubling_years: float
    emigration_rate: float
    type2_prevalence_by_age: dict[str, float]
    type1_prevalence: float
    copd_prevalence_by_age: dict[str, float]
    heart_prevalence_by_age: dict[str, float]
    cancer_prevalence_by_age: dict[str, float]
    back_pain_prevalence_by_age: dict[str, float]
    smi_prevalence_by_age: dict[str, float]
    hypertension_prevalence_by_age: dict[str, float]
    education_rr: dict[str, float]
    smi_rr_diabetes: float
    smi_rr_heart: float
    non_western_rr_diabetes: float
    diabetes_oversampling: float
    single_high_hba1c_share: float
    glp1_obesity_share: float
    pcos_metformin_share: float
    pregnancy_rate: float
    gestational_diabetes_share: float
    primary_non_adherence: float
    no_show_rate: float
    citizen_cancel_rate: float
    provider_cancel_rate: float
    hba1c_mean_type2: float
    hba1c_mean_type1: float
    hba1c_sd: float
    acute_admission_rate_type2: float
    acute_admission_rate_type1: float
    complication_rates: dict[str, float]
    engagement_education_gradient: float
    ascertainment_bias: bool
    engagement_harm_effect: float
    ascertainment_window_days: int
    ascertainment_engagement_slope: float
    caller: str = field(default="SyntheticProfile", compare=False)
    #: The world this profile generates (:func:`synthetic_data.world.apply_world`);
    #: None = the profile's own, fixed mechanisms.
    world: World | None = None

    def __post_init__(self) -> None:
        for name, constraint in CONSTRAINTS.items():
            value = getattr(self, name)
            if not constraint.check(value):
                raise ProfileError(
                    BAD_PARAMETER.format(
                        name=name, caller=self.caller, rule=constraint.rule, value=value
                    )
                )
        if isinstance(self.extract_date, str):
            object.__setattr__(
                self, "extract_date", date.fromisoformat(self.extract_date)
            )

    @classmethod
    def from_toml(
        cls, path: Path | str, *, caller: str | None = None
    ) -> SyntheticProfile:
        """Read and validate one profile file.

        Parameters
        ----------
        path : Path or str
            The TOML file. Its top-level tables are sections; their keys are the
            parameters (see :data:`CONSTRAINTS`).
        caller : str, optional
            How messages name the file (default: the path as given).

        Returns
        -------
        SyntheticProfile

        Raises
        ------
        ProfileError
            If the file cannot be read, or a parameter is missing, unknown or
            outside its range.
        """
        caller = caller or str(path)
        profile, world_seed = _read_toml(path, caller)
        return profile if world_seed is None else _with_world(profile, world_seed)


def _read_toml(path: Path | str, caller: str) -> tuple[SyntheticProfile, int | None]:
    """Read one profile file: the profile without its world, and the world seed."""
    try:
        with open(path, "rb") as handle:
            document = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ProfileError(
            UNREADABLE_PROFILE.format(caller=caller, error=error)
        ) from error
    world = document.pop("world", None)
    seed = None if world is None else _world_seed(world, caller)
    return SyntheticProfile(**_parameters(document, caller), caller=caller), seed


def _world_seed(section: Any, caller: str) -> int:
    """Validate the ``[world]`` section (``seed = N``) and return its seed."""
    rule = _interval(int, 0, 2**32 - 1)
    for name in section if isinstance(section, Mapping) else ["seed"]:
        if name != "seed":
            raise ProfileError(
                UNKNOWN_PARAMETER.format(name=f"world.{name}", caller=caller)
            )
    value: Any = section.get("seed") if isinstance(section, Mapping) else section
    if not rule.check(value):
        raise ProfileError(
            BAD_PARAMETER.format(
                name="world.seed", caller=caller, rule=rule.rule, value=value
            )
        )
    return int(value)


def _with_world(profile: SyntheticProfile, seed: int) -> SyntheticProfile:
    """Apply the world drawn from ``seed`` (imported here: world imports profile)."""
    from synthetic_data.world import apply_world, draw_world

    return apply_world(profile, draw_world(seed))


def _parameters(document: Mapping[str, Any], caller: str) -> dict[str, Any]:
    """Flatten the section tables into one parameter dict; refuse unknown/missing."""
    params: dict[str, Any] = {}
    for section in document.values():
        if not isinstance(section, Mapping):
            continue
        params.update(section)
    for name in params:
        if name not in CONSTRAINTS:
            raise ProfileError(UNKNOWN_PARAMETER.format(name=name, caller=caller))
    for name in CONSTRAINTS:
        if name not in params:
            raise ProfileError(MISSING_PARAMETER.format(name=name, caller=caller))
    return params


def _builtin_names() -> list[str]:
    """Return the names of the profiles that ship with the package."""
    folder = resources.files("synthetic_data") / "profiles"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def load_profile(
    profile: str | Path,
    *,
    citizens: int | None = None,
    seed: int | None = None,
    world: int | None = None,
) -> SyntheticProfile:
    """Load a built-in profile by name, or a profile TOML by path, with overrides.

    Parameters
    ----------
    profile : str or Path
        ``region_small``, ``region_demo`` or a path to a ``.toml`` file.
    citizens : int, optional
        Replace the profile's number of citizens.
    seed : int, optional
        Replace the profile's seed.
    world : int, optional
        Generate the world drawn from this seed
        (:func:`synthetic_data.world.draw_world`); replaces a ``[world]``
        section of the file.

    Returns
    -------
    SyntheticProfile

    Raises
    ------
    ProfileError
        For an unknown name or any invalid value (overrides included).
    """
    text = str(profile)
    if text.endswith(".toml") or "/" in text or "\\" in text:
        prof, world_seed = _read_toml(Path(text), text)
    elif text in _builtin_names():
        resource = resources.files("synthetic_data") / "profiles" / f"{text}.toml"
        with resources.as_file(resource) as path:
            prof, world_seed = _read_toml(path, f"profiles/{text}.toml")
    else:
        known = ", ".join(_builtin_names())
        raise ProfileError(UNKNOWN_PROFILE.format(name=text, known=known))
    world_seed = world if world is not None else world_seed
    if world_seed is not None:
        prof = _with_world(prof, world_seed)
    if citizens is not None:
        prof = dataclasses.replace(prof, citizens=citizens)
    if seed is not None:
        prof = dataclasses.replace(prof, seed=seed)
    return prof
