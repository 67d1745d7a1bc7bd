"""The true 365-day somatic risk of citizens with severe mental illness (SMI).

The SMI programme ranks by somatic harm: new diabetes, new heart disease, or an
acute somatic admission. This module gives, for each SMI citizen at risk on each
quarterly index date of :func:`synthetic_data.harm.index_days`, the generator's
own probability of that harm within 365 days, and whether it happened. Like the
diabetes truth (:mod:`synthetic_data.harm`) it is built from the processes the
generator draws from, never from the journal:

- new type 2 diabetes and new heart disease: the onset is drawn as a condition
  present at ``extract_date`` with an exponential duration
  (:func:`synthetic_data.population._onset_days`), so the chance that it begins
  in ``[q, q + 365)`` given that it has not begun before ``q`` follows from the
  citizen's prevalence and that duration law;
- acute somatic admissions that are not about diabetes: a Poisson rate per
  citizen (:func:`synthetic_data.care._acute_contacts`);
- a diabetic's acute diabetes admission and complications found at an acute
  admission: the harm walk's hazards on that day (``Harm.hazards``) times the
  share found at admission (:data:`synthetic_data.care.P_FOUND_AT_ADMISSION`).

The four are independent given the citizen's state, so the risk is one minus the
product of the chances of escaping each. Births (acute admissions with a birth
code) and psychiatric admissions are not somatic harm and are left out of both
the risk and the event. How the harm is *recorded* (by a GP or a hospital) does
not enter: the truth is the need, whatever records it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from synthetic_data import codes as C
from synthetic_data.population import (
    DURATION,
    NEVER,
    YEAR,
    Citizens,
    _risk,
    by_age,
)
from synthetic_data.profile import SyntheticProfile

__all__ = [
    "HEART_GROUPS",
    "SmiTruth",
    "onset_window_risk",
    "other_acute_rate",
    "smi_truth",
]

#: The heart subgroups whose onset is "new heart disease" (one shared onset).
HEART_GROUPS = ("ischaemic", "arrhythmia", "failure", "valve")
#: Acute admissions that are not somatic harm: psychiatric (DF*) and births (DO*).
_NOT_SOMATIC_PREFIXES = ("DF", "DO")


@dataclass(frozen=True)
class SmiTruth:
    """True 365-day somatic risk and event of one chunk's SMI citizens."""

    who: np.ndarray  # (S,) citizen index in the chunk
    index_days: np.ndarray  # (Q,) index dates (days)
    risk: np.ndarray  # (S, Q) true risk; nan = not at risk that day
    event: np.ndarray  # (S, Q) somatic harm within 365 days happened


def duration_cdf(years: np.ndarray, mean_years: float, room: np.ndarray) -> np.ndarray:
    """P(duration <= years) of ``_onset_days``'s law: Exp(mean), else uniform on room.

    A duration drawn longer than the citizen's room (age minus the youngest onset
    age) is redrawn uniformly in the room, so the law is the exponential up to the
    room plus the mass beyond it spread evenly over it.
    """
    y = np.clip(years, 0.0, room)
    cdf: np.ndarray = (1.0 - np.exp(-y / mean_years)) + np.exp(-room / mean_years) * (
        y / room
    )
    return cdf


def onset_window_risk(
    prevalence: np.ndarray,
    age: np.ndarray,
    condition: str,
    before_te: float,
) -> np.ndarray:
    """P(onset within the 365 days from an index date | no onset before it).

    Parameters
    ----------
    prevalence : numpy.ndarray
        Each citizen's chance of having the condition at ``extract_date``.
    age : numpy.ndarray
        Age in years at ``extract_date``.
    condition : str
        A key of :data:`synthetic_data.population.DURATION`.
    before_te : float
        Days from the index date to ``extract_date`` (onsets come no later).
    """
    mean_years, min_age = DURATION[condition]
    room = np.maximum(age - min_age, 0.05)
    near = duration_cdf(
        np.full(len(age), max(before_te - 365, 0) / YEAR), mean_years, room
    )
    far = duration_cdf(np.full(len(age), before_te / YEAR), mean_years, room)
    inside = prevalence * (far - near)
    not_yet = 1.0 - prevalence * (1.0 - far)
    risk: np.ndarray = np.clip(inside / np.maximum(not_yet, 1e-12), 0.0, 1.0)
    return risk


