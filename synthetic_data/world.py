"""A family of worlds: the generator's mechanisms drawn from documented ranges.

A :class:`World` holds every mechanism that varies between worlds - history
length and per-table coverage, the slopes of the true harm hazards, the drivers
that no curated feature names (kidney function, albuminuria, marker drugs,
earlier diabetes admissions, psychiatric admissions), the drivers the extract
cannot show (frailty, living alone), the planted knobs and the base rates.
:func:`draw_world` draws one from :data:`WORLD_RANGES`, deterministically per
seed; :func:`apply_world` puts it on a
:class:`~synthetic_data.profile.SyntheticProfile`, and
:func:`~synthetic_data.generate.generate_extract` then generates that world
(:mod:`synthetic_data.drivers` simulates the new drivers). A world only ever
adds randomness from its own seed streams, so a profile without a world is
generated exactly as before.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np

from synthetic_data.profile import BAD_PARAMETER, ProfileError, SyntheticProfile

__all__ = [
    "EVENT_TABLES",
    "LATER_RANGES",
    "WORLD_RANGES",
    "World",
    "WorldRange",
    "apply_world",
    "coverage_starts",
    "draw_world",
    "world_document",
]

#: The contract tables with dated events (each has its own coverage start).
EVENT_TABLES = (
    "diagnoses",
    "prescriptions",
    "appointments",
    "lab_results",
    "hospital_contacts",
)
WORLD_CALLER = "World"
ALREADY_A_WORLD = (
    "The profile {caller} already carries world {seed}; apply a world to a "
    "profile without one."
)


@dataclass(frozen=True)
class WorldRange:
    """How one mechanism is drawn, and which values a constructed World may hold.

    ``low``/``high`` bound the draw (uniform; an int for ints; for a bool,
    ``high`` is the probability of true). With probability ``p_zero`` an effect
    is exactly 0. ``limit`` is the validation interval of a constructed World.
    """

    kind: str  # "int", "float" or "bool"
    low: float
    high: float
    p_zero: float
    limit: tuple[float, float]
    note: str


def _f(
    low: float, high: float, note: str, *, p_zero: float = 0.0, limit: float = 3.0
) -> WorldRange:
    return WorldRange("float", low, high, p_zero, (0.0, limit), note)


def _b(p_true: float, note: str) -> WorldRange:
    return WorldRange("bool", 0.0, p_true, 0.0, (0.0, 1.0), note)


#: mechanism -> draw range. Printed in synthetic_data/README.md ("A family of
#: worlds"); every range is ASSUMPTION unless its note names a source.
WORLD_RANGES: dict[str, WorldRange] = {
    "history_years": WorldRange(
        "int", 3, 10, 0.0, (3, 15), "years of lab history (the simulated history)"
    ),
    "shared_coverage": _b(0.25, "all non-lab tables share one coverage start"),
    "complication_rate_factor": _f(
        0.6, 1.6, "scales the five late-complication rates", limit=5.0
    ),
    "acute_rate_factor": _f(
        0.6, 1.6, "scales the acute diabetes admission rates", limit=5.0
    ),
    "hba1c_slope": _f(
        0.02, 0.065, "log HR per mmol/mol HbA1c, complications (today 0.043, UKPDS 35)"
    ),
    "acute_hba1c_slope": _f(
        0.03, 0.09, "log HR per mmol/mol HbA1c, acute admissions (today 0.06)"
    ),
    "age_slope": _f(0.015, 0.045, "log HR per year of age (today 0.03)"),
    "duration_slope": _f(0.02, 0.06, "log HR per year with diabetes (today 0.04)"),
    "engagement_harm_effect": _f(
        0.0, 1.5, "scales the engagement slopes (today 1.0 = 0.3 and 0.5 per SD)"
    ),
    "engagement_education_gradient": _f(
        0.0, 1.5, "engagement SD lost from long tertiary to basic (today 1.0)"
    ),
    "ascertainment_bias": _b(0.5, "complications recorded only at screenings"),
    "egfr_effect": _f(
        0.0, 0.35, "log HR per 10 mL/min/1.73m2 of eGFR below 90", p_zero=0.2
    ),
    "egfr_reported": _b(0.75, "labs report eGFR beside creatinine"),
    "albuminuria_effect": _f(
        0.0,
        0.3,
        "log HR per doubling of urine albumin/creatinine over 10 mg/g",
        p_zero=0.2,
    ),
    "marker_effect": _f(
        0.0,
        0.6,
        "log HR per SD of the latent burden behind marker drugs",
        p_zero=0.2,
    ),
    "marker_loading": _f(
        0.5, 1.5, "log-odds of each marker drug per SD of that burden"
    ),
    "prior_admission_effect": _f(
        0.0,
        0.7,
        "log HR per acute diabetes admission in the previous 2 years",
        p_zero=0.2,
    ),
    "prior_admission_on_complications": _b(
        0.5, "earlier admissions also raise the complication hazards"
    ),
    "psych_admission_rate": _f(
        0.05, 0.4, "psychiatric admissions per year with severe mental illness"
    ),
    "psych_admission_effect": _f(
        0.0,
        0.7,
        "log HR (acute) per psychiatric admission in the previous 2 years",
        p_zero=0.2,
    ),
    "frailty_sd": _f(0.0, 0.8, "SD of log frailty (unobserved; mean 1)", p_zero=0.2),
    "living_alone_share": _f(0.15, 0.45, "share living alone (unobserved)", limit=1),
    "living_alone_effect": _f(
        0.0, 0.5, "log HR of living alone (unobserved)", p_zero=0.2
    ),
}
#: Mechanisms added after the family was first drawn: each is drawn from its own
#: seed stream, so the draws above, and the worlds they make, stay as they were.
#: Printed in synthetic_data/README.md below WORLD_RANGES; ASSUMPTION.
LATER_RANGES: dict[str, WorldRange] = {
    "ascertainment_engagement_slope": _f(
        0.25,
        1.5,
        "with the bias: an attended visit records with p = exp(slope x min(e, 0))",
        p_zero=0.25,
    ),
}
#: How many tables extract.json declares: none, a random subset, or all.
DECLARED_MODES = ("none", "some", "all")


@dataclass(frozen=True)
class World:
    """Every mechanism of one world, validated when built (see WORLD_RANGES).

    ``coverage_years`` gives, per event table, how many years before
    ``extract_date`` its coverage starts (``lab_results`` = ``history_years``);
    ``coverage_declared`` names the tables whose start ``extract.json`` states.
    """

    seed: int
    history_years: int
    coverage_years: dict[str, float]
    coverage_declared: tuple[str, ...]
    shared_coverage: bool
    complication_rate_factor: float
    acute_rate_factor: float
    hba1c_slope: float
    acute_hba1c_slope: float
    age_slope: float
    duration_slope: float
    engagement_harm_effect: float
    engagement_education_gradient: float
    ascertainment_bias: bool
    egfr_effect: float
    egfr_reported: bool
    albuminuria_effect: float
    marker_effect: float
    marker_loading: float
    prior_admission_effect: float
    prior_admission_on_complications: bool
    psych_admission_rate: float
    psych_admission_effect: float
    frailty_sd: float
    living_alone_share: float
    living_alone_effect: float
    ascertainment_engagement_slope: float = 0.0

    def __post_init__(self) -> None:
        _check("seed", self.seed, "an int in the range [0, 4294967295]", _seed_ok)
        for name, spec in (WORLD_RANGES | LATER_RANGES).items():
            value = getattr(self, name)
            rule, ok = _rule(spec)
            _check(name, value, rule, ok)
        _check(
            "coverage_years",
            self.coverage_years,
            f"a table of years in [0, history_years] over {EVENT_TABLES}",
            lambda v: _coverage_ok(v, self.history_years),
        )
        _check(
            "coverage_declared",
            self.coverage_declared,
            f"a tuple of distinct names among {EVENT_TABLES}",
            _declared_ok,
        )


def _check(name: str, value: Any, rule: str, ok: Any) -> None:
    """Raise the profile message template for one bad World parameter."""
    if not ok(value):
        raise ProfileError(
            BAD_PARAMETER.format(name=name, caller=WORLD_CALLER, rule=rule, value=value)
        )


def _seed_ok(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**32


def _rule(spec: WorldRange) -> tuple[str, Any]:
    """Return the words and the predicate of one range's validation limit."""
    low, high = spec.limit
    if spec.kind == "bool":
        return "an instance of 'bool'", lambda v: isinstance(v, bool)
    if spec.kind == "int":
        return (
            f"an int in the range [{low}, {high}]",
            lambda v: (
                isinstance(v, int) and not isinstance(v, bool) and low <= v <= high
            ),
        )
    return (
        f"a float in the range [{low}, {high}]",
        lambda v: (
            isinstance(v, int | float) and not isinstance(v, bool) and low <= v <= high
        ),
    )


