"""Citizens, their conditions, exits and latent traits for one chunk.

The first step of the generator: from a
:class:`~synthetic_data.profile.SyntheticProfile` and a seeded
``np.random.Generator`` it draws who lives in the region (age, sex,
municipality, education by birth cohort, origin, language, living situation,
GP), which chronic conditions they have and since when (with social gradients),
when they die or emigrate, and their latent engagement with care and glycaemic
control through time. :mod:`synthetic_data.harm` and :mod:`synthetic_data.care`
turn these into journal events. Days are int32 days since 1970-01-01;
:data:`NEVER` means "does not happen".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from synthetic_data import codes as C
from synthetic_data.profile import SyntheticProfile

__all__ = ["NEVER", "Calendar", "Citizens", "draw_citizens"]

NEVER = np.int32(2**30)
YEAR = 365.25
STEP = 30  # days per simulation step ("month")
_RANGE = re.compile(r"^(\d+)-(\d+)$")

#: Mean years lived with a condition at the extract date, and the youngest onset
#: age. ASSUMPTION (chosen so incidence over the history is plausible).
DURATION = {
    "type2": (11.0, 25),
    "copd": (8.0, 40),
    "heart": (9.0, 30),
    "cancer": (7.0, 18),
    "back_pain": (6.0, 18),
    "smi": (15.0, 16),
    "hypertension": (10.0, 25),
}
#: Mortality rate ratios of conditions and living situations. ASSUMPTION.
MORTALITY_RR = {"diabetes": 1.7, "smi": 2.5, "copd": 2.0, "heart": 1.6, "cancer": 2.0}


@dataclass(frozen=True)
class Calendar:
    """The history window and the monthly simulation grid."""

    t0: int  # first day of the history (the extract "begins")
    te: int  # extract_date
    n_steps: (
        int  # steps of STEP days from t0 to te + 1 year (outcomes of late index dates)
    )

    @classmethod
    def from_profile(cls, profile: SyntheticProfile) -> Calendar:
        """Build the window from extract_date and history_years."""
        te_date = profile.extract_date
        t0_date = te_date.replace(year=te_date.year - profile.history_years, day=1)
        te = _day(te_date.isoformat())
        t0 = _day(t0_date.isoformat())
        return cls(t0=t0, te=te, n_steps=(te + 366 - t0) // STEP + 1)

    def step(self, day: np.ndarray) -> np.ndarray:
        """Return the simulation step a day falls in (clipped to the grid)."""
        step: np.ndarray = np.clip((day - self.t0) // STEP, 0, self.n_steps - 1)
        return step


def _day(iso: str) -> int:
    """Days since 1970-01-01 of an ISO date."""
    return int(np.datetime64(iso, "D").astype(np.int64))


@dataclass(frozen=True)
class Citizens:
    """One chunk of citizens: attributes, condition onsets, exits and latent traits."""

    n: int
    birth: np.ndarray
    age: np.ndarray  # years at extract_date
    female: np.ndarray
    municipality: np.ndarray
    clinic: np.ndarray  # index into the clinic list; -1 = no listed GP
    education: np.ndarray
    origin: np.ndarray
    language: np.ndarray  # index into languages; -1 = not recorded
    living: np.ndarray
    opt_out: np.ndarray
    onset: Mapping[str, np.ndarray]  # condition -> onset day (NEVER = none)
    smi_kind: np.ndarray
    cancer_site: np.ndarray
    flags: Mapping[
        str, np.ndarray
    ]  # look-alike citizens: glp1_obesity, pcos, single_high_hba1c
    start: np.ndarray  # first observable day: max(t0, birth)
    death: np.ndarray
    emigration: np.ndarray
    end: np.ndarray  # first day not observed: min(death, emigration, te + 1)
    engagement: np.ndarray  # latent per-citizen mean
    engagement_path: np.ndarray  # (n_steps, n) float32
    hba1c_mean: np.ndarray  # latent per-citizen mean (diabetics), else nan
    hba1c_path: np.ndarray  # (n_steps, n) float32 (nan for non-diabetics)

    def has(self, condition: str, day: int | np.ndarray) -> np.ndarray:
        """Whether the condition began before ``day``."""
        return self.onset[condition] < day


# --- small vectorised helpers -------------------------------------------------


def _categorical(
    rng: np.random.Generator,
    probs: np.ndarray,
    rows: np.ndarray | None = None,
    n: int | None = None,
) -> np.ndarray:
    """Draw category indices from one weight vector or from per-row weight rows."""
    cum = np.cumsum(probs / probs.sum(axis=-1, keepdims=True), axis=-1)
    if rows is None:
        assert n is not None
        drawn = np.searchsorted(cum, rng.random(n), side="right")
    else:
        drawn = (rng.random(len(rows))[:, None] >= cum[rows]).sum(axis=1)
    index: np.ndarray = np.minimum(drawn, cum.shape[-1] - 1)
    return index


def _bands(table: Mapping[str, float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Parse ``'lo-hi'`` keys into sorted low, high and value arrays."""
    rows = sorted(
        (int(m[1]), int(m[2]), v) for k, v in table.items() if (m := _RANGE.match(k))
    )
    lows, highs, values = zip(*rows, strict=True)
    return np.array(lows), np.array(highs), np.array(values, dtype=float)