def _type2_prevalence(profile: SyntheticProfile, cit: Citizens) -> np.ndarray:
    """Return the chance of type 2 diabetes at extract_date (population._diabetes)."""
    non_western = np.isin(
        cit.origin, C.ORIGIN("immigrant_non_western", "descendant_non_western")
    )
    smi = cit.onset["smi"] < NEVER
    p2 = (
        by_age(profile.type2_prevalence_by_age, cit.age)
        * _risk(profile, "diabetes", cit.age, cit.education)
        * np.where(smi, profile.smi_rr_diabetes, 1.0)
        * np.where(non_western, profile.non_western_rr_diabetes, 1.0)
        * profile.diabetes_oversampling
    )
    result: np.ndarray = np.minimum(p2, 0.9)
    return result


def _heart_prevalence(profile: SyntheticProfile, cit: Citizens) -> np.ndarray:
    """Return the chance of heart disease at extract_date (as population._heart)."""
    smi = cit.onset["smi"] < NEVER
    p = (
        by_age(profile.heart_prevalence_by_age, cit.age)
        * _risk(profile, "heart", cit.age, cit.education)
        * np.where(smi, profile.smi_rr_heart, 1.0)
    )
    result: np.ndarray = np.minimum(p, 1.0)
    return result


def heart_onset(cit: Citizens) -> np.ndarray:
    """Return the day heart disease begins (earliest subgroup onset; NEVER = none)."""
    onset: np.ndarray = np.min(np.vstack([cit.onset[g] for g in HEART_GROUPS]), axis=0)
    return onset


def diabetes_onset(cit: Citizens) -> np.ndarray:
    """Return the day diabetes (type 1 or 2) begins (NEVER = none)."""
    onset: np.ndarray = np.minimum(cit.onset["type1"], cit.onset["type2"])
    return onset


def other_acute_rate(cit: Citizens) -> np.ndarray:
    """Acute somatic admissions per year not about diabetes (care._acute_contacts)."""
    heart = (cit.onset["ischaemic"] < NEVER) | (cit.onset["failure"] < NEVER)
    rate: np.ndarray = (
        0.02
        + 0.003 * np.maximum(cit.age - 40, 0)
        + 0.15 * (cit.onset["copd"] < NEVER)
        + 0.1 * heart
        + 0.1 * (cit.onset["cancer"] < NEVER)
    )
    return rate


def _admission_hazard(harm_hazards: np.ndarray, p_found: np.ndarray) -> np.ndarray:
    """Return the (D, Q) per-step hazard of an acute diabetes admission.

    It counts complications found at an acute admission too; ``harm_hazards`` is
    ``Harm.hazards`` (D, Q, 6).
    """
    result: np.ndarray = harm_hazards[:, :, -1] + harm_hazards[:, :, :-1] @ p_found
    return result


def smi_risk(
    profile: SyntheticProfile,
    cit: Citizens,
    te: int,
    qdays: np.ndarray,
    admission_hazard: np.ndarray,
    who: np.ndarray,
) -> np.ndarray:
    """(W, Q) true 365-day somatic risk of citizens ``who`` on each index date.

    ``admission_hazard`` is the diabetes walk's per-year admission hazard (n, Q),
    zero for citizens outside the walk. The prevalences are the chunk's (their
    education gradient is normalised over all its citizens), then read at ``who``.
    """
    p_t2 = _type2_prevalence(profile, cit)[who]
    p_heart = _heart_prevalence(profile, cit)[who]
    diabetes, heart = diabetes_onset(cit)[who], heart_onset(cit)[who]
    escape_other = np.exp(-other_acute_rate(cit)[who])
    age = cit.age[who]
    risk = np.empty((len(who), len(qdays)))
    for q, day in enumerate(qdays):
        new_t2 = np.where(
            diabetes >= day, onset_window_risk(p_t2, age, "type2", te - day), 0.0
        )
        new_heart = np.where(
            heart >= day, onset_window_risk(p_heart, age, "heart", te - day), 0.0
        )
        escape = (
            (1.0 - new_t2)
            * (1.0 - new_heart)
            * escape_other
            * np.exp(-admission_hazard[who, q])
        )
        risk[:, q] = 1.0 - escape
    return risk