def _coverage_ok(value: Any, history_years: Any) -> bool:
    return (
        isinstance(value, dict)
        and set(value) == set(EVENT_TABLES)
        and isinstance(history_years, int)
        and all(
            isinstance(v, int | float) and 0 <= v <= history_years
            for v in value.values()
        )
    )


def _declared_ok(value: Any) -> bool:
    return (
        isinstance(value, tuple)
        and len(set(value)) == len(value)
        and all(v in EVENT_TABLES for v in value)
    )


# --- drawing ------------------------------------------------------------------


def draw_world(seed: int) -> World:
    """Draw one world's mechanisms from :data:`WORLD_RANGES`.

    Parameters
    ----------
    seed : int
        The world's seed in [0, 2**32 - 1]; the same seed gives the same world.

    Returns
    -------
    World

    Raises
    ------
    ProfileError
        If ``seed`` is not an int in range.
    """
    _check("seed", seed, "an int in the range [0, 4294967295]", _seed_ok)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x0B5B]))
    values = {name: _draw(rng, spec) for name, spec in WORLD_RANGES.items()}
    coverage = _draw_coverage(rng, values["history_years"], values["shared_coverage"])
    declared = _draw_declared(rng)
    return World(
        seed=seed,
        coverage_years=coverage,
        coverage_declared=declared,
        **values,
        **_draw_later(seed),
    )