def by_age(table: Mapping[str, float], age: np.ndarray) -> np.ndarray:
    """Look up an age-band table (values outside every band are 0)."""
    lows, highs, values = _bands(table)
    whole = np.floor(age).astype(int)
    pos = np.clip(np.searchsorted(lows, whole, side="right") - 1, 0, len(lows) - 1)
    inside = (whole >= lows[pos]) & (whole <= highs[pos])
    return np.where(inside, values[pos], 0.0)


def _normalised(multiplier: np.ndarray, age: np.ndarray) -> np.ndarray:
    """Divide a risk multiplier by its mean within 10-year age bands."""
    band = np.minimum(age // 10, 11).astype(int)
    sums = np.bincount(band, weights=multiplier, minlength=12)
    counts = np.maximum(np.bincount(band, minlength=12), 1)
    normalised: np.ndarray = multiplier / np.where(sums > 0, sums / counts, 1.0)[band]
    return normalised


def _onset_days(
    rng: np.random.Generator,
    ever: np.ndarray,
    age: np.ndarray,
    te: int,
    mean_years: float,
    min_age: float,
) -> np.ndarray:
    """Onset day for those who have the condition at te (exponential duration)."""
    room = np.maximum(age - min_age, 0.05)
    years = rng.exponential(mean_years, len(age))
    years = np.where(years > room, room * rng.random(len(age)), years)
    day = te - (years * YEAR).astype(np.int64)
    return np.where(ever, day, NEVER).astype(np.int32)


# --- demographics -------------------------------------------------------------


def _ages(rng: np.random.Generator, pyramid: Mapping[str, float], n: int) -> np.ndarray:
    """Ages at extract_date from the 5-year age pyramid (uniform within a band)."""
    lows, highs, weights = _bands(pyramid)
    band = _categorical(rng, weights, n=n)
    ages: np.ndarray = lows[band] + rng.random(n) * (highs[band] + 1 - lows[band])
    return ages


def _education(
    rng: np.random.Generator,
    profile: SyntheticProfile,
    birth_year: np.ndarray,
    origin: np.ndarray,
) -> np.ndarray:
    """Education by birth cohort; immigrants often have no registered education."""
    cohorts = sorted(profile.education_by_birth_cohort.items())
    lows = np.array([int(k[:4]) for k, _ in cohorts])
    weights = np.array(
        [[w.get(level, 0.0) for level in C.EDUCATION.words] for _, w in cohorts]
    )
    row = np.clip(np.searchsorted(lows, birth_year, side="right") - 1, 0, len(lows) - 1)
    level = _categorical(rng, weights, rows=row)
    immigrant = np.isin(origin, C.ORIGIN("immigrant_western", "immigrant_non_western"))
    unknown = immigrant & (
        rng.random(len(origin)) < profile.immigrant_unknown_education_share
    )
    return np.where(unknown, C.EDUCATION["unknown"], level)


def language_vocab(profile: SyntheticProfile) -> list[str]:
    """Every language code the profile can draw, in a fixed order ('none' excluded)."""
    langs = {code for table in profile.languages.values() for code in table}
    return sorted(langs - {"none"})


def _language(
    rng: np.random.Generator, profile: SyntheticProfile, origin: np.ndarray
) -> np.ndarray:
    """Preferred language consistent with origin; -1 = not recorded."""
    vocab = language_vocab(profile) + ["none"]
    table = profile.languages
    weights = np.array(
        [[table[o].get(code, 0.0) for code in vocab] for o in C.ORIGIN.words]
    )
    drawn = _categorical(rng, weights, rows=origin)
    return np.where(drawn == len(vocab) - 1, -1, drawn).astype(np.int32)


def clinics(profile: SyntheticProfile) -> tuple[list[str], np.ndarray]:
    """Return GP clinic ids (one per ~4,500 inhabitants) and municipality offsets."""
    ids: list[str] = []
    offsets = [0]
    for row in profile.municipalities:
        k = max(2, round(row["population"] / 4500))
        ids += [f"GP{row['code']}{i:03d}" for i in range(1, k + 1)]
        offsets.append(len(ids))
    return ids, np.array(offsets)


def _living(
    rng: np.random.Generator,
    profile: SyntheticProfile,
    age: np.ndarray,
    female: np.ndarray,
    smi: np.ndarray,
) -> np.ndarray:
    """Living situation: rare settings, raised with severe mental illness."""
    u = rng.random(len(age))
    adult = (age >= 18) & (age < 70)
    shares = [
        (
            "nursing_home",
            np.where(
                age >= 80,
                profile.nursing_home_share_80plus,
                np.where(age >= 65, 0.005, 0.0),
            ),
        ),
        (
            "supported_housing",
            adult * profile.supported_housing_share * np.where(smi, 25, 1),
        ),
        (
            "shelter",
            adult
            * profile.shelter_share
            * np.where(smi, 30, 1)
            * np.where(female, 0.4, 1.6),
        ),
        (
            "prison",
            adult
            * (age < 60)
            * profile.prison_share
            * np.where(smi, 8, 1)
            * np.where(female, 0.1, 1.9),
        ),
        ("unknown", np.full(len(age), profile.unknown_living_share)),
    ]
    living = np.full(len(age), C.LIVING["own_home"], dtype=np.int32)
    edge = np.zeros(len(age))
    for name, share in shares:
        hit = (u >= edge) & (u < edge + share)
        living[hit] = C.LIVING[name]
        edge = edge + share
    return living


def _clinic(
    rng: np.random.Generator,
    profile: SyntheticProfile,
    municipality: np.ndarray,
    living: np.ndarray,
) -> np.ndarray:
    """Draw a listed GP clinic in the home municipality, or -1 (none)."""
    _, offsets = clinics(profile)
    size = offsets[municipality + 1] - offsets[municipality]
    clinic = offsets[municipality] + (rng.random(len(living)) * size).astype(np.int64)
    p_none = np.select(
        [living == C.LIVING["shelter"], living == C.LIVING["prison"]],
        [0.5, 0.85],
        profile.no_gp_share,
    )
    return np.where(rng.random(len(living)) < p_none, -1, clinic).astype(np.int32)


# --- conditions ---------------------------------------------------------------


def _risk(
    profile: SyntheticProfile, disease: str, age: np.ndarray, education: np.ndarray
) -> np.ndarray:
    """Education relative risk (basic vs long tertiary), normalised within age bands."""
    rr = profile.education_rr[disease] ** C.EDUCATION_DISADVANTAGE[education]
    return _normalised(rr, age)


def _smi(
    rng: np.random.Generator,
    profile: SyntheticProfile,
    cal: Calendar,
    age: np.ndarray,
    education: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw severe mental illness: onset day and kind (F20, F25, F31)."""
    p = by_age(profile.smi_prevalence_by_age, age) * _risk(
        profile, "smi", age, education
    )
    ever = rng.random(len(age)) < p
    onset = _onset_days(rng, ever, age, cal.te, *DURATION["smi"])
    return onset, _categorical(rng, C.SMI_KIND_SHARES, n=len(age))


def _diabetes(
    rng: np.random.Generator,
    profile: SyntheticProfile,
    cal: Calendar,
    age: np.ndarray,
    education: np.ndarray,
    origin: np.ndarray,
    smi: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw type 2 (gradients by education, SMI, origin) and type 1 onsets."""
    non_western = np.isin(
        origin, C.ORIGIN("immigrant_non_western", "descendant_non_western")
    )
    p2 = (
        by_age(profile.type2_prevalence_by_age, age)
        * _risk(profile, "diabetes", age, education)
        * np.where(smi < NEVER, profile.smi_rr_diabetes, 1.0)
        * np.where(non_western, profile.non_western_rr_diabetes, 1.0)
        * profile.diabetes_oversampling
    )
    p1 = np.where(
        age >= 2, profile.type1_prevalence * profile.diabetes_oversampling, 0.0
    )
    u = rng.random(len(age))
    type1 = u < p1
    type2 = ~type1 & (u < p1 + np.minimum(p2, 0.9))
    onset2 = _onset_days(rng, type2, age, cal.te, *DURATION["type2"])
    onset_age1 = 1 + rng.random(len(age)) * (np.minimum(age, 35) - 1)
    onset1 = np.where(
        type1, cal.te - ((age - onset_age1) * YEAR).astype(np.int64), NEVER
    )
    return onset1.astype(np.int32), onset2


def _heart(
    rng: np.random.Generator,
    profile: SyntheticProfile,
    cal: Calendar,
    age: np.ndarray,
    education: np.ndarray,
    smi: np.ndarray,
) -> dict[str, np.ndarray]:
    """Heart disease with its subgroups (ischaemic, arrhythmia, failure, valve)."""
    p = (
        by_age(profile.heart_prevalence_by_age, age)
        * _risk(profile, "heart", age, education)
        * np.where(smi < NEVER, profile.smi_rr_heart, 1.0)
    )
    onset = _onset_days(rng, rng.random(len(age)) < p, age, cal.te, *DURATION["heart"])
    groups = list(C.HEART_SUBGROUP_SHARES)
    drawn = rng.random((len(age), len(groups))) < np.array(
        list(C.HEART_SUBGROUP_SHARES.values())
    )
    drawn[:, 0] |= ~drawn.any(axis=1)  # heart disease has at least one subgroup
    return {
        g: np.where(drawn[:, i], onset, NEVER).astype(np.int32)
        for i, g in enumerate(groups)
    }


def _simple(
    rng: np.random.Generator,
    profile: SyntheticProfile,
    cal: Calendar,
    age: np.ndarray,
    education: np.ndarray,
    disease: str,
) -> np.ndarray:
    """Onset day of a condition with an age table and an education gradient."""
    table = getattr(profile, f"{disease}_prevalence_by_age")
    rr = (
        _risk(profile, disease, age, education)
        if disease in profile.education_rr
        else 1.0
    )
    ever = rng.random(len(age)) < np.minimum(by_age(table, age) * rr, 0.95)
    return _onset_days(rng, ever, age, cal.te, *DURATION[disease])


def _cancer_site(rng: np.random.Generator, female: np.ndarray) -> np.ndarray:
    """Cancer site index by sex (no breast cancer in men, no prostate in women here)."""
    shares = np.array([s for *_, s in C.CANCER_SITES])
    by_sex = np.vstack(
        [
            np.where(np.arange(len(shares)) == 0, 0, shares),  # men
            np.where(np.arange(len(shares)) == 1, 0, shares),
        ]
    )
    return _categorical(rng, by_sex, rows=female.astype(int))


def _flags(
    rng: np.random.Generator,
    profile: SyntheticProfile,
    age: np.ndarray,
    female: np.ndarray,
    diabetic: np.ndarray,
) -> dict[str, np.ndarray]:
    """Citizens who resemble diabetics in one indicator only."""
    u = rng.random((len(age), 3))
    adult = (age >= 18) & (age < 76) & ~diabetic
    young_woman = female & (age >= 20) & (age < 42) & ~diabetic
    return {
        "glp1_obesity": adult & (u[:, 0] < profile.glp1_obesity_share),
        "pcos": young_woman & (u[:, 1] < profile.pcos_metformin_share),
        "single_high_hba1c": (age >= 40)
        & ~diabetic
        & (u[:, 2] < profile.single_high_hba1c_share),
    }


def _onsets(
    rng: np.random.Generator,
    profile: SyntheticProfile,
    cal: Calendar,
    age: np.ndarray,
    education: np.ndarray,
    origin: np.ndarray,
    smi: np.ndarray,
) -> dict[str, np.ndarray]:
    """Draw the onset day of every tracked condition (NEVER = none)."""
    type1, type2 = _diabetes(rng, profile, cal, age, education, origin, smi)
    onset = {"type1": type1, "type2": type2, "smi": smi}
    onset.update(_heart(rng, profile, cal, age, education, smi))
    for disease in ("copd", "cancer", "back_pain", "hypertension"):
        onset[disease] = _simple(rng, profile, cal, age, education, disease)
    return onset


# --- exits and latent traits --------------------------------------------------


def _exits(
    rng: np.random.Generator,
    profile: SyntheticProfile,
    cal: Calendar,
    age: np.ndarray,
    start: np.ndarray,
    origin: np.ndarray,
    living: np.ndarray,
    onset: Mapping[str, np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """Death and emigration days (NEVER if not within a year after extract_date)."""
    mid_age = np.maximum(age - profile.history_years / 2, 0)
    rate = profile.mortality_at_50 * 2 ** (
        (mid_age - 50) / profile.mortality_doubling_years
    )
    ever = {k: v < NEVER for k, v in onset.items()}
    heart = ever["ischaemic"] | ever["arrhythmia"] | ever["failure"] | ever["valve"]
    for flag, rr in (
        (ever["type1"] | ever["type2"], "diabetes"),
        (ever["smi"], "smi"),
        (ever["copd"], "copd"),
        (heart, "heart"),
        (ever["cancer"], "cancer"),
    ):
        rate = rate * np.where(flag, MORTALITY_RR[rr], 1.0)
    rate *= np.select(
        [living == C.LIVING["shelter"], living == C.LIVING["nursing_home"]],
        [3.0, 2.5],
        1.0,
    )
    immigrant = np.isin(origin, C.ORIGIN("immigrant_western", "immigrant_non_western"))
    young = (mid_age >= 20) & (mid_age < 35)
    emig = (
        profile.emigration_rate
        * np.where(young, 3.0, 1.0)
        * np.where(immigrant, 6.0, 1.0)
    )
    emig = emig * np.where(
        (mid_age >= 70) | (living == C.LIVING["nursing_home"]), 0.1, 1.0
    )
    death = start + rng.exponential(YEAR / np.minimum(rate, 0.5))
    emigration = start + rng.exponential(YEAR / np.maximum(emig, 1e-9))
    horizon = cal.te + 366
    death_day = np.where((death < horizon) & (death < emigration), death, NEVER)
    emig_day = np.where(
        (emigration < horizon) & (emigration <= death), emigration, NEVER
    )
    return death_day.astype(np.int32), emig_day.astype(np.int32)


def _engagement(
    rng: np.random.Generator,
    profile: SyntheticProfile,
    cal: Calendar,
    education: np.ndarray,
    age: np.ndarray,
    smi: np.ndarray,
    living: np.ndarray,
    clinic: np.ndarray,
    language: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw latent engagement: a per-citizen mean plus a slow monthly drift."""
    L = C.LIVING
    vocab = language_vocab(profile)
    danish = vocab.index("da") if "da" in vocab else -2
    mu = (
        -profile.engagement_education_gradient
        * (C.EDUCATION_DISADVANTAGE[education] - 0.5)
        + 0.15 * (age >= 60)
        - 0.8 * (smi < cal.te)
        - 1.2 * (living == L["shelter"])
        - 1.0 * (living == L["prison"])
        - 0.3 * (living == L["supported_housing"])
        + 0.4 * (living == L["nursing_home"])
        - 0.7 * (clinic < 0)
        - 0.5 * ((language != danish) & (language >= 0))
        - 0.2 * (language < 0)
    )
    mean = mu + rng.normal(0.0, 0.8, len(age))
    return mean, mean[None, :] + _ar1(rng, len(age), cal.n_steps, rho=0.9, sd=0.35)


def _ar1(
    rng: np.random.Generator, n: int, steps: int, *, rho: float, sd: float
) -> np.ndarray:
    """Stationary AR(1) paths with marginal SD ``sd``: shape (steps, n), float32."""
    scale = np.float32(sd * np.sqrt(1 - rho**2))
    path = rng.standard_normal((steps, n), dtype=np.float32)
    path[0] *= np.float32(sd)
    path[1:] *= scale
    for k in range(1, steps):
        path[k] += np.float32(rho) * path[k - 1]
    return path


def _hba1c(
    rng: np.random.Generator,
    profile: SyntheticProfile,
    cal: Calendar,
    type1: np.ndarray,
    diabetic: np.ndarray,
    engagement: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Latent glycaemic control (HbA1c, mmol/mol): worse with low engagement; drifts."""
    who = np.flatnonzero(diabetic)
    base = np.where(type1[who], profile.hba1c_mean_type1, profile.hba1c_mean_type2)
    mean = np.full(len(type1), np.nan)
    mean[who] = (
        base - 4.5 * engagement[who] + rng.normal(0.0, profile.hba1c_sd, len(who))
    )
    path = np.full((cal.n_steps, len(type1)), np.nan, dtype=np.float32)
    path[:, who] = mean[who][None, :] + _ar1(
        rng, len(who), cal.n_steps, rho=0.95, sd=5.0
    )
    return mean, path


# --- the entry point of this module -------------------------------------------


def draw_citizens(
    rng: np.random.Generator, profile: SyntheticProfile, cal: Calendar, n: int
) -> Citizens:
    """Draw one chunk of ``n`` citizens with everything later steps need.

    Parameters
    ----------
    rng : numpy.random.Generator
        The chunk's generator (seeded from the profile seed and the chunk index).
    profile : SyntheticProfile
    cal : Calendar
    n : int

    Returns
    -------
    Citizens
    """
    age = _ages(rng, profile.age_pyramid, n)
    birth = (cal.te - age * YEAR).astype(np.int32)
    female = rng.random(n) < profile.female_share
    weights = np.array([m["population"] for m in profile.municipalities], dtype=float)
    municipality = _categorical(rng, weights, n=n)
    origin = _categorical(
        rng, np.array([profile.origin_shares.get(o, 0.0) for o in C.ORIGIN.words]), n=n
    )
    birth_year = 1970 + birth // 365.25
    education = _education(rng, profile, birth_year.astype(int), origin)
    language = _language(rng, profile, origin)
    smi, smi_kind = _smi(rng, profile, cal, age, education)
    living = _living(rng, profile, age, female, smi < NEVER)
    clinic = _clinic(rng, profile, municipality, living)
    onset = _onsets(rng, profile, cal, age, education, origin, smi)
    start = np.maximum(birth, cal.t0).astype(np.int32)
    death, emigration = _exits(rng, profile, cal, age, start, origin, living, onset)
    engagement, path = _engagement(
        rng, profile, cal, education, age, smi, living, clinic, language
    )
    type1 = onset["type1"] < NEVER
    diabetic = type1 | (onset["type2"] < NEVER)
    hba1c_mean, hba1c_path = _hba1c(rng, profile, cal, type1, diabetic, engagement)
    return Citizens(
        n=n,
        birth=birth,
        age=age,
        female=female,
        municipality=municipality.astype(np.int32),
        clinic=clinic,
        education=education.astype(np.int32),
        origin=origin.astype(np.int32),
        language=language,
        living=living,
        opt_out=rng.random(n) < profile.opt_out_share,
        onset=onset,
        smi_kind=smi_kind,
        cancer_site=_cancer_site(rng, female),
        flags=_flags(rng, profile, age, female, diabetic),
        start=start,
        death=death,
        emigration=emigration,
        end=np.minimum(np.minimum(death, emigration), cal.te + 1).astype(np.int32),
        engagement=engagement,
        engagement_path=path,
        hba1c_mean=hba1c_mean,
        hba1c_path=hba1c_path,
    )
