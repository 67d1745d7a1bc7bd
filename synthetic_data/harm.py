"""Diabetes harm as processes through time: late complications and acute admissions.

The second step of the generator, for the diabetics of one chunk. Starting from
the complications a citizen already has when the history begins, it walks the
monthly grid of :class:`~synthetic_data.population.Calendar` up to a year after
``extract_date`` and draws, at hazards that depend on the citizen's state in that
month (glycaemic control, engagement, age, diabetes duration), new late
complications (kidney, eye, nerve, circulation, foot) and acute diabetes
admissions. Because the hazards depend only on the current state, an early
index date looks like a late one. It also records the true 365-day risk of harm
at each quarterly index date, for the ground-truth file. In a world
(:mod:`synthetic_data.world`), the slopes are the world's, the hazards are
multiplied by its drivers (:mod:`synthetic_data.drivers`: kidney function,
albuminuria, marker burden, earlier acute and psychiatric admissions, frailty,
living alone), and ``extract_date`` is an index date as well.
:mod:`synthetic_data.care` decides when (and whether) these true events reach
the journal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from synthetic_data.codes import LIVING
from synthetic_data.drivers import (
    Drivers,
    hazard_multipliers,
    in_window,
    prevalent_multiplier,
    psych_recent,
)
from synthetic_data.population import NEVER, STEP, YEAR, Calendar, Citizens
from synthetic_data.profile import COMPLICATIONS, SyntheticProfile

__all__ = ["Harm", "index_days", "simulate_harm"]

#: Hazard slopes. HBA1C_SLOPE: log hazard per mmol/mol, from UKPDS 35 (RR ~ 1.6 per
#: 11 mmol/mol for microvascular endpoints); the rest are ASSUMPTION. The two
#: engagement slopes are scaled by the profile's ``engagement_harm_effect`` knob.
HBA1C_SLOPE = 0.043
ENGAGEMENT_SLOPE = 0.3
AGE_SLOPE = 0.03
DURATION_SLOPE = 0.04
ACUTE_HBA1C_SLOPE = 0.06
ACUTE_ENGAGEMENT_SLOPE = 0.5


class Slopes(NamedTuple):
    """The log-hazard slopes a world may redraw (the defaults are the above)."""

    hba1c: float = HBA1C_SLOPE
    age: float = AGE_SLOPE
    duration: float = DURATION_SLOPE
    acute_hba1c: float = ACUTE_HBA1C_SLOPE


DEFAULT_SLOPES = Slopes()


def _slopes(drivers: Drivers | None) -> Slopes:
    """Return today's slopes, or the world's."""
    if drivers is None:
        return DEFAULT_SLOPES
    w = drivers.world
    return Slopes(w.hba1c_slope, w.age_slope, w.duration_slope, w.acute_hba1c_slope)


@dataclass(frozen=True)
class Harm:
    """True harm of one chunk's diabetics (local citizen indices in ``who``)."""

    who: np.ndarray  # (D,) citizen index in the chunk
    complication: np.ndarray  # (D, 5) true onset day per group; NEVER = none
    prevalent: np.ndarray  # (D, 5) onset before the history began
    acute_who: np.ndarray  # citizen index of each acute diabetes admission
    acute_day: np.ndarray
    index_days: np.ndarray  # quarterly index dates (days)
    risk: np.ndarray  # (D, Q) true 365-day risk of harm; nan = not at risk that day
    event: np.ndarray  # (D, Q) harm within 365 days happened (only where risk is set)
    #: (D, Q, 6) per-step hazards at each index date: the five complication groups,
    #: then the acute admission (0 where not at risk). The SMI truth
    #: (:mod:`synthetic_data.smi_truth`) reads the admissions among them.
    hazards: np.ndarray


def index_days(cal: Calendar) -> np.ndarray:
    """First day of each calendar quarter in the four years up to extract_date."""
    te = np.datetime64(cal.te, "D")
    months = np.arange(te.astype("datetime64[Y]") - 4, te.astype("datetime64[Y]") + 1)
    starts = (months[:, None].astype("datetime64[M]") + np.array([0, 3, 6, 9])).ravel()
    days = starts.astype("datetime64[D]").astype(np.int64)
    inside = (days >= cal.te - 4 * 365) & (days <= cal.te)
    result: np.ndarray = days[inside].astype(np.int32)
    return result


