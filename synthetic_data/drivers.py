"""The drivers of a world: latent traits, their hazard multipliers and their rows.

Used only when the profile carries a :class:`~synthetic_data.world.World`. For
one chunk, :func:`draw_drivers` draws from the world's own seed stream (never
the chunk's, so the default path is untouched) each citizen's latent kidney
function (eGFR falling with age and diabetes duration), albuminuria, a latent
burden behind marker drugs, psychiatric admissions, and the drivers the extract
cannot show: frailty and living alone. :func:`hazard_multipliers` turns them,
with the earlier acute diabetes admissions, into the factors
:mod:`synthetic_data.harm` multiplies its hazards by (so the true risk includes
every driver); :func:`world_labs`, :func:`marker_prescriptions`,
:func:`psych_contacts` and :func:`psych_diagnoses` write the observable ones
through the contract tables for :mod:`synthetic_data.care`; :func:`cover` drops
the events a supplier did not deliver (before a table's coverage start).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from synthetic_data import codes as C
from synthetic_data.population import NEVER, YEAR, Calendar, Citizens
from synthetic_data.world import World, coverage_starts

__all__ = [
    "PRIOR_CAP",
    "PRIOR_WINDOW_STEPS",
    "Drivers",
    "cover",
    "draw_drivers",
    "egfr_at",
    "hazard_multipliers",
    "in_window",
    "marker_prescriptions",
    "prevalent_multiplier",
    "psych_contacts",
    "psych_diagnoses",
    "psych_recent",
    "uacr_at",
    "world_labs",
]

Table = dict[str, np.ndarray]
#: Steps (30 days) an earlier admission counts for: 24 steps = 720 days, ~2 years;
#: at most PRIOR_CAP admissions count (no runaway feedback of state dependence).
PRIOR_WINDOW_STEPS, PRIOR_CAP = 24, 3
#: Latent kidney function. eGFR (mL/min/1.73 m2) = base - AGE_DECLINE per year of
#: age over 40 - the citizen's own decline per year with diabetes; base ~ N(112,
#: 10), decline log-normal around 0.8 and faster with poor glycaemic control.
#: ASSUMPTION, shaped by the usual ~1 mL/min/year ageing loss.
EGFR_BASE, EGFR_BASE_SD, AGE_DECLINE, EGFR_DECLINE = 112.0, 10.0, 0.9, 0.8
#: Hazards rise below this eGFR and above this urine albumin/creatinine (mg/g).
EGFR_REFERENCE, UACR_REFERENCE = 90.0, 10.0
#: Latent log urine albumin/creatinine at diabetes onset ~ N(log 8, 1), rising
#: 0.05 per year with diabetes and 0.02 per mmol/mol of mean HbA1c over 53.
UACR_START, UACR_SD, UACR_PER_YEAR, UACR_PER_HBA1C = np.log(8.0), 1.0, 0.05, 0.02
#: Psychiatric admissions per year of adults without severe mental illness.
PSYCH_RATE_OTHERS = 0.002
_WORLD_STREAM = 0x5EED  # spawn-key tag of the world's stream of a chunk


@dataclass(frozen=True)
class Drivers:
    """One chunk's world drivers (arrays over the chunk's citizens)."""

    world: World
    rng: np.random.Generator  # the world's own stream for this chunk
    frailty: np.ndarray  # mean-1 log-normal multiplier (unobserved)
    alone: np.ndarray  # lives alone (unobserved)
    burden: np.ndarray  # latent burden behind marker drugs, N(0, 1)
    egfr_base: np.ndarray
    egfr_decline: np.ndarray  # mL/min per year with diabetes
    log_uacr: np.ndarray  # at diabetes onset
    psych_who: np.ndarray  # psychiatric admissions (up to a year after te)
    psych_day: np.ndarray
    coverage: dict[str, int]  # first covered day per event table


def draw_drivers(
    seed: np.random.SeedSequence, world: World, cal: Calendar, cit: Citizens
) -> Drivers:
    """Draw one chunk's latent drivers from the world's own stream of the chunk.

    Parameters
    ----------
    seed : numpy.random.SeedSequence
        The chunk's seed; the world draws from a child of it that the chunk's
        own generator never uses.
    world : World
    cal : Calendar
    cit : Citizens

    Returns
    -------
    Drivers
    """
    child = np.random.SeedSequence(
        seed.entropy, spawn_key=(*seed.spawn_key, _WORLD_STREAM)
    )
    rng = np.random.default_rng(child)
    z = rng.standard_normal((5, cit.n))
    sd = world.frailty_sd
    hba1c = np.nan_to_num(cit.hba1c_mean, nan=53.0)
    psych_who, psych_day = _psych_admissions(rng, world, cal, cit)
    te = np.datetime64(cal.te, "D").astype(object)
    return Drivers(
        world=world,
        rng=rng,
        frailty=np.exp(sd * z[0] - sd**2 / 2),
        alone=rng.random(cit.n) < world.living_alone_share,
        burden=z[1],
        egfr_base=EGFR_BASE + EGFR_BASE_SD * z[2],
        egfr_decline=np.minimum(
            EGFR_DECLINE * np.exp(0.5 * z[3] + 0.02 * (hba1c - 53.0)), 4.0
        ),
        log_uacr=UACR_START + UACR_SD * z[4] + UACR_PER_HBA1C * (hba1c - 53.0),
        psych_who=psych_who,
        psych_day=psych_day,
        coverage={t: _day_number(d) for t, d in coverage_starts(world, te).items()},
    )


def _day_number(day: Any) -> int:
    return int(np.datetime64(day, "D").astype(np.int64))


def _psych_admissions(
    rng: np.random.Generator, world: World, cal: Calendar, cit: Citizens
) -> tuple[np.ndarray, np.ndarray]:
    """Psychiatric admissions (Poisson) from SMI onset or the history's start."""
    smi = cit.onset["smi"]
    adult_from = np.maximum(cit.start, cit.birth + int(18 * YEAR)).astype(np.int64)
    start = np.where(smi < NEVER, np.maximum(adult_from, smi), adult_from)
    end = np.minimum(np.minimum(cit.death, cit.emigration), cal.te + 366)
    span = np.maximum(end.astype(np.int64) - start, 0)
    rate = np.where(smi < NEVER, world.psych_admission_rate, PSYCH_RATE_OTHERS)
    counts = rng.poisson(rate * span / YEAR)
    row = np.repeat(np.arange(cit.n), counts)
    day = start[row] + (rng.random(len(row)) * span[row]).astype(np.int64)
    return row.astype(np.int64), day.astype(np.int32)


