"""Journal events: what care systems record about one chunk of citizens.

The third step of the generator. From :class:`~synthetic_data.population.Citizens`
and the true harm of :mod:`synthetic_data.harm` it writes the rows of the five
event tables of the contract, as integer columns (citizen index, day, indices
into the vocabularies of :mod:`synthetic_data.codes`): booked controls and
consultations whose status depends on engagement; repeat prescriptions issued in
FMK that engagement decides are redeemed or not; HbA1c taken only at attended
controls; chronic conditions recorded at onset (or early in the history when
already known) and again at follow-ups; late complications recorded at a
contact, or, with the ascertainment-bias knob, only at an attended screening;
hospital contacts. :mod:`synthetic_data.generate` turns them into Arrow tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from synthetic_data import codes as C
from synthetic_data.drivers import (
    Drivers,
    marker_prescriptions,
    psych_contacts,
    psych_diagnoses,
    world_labs,
)
from synthetic_data.harm import Harm
from synthetic_data.population import NEVER, YEAR, Calendar, Citizens, _categorical
from synthetic_data.profile import SyntheticProfile

__all__ = ["Events", "Pregnancies", "record_care"]

Table = dict[str, np.ndarray]
_SHIFT = np.int64(2**31)

#: GP consultations booked per year by age (0-17, 18-64, 65+), plus per chronic
#: condition; citizens without a listed GP book 30 % as many. ASSUMPTION.
GP_RATE_BY_AGE = (0.8, 1.2, 2.0)
GP_RATE_PER_CONDITION = 0.4
#: Chance that an attended GP consultation leaves a diagnosis code, a short
#: course of a drug, a blood test. ASSUMPTION.
P_GP_CODE, P_GP_DRUG, P_GP_LAB = 0.5, 0.3, 0.25
#: Re-recording of a known chronic condition per year after its first record.
RERECORD_RATE = {"back_pain": 1.5, "cancer": 0.8, "hypertension": 0.6}
#: Slopes of care behaviour on latent engagement (log-odds per SD). ASSUMPTION.
NO_SHOW_SLOPE, CANCEL_SLOPE, NON_REDEMPTION_SLOPE = 0.9, 0.6, 1.0
#: A due control is not booked at all (lapse from the programme): log-odds at
#: average engagement (about 5 %) and slope. ASSUMPTION.
LAPSE_LOGIT, LAPSE_SLOPE = -3.0, 1.2
#: Share of new late complications that first come to light at an acute
#: admission within 30 days of onset (the complication is the admission's
#: primary diagnosis), by group: kidney, eye, nerve, circulation, foot. Such a
#: record depends neither on engagement nor on the ascertainment-bias knob, so
#: complications found at admission are the label check's yardstick of recording
#: that does not need a control. ASSUMPTION.
P_FOUND_AT_ADMISSION = (0.2, 0.0, 0.05, 0.3, 0.35)


@dataclass(frozen=True)
class Ascertainment:
    """How the ascertainment-bias knob records (a stylised, planted bias; ASSUMPTION).

    With the knob on, a complication is recorded only at the first ascertaining
    visit attended within ``window_days`` of its onset (twice as long for eye
    screening, which is booked every two years); otherwise it stays unrecorded.
    At that visit it is recorded with probability
    ``exp(engagement_slope * min(engagement, 0))``: a less engaged citizen
    attends, but the examination is less complete (no urine sample, the foot
    examination skipped); 0 = always. The profile's
    ``ascertainment_window_days`` and ``ascertainment_engagement_slope``.
    """

    window_days: int
    engagement_slope: float


@dataclass(frozen=True)
class Pregnancies:
    """Births in the chunk, and whether the pregnancy had gestational diabetes."""

    who: np.ndarray
    day: np.ndarray
    gdm: np.ndarray


@dataclass(frozen=True)
class Events:
    """The five event tables of one chunk, as integer/float columns."""

    diagnoses: Table
    prescriptions: Table
    appointments: Table
    lab_results: Table
    hospital_contacts: Table
    complications_recorded: np.ndarray  # (D, 5) record day of each true complication
    pregnancies: Pregnancies


# --- generic vectorised event helpers -----------------------------------------


def _expit(x: np.ndarray) -> np.ndarray:
    p: np.ndarray = 1.0 / (1.0 + np.exp(-x))
    return p


def _logit(p: float) -> float:
    return float(np.log(p / (1.0 - p)))


def _concat(parts: list[Table]) -> Table:
    """Stack table parts column by column."""
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def _poisson(
    rng: np.random.Generator, rate: np.ndarray, start: np.ndarray, end: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Events at ``rate`` per year, uniform in [start, end): (row, day)."""
    span = np.maximum(end.astype(np.int64) - start, 0)
    counts = rng.poisson(rate * span / YEAR)
    row = np.repeat(np.arange(len(span)), counts)
    day = start[row] + (rng.random(len(row)) * span[row]).astype(np.int64)
    return row, day.astype(np.int32)


def _periodic(
    rng: np.random.Generator, first: np.ndarray, end: np.ndarray, interval: float
) -> tuple[np.ndarray, np.ndarray]:
    """Events every ``interval`` days (up to 10 % late) from first to end."""
    counts = np.maximum(np.ceil((end.astype(np.int64) - first) / interval), 0).astype(
        np.int64
    )
    row = np.repeat(np.arange(len(first)), counts)
    k = np.arange(len(row)) - np.repeat(np.cumsum(counts) - counts, counts)
    late = (rng.random(len(row)) * 0.1 * interval).astype(np.int64)
    day = first[row] + (k * interval).astype(np.int64) + late
    keep = day < end[row]
    return row[keep], day[keep].astype(np.int32)