def _state_hazards(
    profile: SyntheticProfile,
    hba1c: np.ndarray,
    engage: np.ndarray,
    age: np.ndarray,
    years: np.ndarray,
    slopes: Slopes = DEFAULT_SLOPES,
) -> np.ndarray:
    """(D, 5) complication hazards per step for the given state."""
    x = (
        slopes.hba1c * (hba1c - 53.0)
        - (ENGAGEMENT_SLOPE * profile.engagement_harm_effect) * engage
        + slopes.age * (age - 65.0)
        + slopes.duration * (years - 10.0)
    )
    rates = np.array([profile.complication_rates[g] for g in COMPLICATIONS])
    return rates[None, :] * np.exp(np.clip(x, -6, 4))[:, None] * (STEP / YEAR)


def _acute_hazard(
    profile: SyntheticProfile,
    type1: np.ndarray,
    hba1c: np.ndarray,
    engage: np.ndarray,
    frail: np.ndarray,
    hba1c_slope: float = ACUTE_HBA1C_SLOPE,
) -> np.ndarray:
    """(D,) acute diabetes admission hazard per step."""
    base = np.where(
        type1, profile.acute_admission_rate_type1, profile.acute_admission_rate_type2
    )
    slope = ACUTE_ENGAGEMENT_SLOPE * profile.engagement_harm_effect
    x = hba1c_slope * (hba1c - 53.0) - slope * engage
    hazard: np.ndarray = base * np.exp(np.clip(x, -6, 4)) * frail * (STEP / YEAR)
    return hazard


def _prevalent(
    rng: np.random.Generator,
    profile: SyntheticProfile,
    cal: Calendar,
    cit: Citizens,
    who: np.ndarray,
    onset: np.ndarray,
    drivers: Drivers | None,
) -> np.ndarray:
    """Complications present when the history begins (true onset day or NEVER)."""
    years0 = np.maximum((cal.t0 - onset) / YEAR, 0.0)
    age0 = cit.age[who] - (cal.te - cal.t0) / YEAR
    h = _state_hazards(
        profile,
        cit.hba1c_mean[who],
        cit.engagement[who],
        age0,
        years0 / 2,
        _slopes(drivers),
    )
    if drivers is not None:  # the drivers half-way through the years before
        mid = prevalent_multiplier(drivers, who, age0 - years0 / 2, years0 / 2)
        h = h * mid[:, None]
    p = 1.0 - np.exp(-h * (YEAR / STEP) * years0[:, None])
    u = rng.random(h.shape)
    day = onset[:, None] + (rng.random(h.shape) * (cal.t0 - onset)[:, None]).astype(
        np.int64
    )
    return np.where(u < p, day, NEVER).astype(np.int32)