def _draw_later(seed: int) -> dict[str, Any]:
    """Draw each of :data:`LATER_RANGES` from a seed stream of its own."""
    return {
        name: _draw(
            np.random.default_rng(np.random.SeedSequence([seed, 0x0B5B, i])), spec
        )
        for i, (name, spec) in enumerate(LATER_RANGES.items(), start=1)
    }


def _draw(rng: np.random.Generator, spec: WorldRange) -> Any:
    """Draw one mechanism (always two uniforms, so draws never shift each other)."""
    u, zero = rng.random(2)
    if spec.kind == "bool":
        return bool(u < spec.high)
    if spec.kind == "int":
        return int(spec.low + math.floor(u * (spec.high - spec.low + 1)))
    if zero < spec.p_zero:
        return 0.0
    return round(float(spec.low + u * (spec.high - spec.low)), 4)


def _draw_coverage(
    rng: np.random.Generator, history_years: int, shared: bool
) -> dict[str, float]:
    """Years before extract_date each table starts: labs first, the rest in [3, h]."""
    u = rng.random(len(EVENT_TABLES))
    if shared:
        u[:] = u[0]
    years = {
        t: round(3.0 + float(x) * (history_years - 3), 3)
        for t, x in zip(EVENT_TABLES, u, strict=True)
    }
    return years | {"lab_results": float(history_years)}