def _first(
    rng: np.random.Generator, onset: np.ndarray, start: np.ndarray, interval: float
) -> np.ndarray:
    """Return the first event: a random phase if known before, else soon after onset."""
    u = rng.random(len(onset))
    soon = onset.astype(np.int64) + 14 + (u * 46).astype(np.int64)
    return np.where(onset < start, start + (u * interval).astype(np.int64), soon)


def _full(n: int, value: int) -> np.ndarray:
    return np.full(n, value, dtype=np.int32)


def _future_end(cal: Calendar, cit: Citizens, days_ahead: int) -> np.ndarray:
    """Return the end of bookings: residents are booked ``days_ahead`` past te."""
    return np.where(cit.end > cal.te, cal.te + 1 + days_ahead, cit.end).astype(np.int64)


# --- appointments -------------------------------------------------------------


def _regimen_appointments(
    rng: np.random.Generator, cal: Calendar, cit: Citizens
) -> Table:
    """Booked controls of chronic conditions, a few booked beyond extract_date.

    A citizen with low engagement that month often has no control booked at all
    (lapsed from the programme), on top of missing booked ones.
    """
    future = _future_end(cal, cit, 90)
    parts = []
    for r, reg in enumerate(C.APPOINTMENT_REGIMENS):
        who = np.flatnonzero(cit.onset[reg.condition] < future)
        first = _first(rng, cit.onset[reg.condition][who], cit.start[who], reg.interval)
        row, day = _periodic(rng, first, future[who], reg.interval)
        n = len(row)
        parts.append(
            {
                "cit": who[row],
                "day": day,
                "kind": _full(n, C.KIND[reg.kind]),
                "provider": _full(n, C.PROVIDER[reg.provider]),
                "regimen": _full(n, r),
            }
        )
    table = _concat(parts)
    e = cit.engagement_path[cal.step(table["day"]), table["cit"]]
    booked = rng.random(len(e)) >= _expit(LAPSE_LOGIT - LAPSE_SLOPE * e)
    return {k: v[booked] for k, v in table.items()}


def _gp_consultations(rng: np.random.Generator, cal: Calendar, cit: Citizens) -> Table:
    """GP consultations: more with age and chronic conditions, fewer without a GP.

    Each chronic condition adds consultations only from its onset on, so the
    consultation history never knows of a condition before it begins.
    """
    rate = np.select(
        [cit.age < 18, cit.age < 65], GP_RATE_BY_AGE[:2], GP_RATE_BY_AGE[2]
    )
    no_gp = np.where(cit.clinic < 0, 0.3, 1.0)
    start, end = cit.start.astype(np.int64), _future_end(cal, cit, 21)
    rows, days = [], []
    for base, first in [(rate, start)] + [
        (np.full(cit.n, GP_RATE_PER_CONDITION), np.maximum(start, onset))
        for onset in cit.onset.values()
    ]:
        row, day = _poisson(rng, base * no_gp, first, end)
        rows.append(row)
        days.append(day)
    row, day = np.concatenate(rows), np.concatenate(days)
    n = len(row)
    return {
        "cit": row,
        "day": day,
        "kind": _full(n, C.KIND["gp_consultation"]),
        "provider": _full(n, C.PROVIDER["gp"]),
        "regimen": _full(n, -1),
    }


def _rehabilitation(rng: np.random.Generator, cal: Calendar, cit: Citizens) -> Table:
    """Book a six-week rehabilitation course for a quarter of new patients."""
    onset = np.min(
        [cit.onset[c] for c in ("type2", "copd", "ischaemic", "failure")], axis=0
    )
    new = (onset >= cit.start) & (onset < cit.end) & (rng.random(cit.n) < 0.25)
    who = np.flatnonzero(new)
    first = (
        onset[who].astype(np.int64) + 30 + (rng.random(len(who)) * 60).astype(np.int64)
    )
    end = np.minimum(first + 42, _future_end(cal, cit, 90)[who])
    row, day = _periodic(rng, first, end, 7)
    n = len(row)
    return {
        "cit": who[row],
        "day": day,
        "kind": _full(n, C.KIND["rehabilitation"]),
        "provider": _full(n, C.PROVIDER["municipality"]),
        "regimen": _full(n, -1),
    }


def _status(
    rng: np.random.Generator,
    profile: SyntheticProfile,
    cal: Calendar,
    cit: Citizens,
    who: np.ndarray,
    day: np.ndarray,
) -> np.ndarray:
    """Draw the status from engagement that month; a future date is scheduled."""
    e = cit.engagement_path[cal.step(day), who]
    p_ns = _expit(_logit(profile.no_show_rate) - NO_SHOW_SLOPE * e)
    p_cc = _expit(_logit(profile.citizen_cancel_rate) - CANCEL_SLOPE * e)
    u = rng.random(len(who))
    status = np.select(
        [u < p_ns, u < p_ns + p_cc, u < p_ns + p_cc + profile.provider_cancel_rate],
        [
            C.STATUS["no_show"],
            C.STATUS["cancelled_by_citizen"],
            C.STATUS["cancelled_by_provider"],
        ],
        C.STATUS["attended"],
    )
    return np.where(day > cal.te, C.STATUS["scheduled"], status).astype(np.int32)