# --- the latent state at a day ------------------------------------------------


def egfr_at(d: Drivers, idx: np.ndarray, age: np.ndarray, years: np.ndarray) -> Any:
    """Latent eGFR of citizens ``idx`` at an age and years with diabetes."""
    value = (
        d.egfr_base[idx]
        - AGE_DECLINE * np.maximum(age - 40.0, 0.0)
        - d.egfr_decline[idx] * np.maximum(years, 0.0)
    )
    return np.clip(value, 8.0, 130.0)


def uacr_at(d: Drivers, idx: np.ndarray, years: np.ndarray) -> Any:
    """Latent urine albumin/creatinine (mg/g) after ``years`` with diabetes."""
    return np.exp(d.log_uacr[idx] + UACR_PER_YEAR * np.maximum(years, 0.0))


def _static_log(d: Drivers, idx: np.ndarray) -> Any:
    """Log multiplier of the time-fixed drivers, each with mean 1 (or near)."""
    w = d.world
    alone_mean = (
        1 - w.living_alone_share + w.living_alone_share * np.exp(w.living_alone_effect)
    )
    return (
        np.log(d.frailty[idx])
        + w.living_alone_effect * d.alone[idx]
        - np.log(alone_mean)
        + w.marker_effect * d.burden[idx]
        - w.marker_effect**2 / 2
    )