def _draw_declared(rng: np.random.Generator) -> tuple[str, ...]:
    """Which tables extract.json names in ``coverage``: none, some or all."""
    mode = DECLARED_MODES[int(rng.integers(0, len(DECLARED_MODES)))]
    if mode == "none":
        return ()
    if mode == "all":
        return EVENT_TABLES
    k = int(rng.integers(1, len(EVENT_TABLES)))  # a proper, non-empty subset
    chosen = np.sort(rng.choice(len(EVENT_TABLES), k, replace=False))
    return tuple(EVENT_TABLES[i] for i in chosen)


# --- applying -----------------------------------------------------------------


def apply_world(profile: SyntheticProfile, world: World) -> SyntheticProfile:
    """Return the profile that generates ``world`` (history, knobs, base rates).

    Parameters
    ----------
    profile : SyntheticProfile
        A profile without a world (its rates are the world's reference rates).
    world : World

    Returns
    -------
    SyntheticProfile
        With ``world`` set, ``history_years``, the planted knobs and the
        scaled acute and complication rates taken from the world.

    Raises
    ------
    ProfileError
        If the profile already carries a world (its rates would scale twice).
    """
    if profile.world is not None:
        raise ProfileError(
            ALREADY_A_WORLD.format(caller=profile.caller, seed=profile.world.seed)
        )
    acute = world.acute_rate_factor
    return dataclasses.replace(
        profile,
        world=world,
        history_years=world.history_years,
        engagement_education_gradient=world.engagement_education_gradient,
        engagement_harm_effect=world.engagement_harm_effect,
        ascertainment_bias=world.ascertainment_bias,
        ascertainment_engagement_slope=world.ascertainment_engagement_slope,
        acute_admission_rate_type1=profile.acute_admission_rate_type1 * acute,
        acute_admission_rate_type2=profile.acute_admission_rate_type2 * acute,
        complication_rates={
            k: v * world.complication_rate_factor
            for k, v in profile.complication_rates.items()
        },
    )


def coverage_starts(world: World, extract_date: date) -> dict[str, date]:
    """First covered day per event table (labs: the first day of the history).

    Parameters
    ----------
    world : World
    extract_date : date

    Returns
    -------
    dict of str to date
    """
    t0 = extract_date.replace(year=extract_date.year - world.history_years, day=1)
    return {
        table: max(t0, extract_date - timedelta(days=round(years * 365.25)))
        if table != "lab_results"
        else t0
        for table, years in world.coverage_years.items()
    }


def world_document(profile: SyntheticProfile) -> dict[str, Any]:
    """Return the content of ``<out_dir>.world.json`` for a profile with a world.

    Parameters
    ----------
    profile : SyntheticProfile
        A profile carrying a world (:func:`apply_world`).

    Returns
    -------
    dict
        The seed, every drawn mechanism, the true coverage start of every table
        (and whether extract.json declares it), and the rates the world uses.
    """
    world = profile.world
    assert world is not None
    starts = coverage_starts(world, profile.extract_date)
    mechanisms = dataclasses.asdict(world)
    mechanisms["coverage_declared"] = list(world.coverage_declared)
    return {
        "world_seed": world.seed,
        "profile": profile.name,
        "extract_date": profile.extract_date.isoformat(),
        "coverage": {
            t: {"from": starts[t].isoformat(), "declared": t in world.coverage_declared}
            for t in EVENT_TABLES
        },
        "mechanisms": mechanisms,
        "rates": {
            "acute_admission_rate_type1": profile.acute_admission_rate_type1,
            "acute_admission_rate_type2": profile.acute_admission_rate_type2,
            "complication_rates": dict(profile.complication_rates),
        },
        "ranges": {
            name: {"low": r.low, "high": r.high, "p_zero": r.p_zero, "kind": r.kind}
            for name, r in WORLD_RANGES.items()
        },
    }
