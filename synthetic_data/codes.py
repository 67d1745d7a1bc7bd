"""Code vocabularies and care regimens: the declarative half of the generator.

:mod:`synthetic_data.population` and :mod:`synthetic_data.care` draw integer
indices into the vocabularies below; :mod:`synthetic_data.write` turns them into
the strings of the extract (SKS, ICPC-2, ATC and NPU codes, enums). Keeping every
code here means a reader can check the generator's coding against the contract
in one place. Shares and intervals marked ASSUMPTION in the datasheet live here
because they shape care patterns rather than headline figures.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

__all__ = [
    "APPOINTMENT_REGIMENS",
    "CODES",
    "CONDITION_RECORDS",
    "DRUG_REGIMENS",
    "Vocab",
]


class Vocab:
    """An ordered list of strings; values are stored as indices into it."""

    def __init__(self, words: Iterable[str]) -> None:
        self.words: tuple[str, ...] = tuple(dict.fromkeys(words))
        self.index: dict[str, int] = {w: i for i, w in enumerate(self.words)}

    def __call__(self, *words: str) -> np.ndarray:
        """Return the indices of ``words`` as an int32 array."""
        return np.array([self.index[w] for w in words], dtype=np.int32)

    def __getitem__(self, word: str) -> int:
        return self.index[word]

    def __len__(self) -> int:
        return len(self.words)


# --- enums of the contract ----------------------------------------------------

SEX = Vocab(["F", "M"])
EDUCATION = Vocab(
    [
        "basic",
        "upper_secondary",
        "vocational",
        "short_tertiary",
        "medium_tertiary",
        "long_tertiary",
        "unknown",
    ]
)
#: How far each education level sits from long tertiary (1 = basic): the
#: exponent of the education relative risks and the engagement gradient. ASSUMPTION.
EDUCATION_DISADVANTAGE = np.array([1.0, 0.5, 0.6, 0.35, 0.2, 0.0, 0.6])
ORIGIN = Vocab(
    [
        "danish",
        "immigrant_western",
        "immigrant_non_western",
        "descendant_western",
        "descendant_non_western",
        "unknown",
    ]
)
LIVING = Vocab(
    ["own_home", "supported_housing", "shelter", "prison", "nursing_home", "unknown"]
)
CODE_SYSTEM = Vocab(["SKS", "ICPC2"])
DIAG_SOURCE = Vocab(["hospital", "psychiatry", "gp"])
DIAG_TYPE = Vocab(["A", "B"])
PRESCRIBER = Vocab(["gp", "hospital", "psychiatry", "other"])
KIND = Vocab(
    [
        "diabetes_annual_control",
        "diabetes_control",
        "eye_screening",
        "foot_examination",
        "copd_control",
        "heart_outpatient",
        "psychiatric_outpatient",
        "gp_consultation",
        "rehabilitation",
    ]
)
PROVIDER = Vocab(["gp", "hospital_outpatient", "municipality", "psychiatry"])
STATUS = Vocab(
    [
        "attended",
        "no_show",
        "cancelled_by_citizen",
        "cancelled_by_provider",
        "scheduled",
    ]
)
CONTACT_TYPE = Vocab(
    ["acute_admission", "planned_admission", "emergency_department", "outpatient"]
)
UNIT = Vocab(["mmol/mol", "%", "umol/L", "mmol/L", "mg/g", "mL/min"])


# --- conditions and their records ---------------------------------------------

#: The conditions the generator tracks, each with an onset day per citizen.
CONDITIONS = (
    "type1",
    "type2",
    "copd",
    "ischaemic",
    "arrhythmia",
    "failure",
    "valve",
    "cancer",
    "back_pain",
    "smi",
    "hypertension",
)


@dataclass(frozen=True)
class Record:
    """One way a condition is written in a journal, with its relative weight."""

    system: str
    code: str
    source: str
    dtype: str | None
    weight: float


def _sks(
    code: str, weight: float, source: str = "hospital", dtype: str = "A"
) -> Record:
    return Record("SKS", code, source, dtype, weight)


def _icpc(code: str, weight: float) -> Record:
    return Record("ICPC2", code, "gp", None, weight)


#: condition -> how its records are coded (SKS in hospitals/psychiatry, ICPC-2 in
#: general practice). Codes: SKS = ICD-10 with a D prefix; ICPC-2 (WONCA).
CONDITION_RECORDS: dict[str, tuple[Record, ...]] = {
    "type1": (_icpc("T89", 0.3), _sks("DE109", 0.5), _sks("DE109", 0.2, dtype="B")),
    "type2": (_icpc("T90", 0.6), _sks("DE119", 0.2), _sks("DE119", 0.2, dtype="B")),
    "copd": (_icpc("R95", 0.5), _sks("DJ449", 0.4), _sks("DJ441", 0.1)),
    "ischaemic": (
        _icpc("K74", 0.2),
        _icpc("K76", 0.2),
        _sks("DI251", 0.4),
        _sks("DI209", 0.2),
    ),
    "arrhythmia": (_icpc("K78", 0.5), _sks("DI489", 0.5)),
    "failure": (_icpc("K77", 0.4), _sks("DI500", 0.3), _sks("DI509", 0.3)),
    "valve": (_icpc("K83", 0.4), _sks("DI350", 0.4), _sks("DI340", 0.2)),
    "back_pain": (_icpc("L03", 0.4), _icpc("L86", 0.3), _sks("DM545", 0.3)),
    "smi": (),  # coded by kind, see SMI_RECORDS
    "hypertension": (_icpc("K86", 0.8), _sks("DI109", 0.2, dtype="B")),
    "cancer": (),  # coded by site, see CANCER_SITES
}
SMI_RECORDS: tuple[tuple[Record, ...], ...] = (
    (
        _sks("DF200", 0.5, "psychiatry"),
        _sks("DF209", 0.3, "psychiatry"),
        _icpc("P72", 0.2),
    ),
    (
        _sks("DF250", 0.7, "psychiatry"),
        _sks("DF259", 0.1, "psychiatry"),
        _icpc("P72", 0.2),
    ),
    (
        _sks("DF311", 0.4, "psychiatry"),
        _sks("DF319", 0.4, "psychiatry"),
        _icpc("P73", 0.2),
    ),
)
SMI_KIND_SHARES = np.array(
    [0.45, 0.10, 0.45]
)  # schizophrenia, schizoaffective, bipolar
#: cancer site -> (SKS, ICPC-2, share of prevalent cancers). NORDCAN-shaped, approx.
CANCER_SITES = (
    ("DC509", "X76", 0.25),  # breast
    ("DC619", "Y77", 0.18),  # prostate
    ("DC189", "D75", 0.17),  # colon
    ("DC349", "R84", 0.08),  # lung
    ("DC439", "S77", 0.12),  # melanoma
    ("DC679", "U76", 0.08),  # bladder
    ("DC859", "B74", 0.12),  # lymphoma
)
CANCER_RECORDS = tuple(
    (_sks(sks, 0.7), _icpc(icpc, 0.3)) for sks, icpc, _ in CANCER_SITES
)
#: Heart disease subgroups among citizens with heart disease (several may apply).
HEART_SUBGROUP_SHARES = {
    "ischaemic": 0.55,
    "arrhythmia": 0.40,
    "failure": 0.20,
    "valve": 0.10,
}

#: Late diabetes complications: (type 2 code, type 1 code, extra code, the attended
#: visits that ascertain it when the ascertainment-bias knob is on).
_CONTROLS = ("diabetes_annual_control", "diabetes_control")
COMPLICATION_CODES: tuple[tuple[str, str, str | None, tuple[str, ...]], ...] = (
    ("DE112", "DE102", None, _CONTROLS),  # kidney: urine albumin, creatinine
    ("DE113", "DE103", "DH360", ("eye_screening",)),  # eye: fundus photography
    ("DE114", "DE104", None, ("foot_examination", "diabetes_annual_control")),  # nerve
    ("DE115", "DE105", None, (*_CONTROLS, "foot_examination")),  # circulation
    ("DE116", "DE106", "DL97", ("foot_examination", "diabetes_annual_control")),  # foot
)
#: Acute diabetes admissions: primary diagnosis (type 2, type 1) and its share.
ACUTE_DIABETES_CODES = (
    ("DE111", "DE101", 0.35),
    ("DE160", "DE160", 0.45),
    ("DE110", "DE100", 0.2),
)

#: Codes a GP writes at ordinary consultations (none of them a cohort condition,
#: except L03 acute low-back pain, which makes the 12-week rule matter).
GP_NOISE_CODES = (
    "R74",
    "R05",
    "A04",
    "S88",
    "D01",
    "U71",
    "L03",
    "L18",
    "N01",
    "P06",
    "A97",
    "R78",
    "H71",
    "F70",
    "T93",
    "K85",
    "A85",
)
ACUTE_ADMISSION_CODES = ("DJ189", "DS720", "DR074", "DN390", "DK358", "DA099", "DI639")
ED_CODES = ("DS934", "DS611", "DR104", "DT141", "DS525", "DR509", "DZ039")
PLANNED_CODES = ("DM171", "DK802", "DM161", "DH259", "DK409", "DN400")


# --- appointments -------------------------------------------------------------


@dataclass(frozen=True)
class AppointmentRegimen:
    """Booked controls for a condition: kind, provider and interval in days."""

    condition: str
    kind: str
    provider: str
    interval: int


APPOINTMENT_REGIMENS = (
    AppointmentRegimen("type2", "diabetes_annual_control", "gp", 365),
    AppointmentRegimen("type2", "diabetes_control", "gp", 122),
    AppointmentRegimen("type2", "eye_screening", "hospital_outpatient", 730),
    AppointmentRegimen("type2", "foot_examination", "municipality", 365),
    AppointmentRegimen("type1", "diabetes_annual_control", "hospital_outpatient", 365),
    AppointmentRegimen("type1", "diabetes_control", "hospital_outpatient", 122),
    AppointmentRegimen("type1", "eye_screening", "hospital_outpatient", 730),
    AppointmentRegimen("type1", "foot_examination", "hospital_outpatient", 365),
    AppointmentRegimen("copd", "copd_control", "gp", 365),
    AppointmentRegimen("ischaemic", "heart_outpatient", "hospital_outpatient", 365),
    AppointmentRegimen("failure", "heart_outpatient", "hospital_outpatient", 182),
    AppointmentRegimen("smi", "psychiatric_outpatient", "psychiatry", 61),
)
#: Appointment kinds whose attended visits are hospital outpatient contacts, with
#: the primary diagnosis recorded on the contact.
OUTPATIENT_CONTACT_CODES = {
    ("type1", "diabetes_annual_control"): "DE109",
    ("type1", "diabetes_control"): "DE109",
    ("type1", "eye_screening"): "DE109",
    ("type2", "eye_screening"): "DE119",
    ("ischaemic", "heart_outpatient"): "DI251",
    ("failure", "heart_outpatient"): "DI500",
}


# --- prescriptions ------------------------------------------------------------


@dataclass(frozen=True)
class DrugRegimen:
    """A repeat prescription for a condition: share on it, interval, supply, since."""

    condition: str
    atc: str
    share: float
    interval: int
    days_supply: int
    prescriber: str
    since: str = "1900-01-01"
    non_adherence_logit: float = 0.0


DRUG_REGIMENS = (
    DrugRegimen("type2", "A10BA02", 0.80, 91, 90, "gp"),  # metformin
    DrugRegimen("type2", "A10BH01", 0.20, 91, 90, "gp"),  # sitagliptin
    DrugRegimen("type2", "A10BB09", 0.06, 91, 90, "gp"),  # gliclazide
    DrugRegimen(
        "type2", "A10BJ06", 0.20, 91, 84, "gp", since="2019-01-01"
    ),  # semaglutide
    DrugRegimen(
        "type2", "A10BK01", 0.20, 91, 90, "gp", since="2019-01-01"
    ),  # dapagliflozin
    DrugRegimen("type2", "A10AE04", 0.15, 91, 90, "gp"),  # insulin glargine
    DrugRegimen("type2", "C10AA05", 0.70, 91, 100, "gp", non_adherence_logit=0.4),
    DrugRegimen("type2", "C09AA05", 0.50, 91, 100, "gp", non_adherence_logit=0.2),
    DrugRegimen("type1", "A10AE04", 0.65, 91, 90, "hospital"),
    DrugRegimen("type1", "A10AE05", 0.35, 91, 90, "hospital"),  # insulin detemir
    DrugRegimen("type1", "A10AB05", 0.95, 91, 90, "hospital"),  # insulin aspart
    DrugRegimen("type1", "C10AA05", 0.40, 91, 100, "gp", non_adherence_logit=0.4),
    DrugRegimen("copd", "R03AK06", 0.50, 122, 120, "gp"),
    DrugRegimen("copd", "R03BB04", 0.50, 91, 90, "gp"),
    DrugRegimen("copd", "R03AC02", 0.70, 122, 100, "gp"),
    DrugRegimen("ischaemic", "C10AA05", 0.85, 91, 100, "gp", non_adherence_logit=0.4),
    DrugRegimen("ischaemic", "B01AC06", 0.80, 182, 180, "gp"),
    DrugRegimen("ischaemic", "C07AB02", 0.60, 91, 100, "gp", non_adherence_logit=0.2),
    DrugRegimen("arrhythmia", "B01AF02", 0.85, 91, 90, "gp"),
    DrugRegimen("arrhythmia", "C07AB02", 0.60, 91, 100, "gp", non_adherence_logit=0.2),
    DrugRegimen("failure", "C03CA01", 0.70, 91, 100, "gp"),
    DrugRegimen("failure", "C09AA05", 0.70, 91, 100, "gp", non_adherence_logit=0.2),
    DrugRegimen("failure", "C07AB07", 0.70, 91, 100, "gp", non_adherence_logit=0.2),
    DrugRegimen("failure", "A10BK01", 0.40, 91, 90, "hospital", since="2021-06-01"),
    DrugRegimen("valve", "B01AC06", 0.50, 182, 180, "gp"),
    DrugRegimen(
        "hypertension", "C09AA05", 0.50, 91, 100, "gp", non_adherence_logit=0.2
    ),
    DrugRegimen(
        "hypertension", "C08CA01", 0.50, 91, 100, "gp", non_adherence_logit=0.2
    ),
    DrugRegimen(
        "hypertension", "C03AB01", 0.15, 91, 100, "gp", non_adherence_logit=0.2
    ),
    DrugRegimen("smi", "N05AH03", 0.35, 61, 60, "psychiatry", non_adherence_logit=0.5),
    DrugRegimen("smi", "N05AH04", 0.30, 61, 60, "psychiatry", non_adherence_logit=0.5),
    DrugRegimen("smi", "N05AX12", 0.30, 61, 60, "psychiatry", non_adherence_logit=0.5),
    DrugRegimen("smi", "N05AN01", 0.20, 91, 90, "psychiatry", non_adherence_logit=0.3),
    DrugRegimen("back_pain", "N02AX02", 0.30, 122, 30, "gp"),
    DrugRegimen("back_pain", "M01AE01", 0.30, 122, 30, "gp"),
    DrugRegimen("cancer", "L02BG04", 0.12, 91, 90, "hospital"),  # letrozole
    DrugRegimen("glp1_obesity", "A10BJ06", 1.0, 91, 84, "gp", since="2023-01-01"),
    DrugRegimen("pcos", "A10BA02", 1.0, 91, 90, "gp"),
)
#: Short courses written at an attended GP consultation.
ACUTE_DRUGS = (
    ("J01CE02", 7),
    ("J01CA04", 7),
    ("N02BE01", 30),
    ("M01AE01", 14),
    ("A02BC05", 28),
    ("D07AC01", 30),
    ("R06AE07", 30),
    ("N05CF01", 10),
    ("J01XE01", 5),
    ("R05DA04", 7),
)
GDM_DRUGS = ("A10AC01", "A10AB05")  # NPH and aspart insulin in gestational diabetes


# --- laboratory ---------------------------------------------------------------

HBA1C = "NPU27300"  # HbA1c (IFCC), mmol/mol
HBA1C_DCCT = "NPU03835"  # HbA1c (DCCT), %
#: Other analyses carried by the extract: code, unit, mean, SD. Plausible NPU
#: codes for the analyses named; the engine only has to carry them.
OTHER_LABS = (
    ("NPU18016", "umol/L", 80.0, 15.0),  # P-creatinine
    ("NPU01566", "mmol/L", 5.2, 0.9),  # P-cholesterol
    ("NPU01568", "mmol/L", 2.9, 0.8),  # P-cholesterol LDL
    ("NPU02319", "mmol/L", 8.7, 0.7),  # B-haemoglobin
    ("NPU19661", "mg/g", 12.0, 8.0),  # U-albumin/creatinine
)

#: Pregnancy codes: birth (primary of the admission) and gestational diabetes.
BIRTH_CODE = "DO800"
GDM_CODE = "DO244"
PCOS_CODE = "DE282"
OBESITY_CODE = "T82"
SKIN_CANCER_CODE = "DC449"  # non-melanoma skin cancer: excluded by cancer rules

# --- the drivers of a world (synthetic_data.drivers) ----------------------------

CREATININE = "NPU18016"  # P-creatinine, umol/L (as in OTHER_LABS)
ALBUMIN_CREATININE = "NPU19661"  # U-albumin/creatinine, mg/g (as in OTHER_LABS)
#: eGFR per 1.73 m2, mL/min: a plausible NPU-shaped code, NOT verified against the
#: NPU terminology (Danish labs also use the local code DNK35302).
EGFR = "NPU19923"
#: Marker drugs of a world's latent burden: ATC, share on it (adults 40+, at
#: average burden), days of supply, type 2 diabetics only. ASSUMPTION.
MARKER_DRUGS = (
    ("C03CA01", 0.04, 100, False),  # furosemide (loop diuretic)
    ("H02AB06", 0.03, 30, False),  # prednisolone (oral corticosteroid)
    ("N02AA05", 0.03, 30, False),  # oxycodone (opioid)
    ("A10AB05", 0.10, 90, True),  # insulin aspart in type 2 (intensified insulin)
)
#: Primary diagnoses of psychiatric admissions of citizens without severe mental
#: illness (depression, alcohol dependence, acute stress); with it, their SMI code.
PSYCH_ADMISSION_CODES = ("DF322", "DF102", "DF432")


def _all_codes() -> list[str]:
    """Every code string the generator can write, in a fixed order."""
    codes = [r.code for recs in CONDITION_RECORDS.values() for r in recs]
    codes += [r.code for recs in SMI_RECORDS for r in recs]
    codes += [c for site in CANCER_SITES for c in site[:2]]
    codes += [c for row in COMPLICATION_CODES for c in row[:3] if c is not None]
    codes += [c for row in ACUTE_DIABETES_CODES for c in row[:2]]
    codes += list(GP_NOISE_CODES + ACUTE_ADMISSION_CODES + ED_CODES + PLANNED_CODES)
    codes += (
        [d.atc for d in DRUG_REGIMENS] + [a for a, _ in ACUTE_DRUGS] + list(GDM_DRUGS)
    )
    codes += [HBA1C, HBA1C_DCCT] + [row[0] for row in OTHER_LABS]
    codes += list(OUTPATIENT_CONTACT_CODES.values())
    codes += [BIRTH_CODE, GDM_CODE, PCOS_CODE, OBESITY_CODE, SKIN_CANCER_CODE]
    return codes + [EGFR] + [m[0] for m in MARKER_DRUGS] + list(PSYCH_ADMISSION_CODES)


#: One vocabulary for every code column (diagnoses, ATC, NPU, contact diagnoses).
CODES = Vocab(_all_codes())