def _appointments(
    rng: np.random.Generator, profile: SyntheticProfile, cal: Calendar, cit: Citizens
) -> Table:
    """Every booked control and consultation with its status."""
    table = _concat(
        [
            _regimen_appointments(rng, cal, cit),
            _gp_consultations(rng, cal, cit),
            _rehabilitation(rng, cal, cit),
        ]
    )
    table["status"] = _status(rng, profile, cal, cit, table["cit"], table["day"])
    return table


def _attended(appts: Table, *kinds: str) -> Table:
    """Attended appointments of the given kinds."""
    keep = np.isin(appts["kind"], C.KIND(*kinds)) & (
        appts["status"] == C.STATUS["attended"]
    )
    return {k: v[keep] for k, v in appts.items()}


def _first_on_or_after(appts: Table, cit: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Return the first appointment in ``appts`` on or after ``day`` (or NEVER)."""
    keys = np.sort(appts["cit"].astype(np.int64) * _SHIFT + appts["day"])
    query = cit.astype(np.int64) * _SHIFT + np.minimum(day, NEVER)
    pos = np.minimum(np.searchsorted(keys, query), max(len(keys) - 1, 0))
    if len(keys) == 0:
        return np.full(len(cit), NEVER, dtype=np.int32)
    hit = keys[pos]
    same = (hit // _SHIFT == cit) & (hit >= query)
    return np.where(same, hit % _SHIFT, NEVER).astype(np.int32)


# --- look-alikes and pregnancies ----------------------------------------------


def _day(iso: str) -> int:
    return int(np.datetime64(iso, "D").astype(np.int64))


def _look_alike_onsets(
    rng: np.random.Generator, cal: Calendar, cit: Citizens
) -> dict[str, np.ndarray]:
    """When GLP-1-for-obesity and metformin-for-PCOS treatment starts (NEVER if not)."""
    u = rng.random((cit.n, 2))
    glp_from = np.maximum(cit.start, _day("2023-01-01")).astype(np.int64)
    glp = glp_from + (u[:, 0] * np.maximum(cal.te - glp_from, 0)).astype(np.int64)
    pcos_to = np.minimum(cit.end, cit.birth + int(39 * YEAR)).astype(np.int64)
    pcos = cit.start + (u[:, 1] * np.maximum(pcos_to - cit.start, 0)).astype(np.int64)
    return {
        "glp1_obesity": np.where(cit.flags["glp1_obesity"], glp, NEVER).astype(
            np.int32
        ),
        "pcos": np.where(cit.flags["pcos"] & (pcos_to > cit.start), pcos, NEVER).astype(
            np.int32
        ),
    }


def _pregnancies(
    rng: np.random.Generator, profile: SyntheticProfile, cit: Citizens
) -> Pregnancies:
    """Births to women aged 20-42; a share with gestational diabetes."""
    lo = np.maximum(cit.start, cit.birth + int(20 * YEAR)).astype(np.int64)
    hi = np.minimum(cit.end, cit.birth + int(43 * YEAR)).astype(np.int64)
    rate = np.where(cit.female, profile.pregnancy_rate, 0.0)
    row, day = _poisson(rng, rate, lo, np.maximum(hi, lo))
    gdm = rng.random(len(row)) < profile.gestational_diabetes_share
    return Pregnancies(row, day, gdm)


# --- prescriptions ------------------------------------------------------------


def _regimen_prescriptions(
    rng: np.random.Generator,
    cal: Calendar,
    cit: Citizens,
    onsets: Mapping[str, np.ndarray],
) -> Table:
    """Repeat prescriptions of every drug regimen (issued up to extract_date)."""
    parts = []
    for reg in C.DRUG_REGIMENS:
        onset = onsets[reg.condition]
        who = np.flatnonzero((onset < cit.end) & (rng.random(cit.n) < reg.share))
        first = _first(rng, onset[who], cit.start[who], reg.interval)
        since = _day(reg.since)
        first = np.where(
            first < since,
            since + (rng.random(len(who)) * reg.interval).astype(np.int64),
            first,
        )
        stop = first + (
            rng.exponential(1.5 if reg.condition == "glp1_obesity" else 10.0, len(who))
            * YEAR
        ).astype(np.int64)
        if reg.condition == "pcos":
            stop = np.minimum(
                stop, np.minimum(first + int(2 * YEAR), cit.birth[who] + int(40 * YEAR))
            )
        row, day = _periodic(rng, first, np.minimum(stop, cit.end[who]), reg.interval)
        n = len(row)
        parts.append(
            {
                "cit": who[row],
                "issued": day,
                "atc": _full(n, C.CODES[reg.atc]),
                "supply": _full(n, reg.days_supply),
                "prescriber": _full(n, C.PRESCRIBER[reg.prescriber]),
                "offset": np.full(n, reg.non_adherence_logit),
            }
        )
    return _concat(parts)


def _acute_prescriptions(rng: np.random.Generator, consults: Table) -> Table:
    """Short courses written at attended GP consultations."""
    keep = rng.random(len(consults["day"])) < P_GP_DRUG
    n = int(keep.sum())
    drug = (rng.random(n) * len(C.ACUTE_DRUGS)).astype(np.int64)
    atc = np.array([C.CODES[a] for a, _ in C.ACUTE_DRUGS], dtype=np.int32)
    supply = np.array([s for _, s in C.ACUTE_DRUGS], dtype=np.int32)
    return {
        "cit": consults["cit"][keep],
        "issued": consults["day"][keep],
        "atc": atc[drug],
        "supply": supply[drug],
        "prescriber": _full(n, C.PRESCRIBER["gp"]),
        "offset": np.zeros(n),
    }


def _gdm_prescriptions(preg: Pregnancies, cit: Citizens) -> Table:
    """Insulin during pregnancies with gestational diabetes (hospital prescriber)."""
    who, birth = preg.who[preg.gdm], preg.day[preg.gdm]
    parts = []
    for atc, before in (
        (C.GDM_DRUGS[0], 90),
        (C.GDM_DRUGS[1], 75),
        (C.GDM_DRUGS[0], 50),
    ):
        day = birth - before
        keep = day >= cit.start[who]
        n = int(keep.sum())
        parts.append(
            {
                "cit": who[keep],
                "issued": day[keep].astype(np.int32),
                "atc": _full(n, C.CODES[atc]),
                "supply": _full(n, 30),
                "prescriber": _full(n, C.PRESCRIBER["hospital"]),
                "offset": np.zeros(n),
            }
        )
    return _concat(parts)


def _redeem(
    rng: np.random.Generator,
    profile: SyntheticProfile,
    cal: Calendar,
    cit: Citizens,
    table: Table,
) -> np.ndarray:
    """Redemption day, or NEVER: primary non-adherence rises as engagement falls."""
    who, issued = table["cit"], table["issued"].astype(np.int64)
    e = cit.engagement_path[cal.step(issued), who]
    p_never = _expit(
        _logit(profile.primary_non_adherence)
        + table["offset"]
        - NON_REDEMPTION_SLOPE * e
    )
    n = len(who)
    lag = rng.geometric(0.35, n) - 1 + (rng.random(n) < 0.08) * rng.integers(7, 60, n)
    day = issued + lag
    never = (rng.random(n) < p_never) | (day > cal.te) | (day >= cit.end[who])
    return np.where(never, NEVER, day).astype(np.int32)


# --- laboratory ---------------------------------------------------------------


def _lab(
    who: np.ndarray, day: np.ndarray, code: str, value: np.ndarray, unit: str
) -> Table:
    n = len(who)
    return {
        "cit": who,
        "day": day.astype(np.int32),
        "npu": _full(n, C.CODES[code]),
        "value": value.astype(np.float64),
        "unit": _full(n, C.UNIT[unit]),
    }


def _hba1c_rows(
    rng: np.random.Generator,
    cal: Calendar,
    cit: Citizens,
    who: np.ndarray,
    day: np.ndarray,
) -> Table:
    """HbA1c samples from the latent path; some in the oldest year in DCCT %."""
    value = cit.hba1c_path[cal.step(day), who] + rng.normal(0.0, 2.0, len(who))
    value = np.clip(np.round(value), 25, 160)
    old = (day < cal.t0 + 365) & (rng.random(len(who)) < 0.5)
    ifcc = _lab(who[~old], day[~old], C.HBA1C, value[~old], "mmol/mol")
    dcct = _lab(
        who[old], day[old], C.HBA1C_DCCT, np.round(value[old] / 10.929 + 2.15, 1), "%"
    )
    return _concat([ifcc, dcct])


def _diabetes_labs(
    rng: np.random.Generator, cal: Calendar, cit: Citizens, appts: Table, harm: Harm
) -> Table:
    """HbA1c at attended controls (sparse when controls are missed) and at diagnosis."""
    parts = []
    for kind in ("diabetes_control", "diabetes_annual_control"):
        att = _attended(appts, kind)
        keep = (rng.random(len(att["cit"])) < 0.92) & (att["day"] <= cal.te)
        parts.append(_hba1c_rows(rng, cal, cit, att["cit"][keep], att["day"][keep]))
    onset = np.minimum(cit.onset["type1"], cit.onset["type2"])[harm.who]
    new = (onset >= cit.start[harm.who]) & (onset < cit.end[harm.who])
    diag = _hba1c_rows(rng, cal, cit, harm.who[new], onset[new])
    is_ifcc = diag["npu"] == C.CODES[C.HBA1C]
    # untreated at diagnosis: higher than the treated path, and diagnostic (>= 48)
    parts.append(
        diag
        | {
            "value": np.where(
                is_ifcc, np.maximum(diag["value"] + 12, 50), diag["value"]
            )
        }
    )
    annual = _attended(appts, "diabetes_annual_control")
    parts.append(_other_labs(rng, annual["cit"], annual["day"], (0, 2, 4), cit, harm))
    return _concat(parts)


def _other_labs(
    rng: np.random.Generator,
    who: np.ndarray,
    day: np.ndarray,
    which: tuple[int, ...],
    cit: Citizens,
    harm: Harm,
) -> Table:
    """Creatinine, cholesterol, haemoglobin, albumin/creatinine: carried, not used."""
    parts = []
    kidney = np.zeros(cit.n, dtype=bool)
    kidney[harm.who] = harm.complication[:, 0] < NEVER
    for i in which:
        code, unit, mean, sd = C.OTHER_LABS[i]
        value = rng.normal(mean, sd, len(who)) * np.where(
            kidney[who] & (i in (0, 4)), 2.5, 1.0
        )
        parts.append(_lab(who, day, code, np.round(np.maximum(value, 0.1), 1), unit))
    return _concat(parts)


def _screening_hba1c(
    rng: np.random.Generator, cal: Calendar, cit: Citizens, preg: Pregnancies
) -> Table:
    """HbA1c in non-diabetics: normal screens, one high value, pregnancy values."""
    diabetic = (cit.onset["type1"] < NEVER) | (cit.onset["type2"] < NEVER)
    rate = np.where((cit.age >= 40) & ~diabetic, 0.08, 0.0)
    row, day = _poisson(rng, rate, cit.start.astype(np.int64), cit.end.astype(np.int64))
    normal = _lab(
        row,
        day,
        C.HBA1C,
        np.round(np.clip(rng.normal(37, 4, len(row)), 25, 46)),
        "mmol/mol",
    )
    one = np.flatnonzero(cit.flags["single_high_hba1c"])
    high_day = cit.start[one] + (
        rng.random(len(one)) * np.maximum(cit.end[one] - cit.start[one] - 120, 0)
    )
    high = _lab(
        one, high_day, C.HBA1C, np.round(48 + rng.random(len(one)) * 8), "mmol/mol"
    )
    recheck = _lab(
        one, high_day + 60, C.HBA1C, np.round(40 + rng.random(len(one)) * 6), "mmol/mol"
    )
    g_who, g_day = preg.who[preg.gdm], preg.day[preg.gdm] - 100
    gdm = _lab(
        g_who, g_day, C.HBA1C, np.round(48 + rng.random(len(g_who)) * 6), "mmol/mol"
    )
    table = _concat([normal, high, recheck, gdm])
    keep = (table["day"] >= cit.start[table["cit"]]) & (
        table["day"] < cit.end[table["cit"]]
    )
    return {k: v[keep] for k, v in table.items()}


def _gp_labs(
    rng: np.random.Generator, consults: Table, cit: Citizens, harm: Harm
) -> Table:
    """Draw a blood test at some attended GP consultations of adults."""
    keep = (rng.random(len(consults["cit"])) < P_GP_LAB) & (
        cit.age[consults["cit"]] >= 18
    )
    who, day = consults["cit"][keep], consults["day"][keep]
    pick = (rng.random(len(who)) * 4).astype(np.int64)
    parts = []
    for i in range(4):
        sel = pick == i
        parts.append(_other_labs(rng, who[sel], day[sel], (i,), cit, harm))
    return _concat(parts)


# --- diagnoses ----------------------------------------------------------------


def _diag(
    who: np.ndarray,
    day: np.ndarray,
    system: np.ndarray | int,
    code: np.ndarray | int,
    source: np.ndarray | int,
    dtype: np.ndarray | int,
) -> Table:
    n = len(who)
    return {
        "cit": who,
        "day": day.astype(np.int32),
        "system": _column(system, n),
        "code": _column(code, n),
        "source": _column(source, n),
        "dtype": _column(dtype, n),
    }


def _column(value: np.ndarray | int, n: int) -> np.ndarray:
    """Broadcast a scalar or array to an int32 column of length n."""
    return np.broadcast_to(np.asarray(value, dtype=np.int32), (n,)).copy()


def _record_sets(
    condition: str, cit: Citizens
) -> tuple[tuple[tuple[C.Record, ...], ...], np.ndarray]:
    """Return a condition's record sets and the set each citizen uses."""
    if condition == "smi":
        return C.SMI_RECORDS, cit.smi_kind
    if condition == "cancer":
        return C.CANCER_RECORDS, cit.cancer_site
    return (C.CONDITION_RECORDS[condition],), np.zeros(cit.n, dtype=np.int64)


def _coded_rows(
    rng: np.random.Generator,
    who: np.ndarray,
    day: np.ndarray,
    sets: tuple[tuple[C.Record, ...], ...],
    row: np.ndarray,
) -> Table:
    """Pick one record per event from the citizen's record set, by weight."""
    weights = np.array([[r.weight for r in recs] for recs in sets])
    pick = _categorical(rng, weights, rows=row[who])
    table = np.array([[_record_indices(r) for r in recs] for recs in sets])
    chosen = table[row[who], pick]  # (events, 4): system, code, source, type
    return _diag(who, day, chosen[:, 0], chosen[:, 1], chosen[:, 2], chosen[:, 3])


def _record_indices(record: C.Record) -> tuple[int, int, int, int]:
    """Return a record's system, code, source and type as vocabulary indices."""
    dtype = -1 if record.dtype is None else C.DIAG_TYPE[record.dtype]
    return (
        C.CODE_SYSTEM[record.system],
        C.CODES[record.code],
        C.DIAG_SOURCE[record.source],
        dtype,
    )


def _record_days(
    rng: np.random.Generator, cit: Citizens, onset: np.ndarray, rate: float
) -> tuple[np.ndarray, np.ndarray]:
    """Draw the first record (at onset, or early if known before) and follow-ups."""
    u = rng.random(cit.n)
    first = np.where(
        onset < cit.start,
        cit.start + (u * 365).astype(np.int64),
        onset.astype(np.int64) + (u * 14).astype(np.int64),
    )
    who = np.flatnonzero((onset < NEVER) & (first < cit.end))
    row, day = _poisson(
        rng, np.full(len(who), rate), first[who] + 1, cit.end[who].astype(np.int64)
    )
    return np.concatenate([who, who[row]]), np.concatenate([first[who], day]).astype(
        np.int32
    )


def _condition_diagnoses(rng: np.random.Generator, cit: Citizens) -> Table:
    """Chronic conditions in SKS and ICPC-2, first at onset and again at follow-ups."""
    parts = []
    for condition in C.CONDITION_RECORDS:
        who, day = _record_days(
            rng, cit, cit.onset[condition], RERECORD_RATE.get(condition, 1.0)
        )
        sets, row = _record_sets(condition, cit)
        parts.append(_coded_rows(rng, who, day, sets, row))
    return _concat(parts)


def _complication_diagnoses(
    rng: np.random.Generator,
    cal: Calendar,
    cit: Citizens,
    harm: Harm,
    appts: Table,
    bias: Ascertainment | None,
) -> tuple[Table, np.ndarray, Table]:
    """Record true complications at a contact, or only at attended screenings.

    ``bias`` is None without the ascertainment-bias knob. Some new
    complications are found at an acute admission instead, whatever the knob
    (``P_FOUND_AT_ADMISSION``). Returns the diagnosis rows, each complication's
    record day and the admissions that found one.
    """
    D = len(harm.who)
    start = cit.start[harm.who][:, None].astype(np.int64)
    onset = harm.complication.astype(np.int64)
    u = rng.random((D, 5))
    contact = np.where(
        onset < start,
        start + (u * 180).astype(np.int64),
        onset + (u * 30).astype(np.int64),
    )
    recorded = np.where(
        onset < NEVER,
        contact if bias is None else _screened(rng, cit, harm, appts, onset, bias),
        NEVER,
    )
    admitted = _found_at_admission(rng, onset, start)
    recorded = np.where(admitted < NEVER, admitted, recorded)
    end = np.minimum(cit.end[harm.who], cal.te + 1)[:, None]
    recorded = np.where(recorded < end, recorded, NEVER)
    at_admission = (recorded == admitted) & (recorded < NEVER)
    follow = recorded + 180 + (rng.random((D, 5)) * 360).astype(np.int64)
    follow = np.where((rng.random((D, 5)) < 0.5) & (follow < end), follow, NEVER)
    type1 = cit.onset["type1"][harm.who] < NEVER
    parts = []
    for g, (code2, code1, extra, _) in enumerate(C.COMPLICATION_CODES):
        for days, primary in (
            (recorded[:, g], at_admission[:, g]),
            (follow[:, g], None),
        ):
            keep = days < NEVER
            who, day = harm.who[keep], days[keep]
            code = np.where(type1[keep], C.CODES[code1], C.CODES[code2])
            dtype = (
                C.DIAG_TYPE["B"]
                if primary is None
                else np.where(primary[keep], C.DIAG_TYPE["A"], C.DIAG_TYPE["B"])
            )
            parts.append(_diag(who, day, 0, code, 0, dtype))
            if extra is not None:
                parts.append(_diag(who, day, 0, C.CODES[extra], 0, C.DIAG_TYPE["A"]))
    admissions = _complication_admissions(rng, cit, harm, recorded, at_admission)
    return _concat(parts), recorded.astype(np.int32), admissions


def _screened(
    rng: np.random.Generator,
    cit: Citizens,
    harm: Harm,
    appts: Table,
    onset: np.ndarray,
    bias: Ascertainment,
) -> np.ndarray:
    """Record day when only an attended ascertaining visit records (the bias knob)."""
    start = cit.start[harm.who].astype(np.int64)
    screened = np.full(onset.shape, NEVER, dtype=np.int64)
    for g, (*_, kinds) in enumerate(C.COMPLICATION_CODES):
        visible = np.maximum(onset[:, g], start)
        first = _first_on_or_after(_attended(appts, *kinds), harm.who, visible)
        days = bias.window_days * (2 if kinds == ("eye_screening",) else 1)
        screened[:, g] = np.where(first - visible <= days, first, NEVER)
    if bias.engagement_slope > 0.0:
        p = np.exp(bias.engagement_slope * np.minimum(cit.engagement[harm.who], 0.0))
        looked = rng.random(onset.shape) < p[:, None]
        screened = np.where(looked, screened, NEVER)
    return screened


def _found_at_admission(
    rng: np.random.Generator, onset: np.ndarray, start: np.ndarray
) -> np.ndarray:
    """Admission day (within 30 days of onset) of new complications found there."""
    p = np.asarray(P_FOUND_AT_ADMISSION)[None, :]
    found = (onset >= start) & (onset < NEVER) & (rng.random(onset.shape) < p)
    day = onset + (rng.random(onset.shape) * 30).astype(np.int64)
    return np.where(found, day, NEVER)


def _complication_admissions(
    rng: np.random.Generator,
    cit: Citizens,
    harm: Harm,
    recorded: np.ndarray,
    at_admission: np.ndarray,
) -> Table:
    """Acute admissions whose primary diagnosis is the complication they found."""
    row, g = np.nonzero(at_admission)
    type1 = cit.onset["type1"][harm.who[row]] < NEVER
    codes = np.array(
        [[C.CODES[c2], C.CODES[c1]] for c2, c1, *_ in C.COMPLICATION_CODES]
    )
    code = codes[g, type1.astype(np.int64)]
    los = 1 + rng.geometric(0.3, len(row))
    return _contact(harm.who[row], recorded[row, g], los, "acute_admission", code)


def _other_diagnoses(
    rng: np.random.Generator,
    cal: Calendar,
    cit: Citizens,
    consults: Table,
    onsets: Mapping[str, np.ndarray],
    preg: Pregnancies,
) -> Table:
    """GP codes at consultations, skin cancer, PCOS, obesity and pregnancy codes."""
    keep = rng.random(len(consults["cit"])) < P_GP_CODE
    noise = C.CODES(*C.GP_NOISE_CODES)[
        (rng.random(int(keep.sum())) * len(C.GP_NOISE_CODES)).astype(np.int64)
    ]
    parts = [_diag(consults["cit"][keep], consults["day"][keep], 1, noise, 2, -1)]
    skin = np.flatnonzero((cit.age >= 50) & (rng.random(cit.n) < 0.015))
    skin_day = cit.start[skin] + (
        rng.random(len(skin)) * np.maximum(cit.end[skin] - cit.start[skin], 0)
    )
    parts.append(_diag(skin, skin_day, 0, C.CODES[C.SKIN_CANCER_CODE], 0, 0))
    pcos = np.flatnonzero(onsets["pcos"] < cit.end)
    parts.append(_diag(pcos, onsets["pcos"][pcos], 0, C.CODES[C.PCOS_CODE], 0, 0))
    obese = np.flatnonzero(onsets["glp1_obesity"] < cit.end)
    parts.append(
        _diag(obese, onsets["glp1_obesity"][obese], 1, C.CODES[C.OBESITY_CODE], 2, -1)
    )
    parts.append(_diag(preg.who, preg.day, 0, C.CODES[C.BIRTH_CODE], 0, 0))
    g_who, g_day = preg.who[preg.gdm], preg.day[preg.gdm]
    parts.append(_diag(g_who, g_day - 90, 0, C.CODES[C.GDM_CODE], 0, 0))
    parts.append(_diag(g_who, g_day, 0, C.CODES[C.GDM_CODE], 0, 1))
    table = _concat(parts)
    inside = (table["day"] >= cit.start[table["cit"]]) & (
        table["day"] < cit.end[table["cit"]]
    )
    return {k: v[inside] for k, v in table.items()}


# --- hospital contacts --------------------------------------------------------


def _contact(
    who: np.ndarray,
    start: np.ndarray,
    los: np.ndarray | int,
    ctype: str,
    diag: np.ndarray | int,
) -> Table:
    n = len(who)
    return {
        "cit": who,
        "start": start.astype(np.int32),
        "end": (start + np.broadcast_to(los, (n,))).astype(np.int32),
        "ctype": _full(n, C.CONTACT_TYPE[ctype]),
        "diag": np.broadcast_to(np.asarray(diag, dtype=np.int32), (n,)).copy(),
    }


def _pick(rng: np.random.Generator, codes: tuple[str, ...], n: int) -> np.ndarray:
    return C.CODES(*codes)[(rng.random(n) * len(codes)).astype(np.int64)]


def _acute_contacts(rng: np.random.Generator, cit: Citizens, harm: Harm) -> list[Table]:
    """Draw acute diabetes admissions, other acute admissions and ED visits."""
    who, day = harm.acute_who, harm.acute_day
    type1 = cit.onset["type1"][who] < NEVER
    kind = _categorical(
        rng, np.array([s for *_, s in C.ACUTE_DIABETES_CODES]), n=len(who)
    )
    code = np.where(
        type1,
        C.CODES(*[c[1] for c in C.ACUTE_DIABETES_CODES])[kind],
        C.CODES(*[c[0] for c in C.ACUTE_DIABETES_CODES])[kind],
    )
    parts = [
        _contact(who, day, 1 + rng.geometric(0.4, len(who)), "acute_admission", code)
    ]
    heart = (cit.onset["ischaemic"] < NEVER) | (cit.onset["failure"] < NEVER)
    copd = cit.onset["copd"] < NEVER
    rate = (
        0.02
        + 0.003 * np.maximum(cit.age - 40, 0)
        + 0.15 * copd
        + 0.1 * heart
        + 0.1 * (cit.onset["cancer"] < NEVER)
    )
    row, day = _poisson(rng, rate, cit.start.astype(np.int64), cit.end.astype(np.int64))
    code = _pick(rng, C.ACUTE_ADMISSION_CODES, len(row))
    u = rng.random(len(row))
    code = np.where(
        copd[row] & (u < 0.4),
        C.CODES["DJ441"],
        np.where(heart[row] & (u > 0.6), C.CODES["DI500"], code),
    )
    parts.append(
        _contact(row, day, 1 + rng.geometric(0.25, len(row)), "acute_admission", code)
    )
    ed_rate = 0.07 * np.exp(-0.25 * cit.engagement)
    row, day = _poisson(
        rng, ed_rate, cit.start.astype(np.int64), cit.end.astype(np.int64)
    )
    parts.append(
        _contact(row, day, 0, "emergency_department", _pick(rng, C.ED_CODES, len(row)))
    )
    return parts


def _planned_contacts(
    rng: np.random.Generator,
    cal: Calendar,
    cit: Citizens,
    appts: Table,
    preg: Pregnancies,
) -> list[Table]:
    """Draw outpatient contacts, planned admissions and births."""
    parts = []
    done = (appts["status"] == C.STATUS["attended"]) & (appts["day"] <= cal.te)
    for r, reg in enumerate(C.APPOINTMENT_REGIMENS):
        code = C.OUTPATIENT_CONTACT_CODES.get((reg.condition, reg.kind))
        sel = done & (appts["regimen"] == r)
        if reg.kind == "psychiatric_outpatient":
            kinds = C.CODES(*[recs[0].code for recs in C.SMI_RECORDS])
            parts.append(
                _contact(
                    appts["cit"][sel],
                    appts["day"][sel],
                    0,
                    "outpatient",
                    kinds[cit.smi_kind[appts["cit"][sel]]],
                )
            )
        elif code is not None:
            parts.append(
                _contact(
                    appts["cit"][sel], appts["day"][sel], 0, "outpatient", C.CODES[code]
                )
            )
    cancer = cit.onset["cancer"] < NEVER
    rate = np.where(cit.age >= 18, 0.02, 0.005) + 0.2 * cancer
    row, day = _poisson(rng, rate, cit.start.astype(np.int64), cit.end.astype(np.int64))
    site = C.CODES(*[s for s, _, _ in C.CANCER_SITES])[cit.cancer_site[row]]
    planned = np.where(
        cancer[row] & (rng.random(len(row)) < 0.7),
        site,
        _pick(rng, C.PLANNED_CODES, len(row)),
    )
    los = rng.integers(1, 5, len(row))
    parts.append(_contact(row, day, los, "planned_admission", planned))
    parts.append(
        _contact(preg.who, preg.day, 2, "acute_admission", C.CODES[C.BIRTH_CODE])
    )
    return parts


def _contacts(
    rng: np.random.Generator,
    cal: Calendar,
    cit: Citizens,
    appts: Table,
    harm: Harm,
    preg: Pregnancies,
    extra: list[Table],
) -> Table:
    """Draw all hospital contacts; an admission running past te is ongoing."""
    table = _concat(
        _acute_contacts(rng, cit, harm)
        + _planned_contacts(rng, cal, cit, appts, preg)
        + extra
    )
    inside = (table["start"] >= cit.start[table["cit"]]) & (
        table["start"] < cit.end[table["cit"]]
    )
    table = {k: v[inside] for k, v in table.items()}
    end = np.minimum(
        table["end"], cit.death[table["cit"]]
    )  # a death in hospital ends the stay
    table["end"] = np.where(end > cal.te, NEVER, end).astype(np.int32)
    return table


# --- the entry point of this module -------------------------------------------


def record_care(
    rng: np.random.Generator,
    profile: SyntheticProfile,
    cal: Calendar,
    cit: Citizens,
    harm: Harm,
    drivers: Drivers | None = None,
) -> Events:
    """Write the journal events of one chunk.

    Parameters
    ----------
    rng : numpy.random.Generator
    profile : SyntheticProfile
    cal : Calendar
    cit : Citizens
    harm : Harm
    drivers : Drivers, optional
        A world's drivers: adds its marker drugs, eGFR and albuminuria values and
        psychiatric admissions (from the world's own stream).

    Returns
    -------
    Events
        Every row dated on or before ``extract_date``, except appointments with
        status ``scheduled``.
    """
    appts = _appointments(rng, profile, cal, cit)
    consults = _attended(appts, "gp_consultation")
    consults = {k: v[consults["day"] <= cal.te] for k, v in consults.items()}
    onsets = {**cit.onset, **_look_alike_onsets(rng, cal, cit)}
    preg = _pregnancies(rng, profile, cit)
    rx = _concat(
        [
            _regimen_prescriptions(rng, cal, cit, onsets),
            _acute_prescriptions(rng, consults),
            _gdm_prescriptions(preg, cit),
            *([] if drivers is None else [marker_prescriptions(drivers, cal, cit)]),
        ]
    )
    rx["redeemed"] = _redeem(rng, profile, cal, cit, rx)
    labs = _concat(
        [
            _diabetes_labs(rng, cal, cit, appts, harm),
            _screening_hba1c(rng, cal, cit, preg),
            _gp_labs(rng, consults, cit, harm),
        ]
    )
    if drivers is not None:
        labs = world_labs(drivers, cal, cit, labs)
    bias = (
        Ascertainment(
            profile.ascertainment_window_days, profile.ascertainment_engagement_slope
        )
        if profile.ascertainment_bias
        else None
    )
    comp, recorded, admitted = _complication_diagnoses(rng, cal, cit, harm, appts, bias)
    extra = [admitted] + ([] if drivers is None else [psych_contacts(drivers, cit)])
    contacts = _contacts(rng, cal, cit, appts, harm, preg, extra)
    diagnoses = _concat(
        [
            _condition_diagnoses(rng, cit),
            comp,
            _other_diagnoses(rng, cal, cit, consults, onsets, preg),
            _admission_diagnoses(contacts),
            *([] if drivers is None else [psych_diagnoses(contacts)]),
        ]
    )
    return Events(
        diagnoses=_until(diagnoses, "day", cal.te),
        prescriptions=_until(rx, "issued", cal.te),
        appointments=appts,
        lab_results=_until(labs, "day", cal.te),
        hospital_contacts=_until(contacts, "start", cal.te),
        complications_recorded=recorded,
        pregnancies=preg,
    )


def _admission_diagnoses(contacts: Table) -> Table:
    """Record the primary diagnosis of each acute diabetes admission (SKS, A)."""
    codes = C.CODES(*[c for row in C.ACUTE_DIABETES_CODES for c in row[:2]])
    acute = contacts["ctype"] == C.CONTACT_TYPE["acute_admission"]
    sel = acute & np.isin(contacts["diag"], codes)
    return _diag(
        contacts["cit"][sel], contacts["start"][sel], 0, contacts["diag"][sel], 0, 0
    )


def _until(table: Table, column: str, te: int) -> Table:
    """Rows dated on or before extract_date."""
    keep = table[column] <= te
    return {k: v[keep] for k, v in table.items()}