def simulate_harm(
    rng: np.random.Generator,
    profile: SyntheticProfile,
    cal: Calendar,
    cit: Citizens,
    drivers: Drivers | None = None,
) -> Harm:
    """Walk the monthly grid for the chunk's diabetics and draw their harm.

    Parameters
    ----------
    rng : numpy.random.Generator
    profile : SyntheticProfile
    cal : Calendar
    cit : Citizens
    drivers : Drivers, optional
        A world's drivers: they multiply the hazards (and so the true risk), the
        slopes are the world's, and ``extract_date`` is an index date too.

    Returns
    -------
    Harm
    """
    type1 = cit.onset["type1"] < NEVER
    who = np.flatnonzero(type1 | (cit.onset["type2"] < NEVER))
    onset = np.minimum(cit.onset["type1"], cit.onset["type2"])[who]
    comp = _prevalent(rng, profile, cal, cit, who, onset, drivers)
    prevalent = comp < NEVER
    alive_until = np.minimum(cit.death, cit.emigration)[who]
    shelter = cit.living[who] == LIVING["shelter"]
    smi = cit.onset["smi"][who] < NEVER
    frail = np.where(smi, 1.5, 1.0) * np.where(shelter, 2.0, 1.0)
    qdays = index_days(cal)
    if drivers is not None:
        qdays = np.union1d(qdays, [cal.te]).astype(np.int32)
    qstep = cal.step(qdays)
    total = np.full((len(who), len(qdays)), np.nan)
    hazards = np.zeros((len(who), len(qdays), len(COMPLICATIONS) + 1))
    slopes = _slopes(drivers)
    world = None if drivers is None else _WorldWalk(drivers, cal, who)
    acute_who: list[np.ndarray] = []
    acute_day: list[np.ndarray] = []
    for k in range(cal.n_steps):
        day = cal.t0 + k * STEP
        hba1c, engage = cit.hba1c_path[k, who], cit.engagement_path[k, who]
        age = cit.age[who] - (cal.te - day) / YEAR
        h = _state_hazards(profile, hba1c, engage, age, (day - onset) / YEAR, slopes)
        h = np.where(comp < NEVER, 0.0, h)
        a = _acute_hazard(profile, type1[who], hba1c, engage, frail, slopes.acute_hba1c)
        if world is not None:
            h, a = world.scale(k, h, a, age, (day - onset) / YEAR)
        for q in np.flatnonzero(qstep == k):
            at_risk = (onset < qdays[q]) & (cit.start[who] <= qdays[q])
            at_risk &= qdays[q] < alive_until
            total[:, q] = np.where(at_risk, h.sum(axis=1) + a, np.nan)
            hazards[:, q] = np.where(at_risk[:, None], np.column_stack([h, a]), 0.0)
        active = (onset <= day) & (cit.start[who] <= day) & (day < alive_until)
        hit, new_day = _draw_step(rng, np.column_stack([h, a]), active, day)
        comp = np.where(hit[:, :-1], new_day[:, :-1], comp).astype(np.int32)
        acute_who.append(who[hit[:, -1]])
        acute_day.append(new_day[hit[:, -1], -1])
        if world is not None:
            world.admitted(k, hit[:, -1])
    acute_w = np.concatenate(acute_who)
    acute_d = np.concatenate(acute_day).astype(np.int32)
    risk = 1.0 - np.exp(-total * (YEAR / STEP))
    event = _events(who, comp, acute_w, acute_d, qdays)
    return Harm(who, comp, prevalent, acute_w, acute_d, qdays, risk, event, hazards)


class _WorldWalk:
    """A world's part of the walk: its multipliers and the admissions so far."""

    def __init__(self, drivers: Drivers, cal: Calendar, who: np.ndarray) -> None:
        self.drivers, self.who = drivers, who
        self.psych = psych_recent(drivers, cal, who)
        self.acute = np.zeros((cal.n_steps + 1, len(who)), dtype=np.int32)

    def scale(
        self,
        k: int,
        h: np.ndarray,
        a: np.ndarray,
        age: np.ndarray,
        years: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Multiply step ``k``'s complication and acute hazards by the drivers."""
        prior_acute, prior_psych = in_window(self.acute, k), in_window(self.psych, k)
        mc, ma = hazard_multipliers(
            self.drivers, self.who, age, years, prior_acute, prior_psych
        )
        return h * mc[:, None], a * ma

    def admitted(self, k: int, hit: np.ndarray) -> None:
        """Count step ``k``'s acute diabetes admissions."""
        self.acute[k + 1] = self.acute[k] + hit


def _draw_step(
    rng: np.random.Generator, hazard: np.ndarray, active: np.ndarray, day: int
) -> tuple[np.ndarray, np.ndarray]:
    """Draw which hazards fire in one step, and on which day of it."""
    p = 1.0 - np.exp(-hazard)
    u = rng.random(p.shape)
    hit = active[:, None] & (u < p)
    # given u < p, u / p is uniform on [0, 1): reuse it for the day within the step
    offset = (u / np.where(p > 0, p, 1.0) * STEP).astype(np.int64)
    return hit, day + offset


def _events(
    who: np.ndarray,
    comp: np.ndarray,
    acute_who: np.ndarray,
    acute_day: np.ndarray,
    qdays: np.ndarray,
) -> np.ndarray:
    """(D, Q) whether a new complication or acute admission fell in [q, q + 365)."""
    lo, hi = qdays[None, None, :], qdays[None, None, :] + 365
    new = ((comp[:, :, None] >= lo) & (comp[:, :, None] < hi)).any(axis=1)
    pos = np.searchsorted(who, acute_who)
    acute = np.zeros_like(new)
    for q, start in enumerate(qdays):
        inside = (acute_day >= start) & (acute_day < start + 365)
        acute[pos[inside], q] = True
    return new | acute