def somatic_admission(diag_codes: np.ndarray, contact_types: np.ndarray) -> np.ndarray:
    """Whether each hospital contact is an acute somatic admission."""
    words = np.asarray(C.CODES.words, dtype=object)
    somatic = np.array(
        [not str(w).startswith(_NOT_SOMATIC_PREFIXES) for w in words], dtype=bool
    )
    acute: np.ndarray = (contact_types == C.CONTACT_TYPE["acute_admission"]) & somatic[
        diag_codes
    ]
    return acute


def smi_events(
    cit: Citizens,
    qdays: np.ndarray,
    contacts: dict[str, np.ndarray],
    who: np.ndarray,
) -> np.ndarray:
    """Return (W, Q): whether somatic harm began in [q, q + 365) for ``who``.

    Harm is a new diabetes or heart onset, or an acute somatic admission
    (``contacts``: care's integer table).
    """
    event = np.zeros((cit.n, len(qdays)), dtype=bool)
    diabetes, heart = diabetes_onset(cit), heart_onset(cit)
    acute = somatic_admission(contacts["diag"], contacts["ctype"])
    patient, start = contacts["cit"][acute], contacts["start"][acute]
    for q, day in enumerate(qdays):
        inside = (start >= day) & (start < day + 365)
        admitted = np.zeros(cit.n, dtype=bool)
        admitted[patient[inside]] = True
        onset = ((diabetes >= day) & (diabetes < day + 365)) | (
            (heart >= day) & (heart < day + 365)
        )
        event[:, q] = admitted | onset
    result: np.ndarray = event[who]
    return result


def smi_truth(
    profile: SyntheticProfile,
    cit: Citizens,
    te: int,
    harm_who: np.ndarray,
    harm_index_days: np.ndarray,
    harm_hazards: np.ndarray,
    contacts: dict[str, np.ndarray],
) -> SmiTruth:
    """Return the true risk and event of the chunk's SMI citizens on each index date.

    A citizen is at risk on an index date when the SMI began before it and the
    citizen is observed (alive and resident) on it; otherwise the risk is nan.
    ``harm_*`` are the diabetes walk's :class:`~synthetic_data.harm.Harm` fields
    (``who``, ``index_days``, ``hazards``); ``contacts`` the hospital contacts
    drawn by :mod:`synthetic_data.care` before any coverage cut.
    """
    from synthetic_data.care import P_FOUND_AT_ADMISSION
    from synthetic_data.population import STEP

    qdays = harm_index_days
    per_year = np.zeros((cit.n, len(qdays)))
    per_year[harm_who] = _admission_hazard(
        harm_hazards, np.asarray(P_FOUND_AT_ADMISSION)
    ) * (YEAR / STEP)
    who = np.flatnonzero(cit.onset["smi"] < NEVER)
    risk = smi_risk(profile, cit, te, qdays, per_year, who)
    event = smi_events(cit, qdays, contacts, who)
    at_risk = (cit.onset["smi"][who, None] < qdays[None, :]) & (
        cit.start[who, None] <= qdays[None, :]
    )
    at_risk &= qdays[None, :] < cit.end[who, None]
    return SmiTruth(who, qdays, np.where(at_risk, risk, np.nan), event & at_risk)