def hazard_multipliers(
    d: Drivers,
    idx: np.ndarray,
    age: np.ndarray,
    years: np.ndarray,
    prior_acute: np.ndarray,
    prior_psych: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Return the (complication, acute) hazard multipliers of diabetics ``idx``.

    Parameters
    ----------
    d : Drivers
    idx : ndarray
        Citizen indices in the chunk (the diabetics).
    age, years : ndarray
        Age and years with diabetes at the step.
    prior_acute, prior_psych : ndarray
        Acute diabetes and psychiatric admissions in the previous
        :data:`PRIOR_WINDOW_STEPS` steps.

    Returns
    -------
    complication, acute : ndarray
    """
    w = d.world
    kidney = (
        w.egfr_effect
        * np.maximum(EGFR_REFERENCE - egfr_at(d, idx, age, years), 0.0)
        / 10.0
    )
    albumin = w.albuminuria_effect * np.maximum(
        np.log2(uacr_at(d, idx, years) / UACR_REFERENCE), 0.0
    )
    common = _static_log(d, idx) + kidney + albumin
    prior = w.prior_admission_effect * prior_acute
    complication = common + (prior if w.prior_admission_on_complications else 0.0)
    acute = common + prior + w.psych_admission_effect * prior_psych
    return np.exp(complication), np.exp(acute)


def prevalent_multiplier(
    d: Drivers, idx: np.ndarray, age: np.ndarray, years: np.ndarray
) -> Any:
    """Complication multiplier for the years before the history (no admissions)."""
    zero = np.zeros(len(idx))
    return hazard_multipliers(d, idx, age, years, zero, zero)[0]


def psych_recent(d: Drivers, cal: Calendar, who: np.ndarray) -> np.ndarray:
    """(n_steps + 1, D) cumulative psychiatric admissions of ``who`` before a step."""
    counts = np.zeros((cal.n_steps + 1, len(who)), dtype=np.int32)
    if len(who) == 0:
        return counts
    pos = np.minimum(np.searchsorted(who, d.psych_who), len(who) - 1)
    mine = (who[pos] == d.psych_who) & (d.psych_day >= cal.t0)
    steps = cal.step(d.psych_day[mine].astype(np.int64))
    np.add.at(counts, (steps + 1, pos[mine]), 1)
    cum: np.ndarray = counts.cumsum(axis=0)
    return cum


def in_window(cum: np.ndarray, k: int) -> np.ndarray:
    """Events in steps [k - PRIOR_WINDOW_STEPS, k) (at most PRIOR_CAP)."""
    result: np.ndarray = np.minimum(
        cum[k] - cum[max(k - PRIOR_WINDOW_STEPS, 0)], PRIOR_CAP
    )
    return result


# --- observable rows ----------------------------------------------------------


def _years_at(cit: Citizens, cal: Calendar, idx: np.ndarray, day: np.ndarray) -> Any:
    """Age and years with diabetes (0 if none) of citizens ``idx`` at ``day``."""
    age = cit.age[idx] - (cal.te - day) / YEAR
    onset = np.minimum(cit.onset["type1"], cit.onset["type2"])[idx]
    years = np.where(onset < NEVER, (day - onset.astype(np.int64)) / YEAR, 0.0)
    return age, years


def _creatinine(egfr: np.ndarray, female: np.ndarray) -> Any:
    """Creatinine (umol/L) from eGFR: a rough inverse of CKD-EPI. ASSUMPTION."""
    return 80.0 * (egfr / 90.0) ** (-1.15) * np.where(female, 0.82, 1.0)


def _egfr_from_creatinine(creatinine: np.ndarray, female: np.ndarray) -> Any:
    return 90.0 * (creatinine / (80.0 * np.where(female, 0.82, 1.0))) ** (-1 / 1.15)


def world_labs(d: Drivers, cal: Calendar, cit: Citizens, labs: Table) -> Table:
    """Diabetics' creatinine and albumin/creatinine from the latent state; eGFR rows.

    Parameters
    ----------
    d : Drivers
    cal : Calendar
    cit : Citizens
    labs : dict of str to ndarray
        The lab rows of the chunk (not modified).

    Returns
    -------
    dict of str to ndarray
        The rows with diabetics' values replaced and, when the world reports
        eGFR, one eGFR row beside every creatinine row.
    """
    who, day = labs["cit"], labs["day"].astype(np.int64)
    age, years = _years_at(cit, cal, who, day)
    diabetic = ~np.isnan(cit.hba1c_mean[who])
    noise = d.rng.standard_normal((3, len(who)))
    egfr = np.clip(egfr_at(d, who, age, years) + 3.0 * noise[0], 5.0, 140.0)
    female = cit.female[who]
    creat = labs["npu"] == C.CODES[C.CREATININE]
    uacr = labs["npu"] == C.CODES[C.ALBUMIN_CREATININE]
    value = np.where(
        diabetic & creat, np.round(_creatinine(egfr, female), 1), labs["value"]
    )
    latent_uacr = uacr_at(d, who, years) * np.exp(0.3 * noise[1])
    value = np.where(diabetic & uacr, np.round(latent_uacr, 1), value)
    out = labs | {"value": value}
    if not d.world.egfr_reported:
        return out
    reported = np.where(diabetic, egfr, _egfr_from_creatinine(value, female))
    rows = {k: v[creat] for k, v in out.items()}
    rows["npu"] = np.full(int(creat.sum()), C.CODES[C.EGFR], dtype=np.int32)
    rows["unit"] = np.full(int(creat.sum()), C.UNIT["mL/min"], dtype=np.int32)
    rows["value"] = np.round(np.clip(reported[creat], 5.0, 140.0))
    return {k: np.concatenate([out[k], rows[k]]) for k in out}


def marker_prescriptions(d: Drivers, cal: Calendar, cit: Citizens) -> Table:
    """Repeat prescriptions of the marker drugs, more likely with a higher burden.

    Parameters
    ----------
    d : Drivers
    cal : Calendar
    cit : Citizens

    Returns
    -------
    dict of str to ndarray
        Columns of :mod:`synthetic_data.care`'s prescription table (before
        redemption is drawn).
    """
    type2 = cit.onset["type2"] < NEVER
    parts = []
    for atc, share, supply, type2_only in C.MARKER_DRUGS:
        eligible = (cit.age >= 40) & (type2 if type2_only else True)
        logit = np.log(share / (1 - share)) + d.world.marker_loading * d.burden
        on = eligible & (d.rng.random(cit.n) < 1 / (1 + np.exp(-logit)))
        parts.append(_repeats(d, cal, cit, np.flatnonzero(on), atc, supply))
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def _repeats(
    d: Drivers, cal: Calendar, cit: Citizens, who: np.ndarray, atc: str, supply: int
) -> Table:
    """Every 91 days from a start (on it already, or later) to a stop or the end."""
    u = d.rng.random((3, len(who)))
    start, end = cit.start[who].astype(np.int64), cit.end[who].astype(np.int64)
    first = np.where(
        u[0] < 0.4,
        start + (u[1] * 91).astype(np.int64),
        start + (u[1] * np.maximum(end - start, 1)).astype(np.int64),
    )
    stop = np.minimum(first + (-np.log1p(-u[2]) * 4 * YEAR).astype(np.int64), end)
    counts = np.maximum(np.ceil((stop - first) / 91), 0).astype(np.int64)
    row = np.repeat(np.arange(len(who)), counts)
    k = np.arange(len(row)) - np.repeat(np.cumsum(counts) - counts, counts)
    n = len(row)
    return {
        "cit": who[row],
        "issued": (first[row] + 91 * k).astype(np.int32),
        "atc": np.full(n, C.CODES[atc], dtype=np.int32),
        "supply": np.full(n, supply, dtype=np.int32),
        "prescriber": np.full(n, C.PRESCRIBER["gp"], dtype=np.int32),
        "offset": np.zeros(n),
    }


def psych_contacts(d: Drivers, cit: Citizens) -> Table:
    """Acute psychiatric admissions: SMI code with SMI, else a DF code of others."""
    who, day = d.psych_who, d.psych_day
    smi = cit.onset["smi"][who] < NEVER
    smi_codes = C.CODES(*[recs[0].code for recs in C.SMI_RECORDS])
    other = C.CODES(*C.PSYCH_ADMISSION_CODES)
    u = d.rng.random((2, len(who)))
    code = np.where(
        smi,
        smi_codes[cit.smi_kind[who]],
        other[(u[0] * len(other)).astype(np.int64)],
    )
    los = 1 + (-np.log1p(-u[1]) * 20).astype(np.int64)  # mean ~3 weeks. ASSUMPTION
    return {
        "cit": who,
        "start": day,
        "end": (day + los).astype(np.int32),
        "ctype": np.full(len(who), C.CONTACT_TYPE["acute_admission"], dtype=np.int32),
        "diag": code.astype(np.int32),
    }


def psych_diagnoses(contacts: Table) -> Table:
    """Primary diagnosis (SKS, psychiatry, A) of each acute psychiatric admission."""
    codes = C.CODES(*[recs[0].code for recs in C.SMI_RECORDS], *C.PSYCH_ADMISSION_CODES)
    sel = (contacts["ctype"] == C.CONTACT_TYPE["acute_admission"]) & np.isin(
        contacts["diag"], codes
    )
    n = int(sel.sum())
    return {
        "cit": contacts["cit"][sel],
        "day": contacts["start"][sel],
        "system": np.full(n, C.CODE_SYSTEM["SKS"], dtype=np.int32),
        "code": contacts["diag"][sel],
        "source": np.full(n, C.DIAG_SOURCE["psychiatry"], dtype=np.int32),
        "dtype": np.full(n, C.DIAG_TYPE["A"], dtype=np.int32),
    }


#: The date column of each event table in care's integer tables.
_DAY_COLUMN = {
    "diagnoses": "day",
    "prescriptions": "issued",
    "appointments": "day",
    "lab_results": "day",
    "hospital_contacts": "start",
}


def cover(d: Drivers, events: Any) -> Any:
    """Drop the events dated before their table's coverage start (not delivered).

    Parameters
    ----------
    d : Drivers
    events : synthetic_data.care.Events

    Returns
    -------
    synthetic_data.care.Events
        A new Events with the five tables cut to their coverage.
    """
    cut = {}
    for table, column in _DAY_COLUMN.items():
        rows = getattr(events, table)
        keep = rows[column] >= d.coverage[table]
        cut[table] = {k: v[keep] for k, v in rows.items()}
    return dataclasses.replace(events, **cut)
