"""The journal-extract contract (version 1) as data, plus its Python-side checks.

This module sits at the very start of the data flow: an extract folder arrives,
:mod:`features.load` generates its DuckDB checks from :data:`TABLES` (one
declaration per table) and loads ``raw.*``. The same declarations feed the
pandera models used at Python boundaries, the CPR-shape check and the
``extract.json`` check, so the contract is written down exactly once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal, cast

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from features.errors import ExtractProblem

__all__ = [
    "CONTRACT_VERSION",
    "CPR_PATTERN",
    "Appointments",
    "Citizens",
    "Column",
    "Diagnoses",
    "ExtractInfo",
    "HospitalContacts",
    "LabResults",
    "LogicalType",
    "OrderRule",
    "PANDERA_MODELS",
    "Prescriptions",
    "TABLES",
    "TableContract",
    "check_extract_info",
    "holds_cpr",
    "looks_like_cpr",
    "mask_cpr",
    "read_extract_info",
]

CONTRACT_VERSION = "journal-extract/1"
EXTRACT_JSON = "extract.json"
LogicalType = Literal["string", "date", "integer", "number", "boolean"]

# DDMMYY-XXXX with a day 01-31 and a month 01-12, or exactly ten digits.
CPR_PATTERN = r"^((0[1-9]|[12][0-9]|3[01])(0[1-9]|1[0-2])[0-9]{2}-[0-9]{4}|[0-9]{10})$"
_CPR = re.compile(CPR_PATTERN)
# The same shape anywhere in free text, not glued to other digits.
_CPR_IN_TEXT = re.compile(rf"(?<![0-9]){CPR_PATTERN[1:-1]}(?![0-9])")
_SPACED_CPR = re.compile(r"(?<![0-9])([0-9]{6})[ ./]([0-9]{4})(?![0-9])")
_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
# After normalisation (upper case, no dots, no spaces) a code is letters and digits.
CODE_PATTERN = r"^[A-Z0-9]+$"

NO_EXTRACT_JSON = (
    "extract.json: the file is missing; an extract must start with extract.json."
)
BAD_EXTRACT_JSON = "extract.json: the file is not a JSON object ({error})."
WRONG_CONTRACT = (
    "extract.json: contract {got!r} is not supported; expected {expected!r}."
)
BAD_EXTRACT_DATE = "extract.json: extract_date {got!r} is not an ISO date (YYYY-MM-DD)."
BAD_SOURCE = "extract.json: source {got!r} must be a string."


@dataclass(frozen=True)
class Column:
    """One contract column: its type, nullability and the rules its values follow.

    ``enum`` values are exact (anything else refuses the extract); ``code``
    columns are normalised (upper case, no dots or spaces) before ``pattern`` is
    checked; ``not_after_extract`` dates must be on or before ``extract_date``;
    ``positive`` integers must be > 0; ``pseudonymous`` ids must not look like CPR.
    """

    name: str
    type: LogicalType = "string"
    nullable: bool = False
    enum: tuple[str, ...] | None = None
    code: bool = False
    pattern: str | None = None
    not_after_extract: bool = False
    positive: bool = False
    pseudonymous: bool = False


@dataclass(frozen=True)
class OrderRule:
    """``later`` must not be before ``earlier`` (when both are present)."""

    reason: str
    earlier: str
    later: str


@dataclass(frozen=True)
class TableContract:
    """One contract table: columns, unique key, ordering rules, future-dated exception.

    ``future_when`` = (column, value): rows with that value must be dated AFTER
    ``extract_date`` (appointments with status ``scheduled``) and are exempt from
    ``not_after_extract``.
    """

    name: str
    columns: tuple[Column, ...]
    key: str | None = None
    order_rules: tuple[OrderRule, ...] = ()
    future_when: tuple[str, str] | None = None
    references_citizens: bool = True

    @property
    def column_names(self) -> tuple[str, ...]:
        """The contract column names in declaration order."""
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        """Return the declaration of one column."""
        return next(c for c in self.columns if c.name == name)


SEXES = ("F", "M")
EDUCATION_LEVELS = (
    "basic", "upper_secondary", "vocational", "short_tertiary",
    "medium_tertiary", "long_tertiary", "unknown",
)  # fmt: skip
ORIGINS = (
    "danish", "immigrant_western", "immigrant_non_western",
    "descendant_western", "descendant_non_western", "unknown",
)  # fmt: skip
LIVING_SITUATIONS = (
    "own_home", "supported_housing", "shelter", "prison", "nursing_home", "unknown",
)  # fmt: skip
CODE_SYSTEMS = ("SKS", "ICPC2")
DIAGNOSIS_SOURCES = ("hospital", "psychiatry", "gp")
DIAGNOSIS_TYPES = ("A", "B")
PRESCRIBER_TYPES = ("gp", "hospital", "psychiatry", "other")
APPOINTMENT_KINDS = (
    "diabetes_annual_control", "diabetes_control", "eye_screening",
    "foot_examination", "copd_control", "heart_outpatient",
    "psychiatric_outpatient", "gp_consultation", "rehabilitation",
)  # fmt: skip
PROVIDER_TYPES = ("gp", "hospital_outpatient", "municipality", "psychiatry")
APPOINTMENT_STATUSES = (
    "attended", "no_show", "cancelled_by_citizen", "cancelled_by_provider", "scheduled",
)  # fmt: skip
CONTACT_TYPES = (
    "acute_admission", "planned_admission", "emergency_department", "outpatient",
)  # fmt: skip

_CITIZEN_REF = Column("citizen_id", pseudonymous=True)

TABLES: dict[str, TableContract] = {
    t.name: t
    for t in (
        TableContract(
            "citizens",
            (
                _CITIZEN_REF,
                Column("birth_date", "date", not_after_extract=True),
                Column("sex", enum=SEXES),
                Column("municipality_code", pattern=r"^[0-9]{3}$"),
                Column("education_level", enum=EDUCATION_LEVELS),
                Column("origin", enum=ORIGINS),
                Column("living_situation", enum=LIVING_SITUATIONS),
                Column("gp_clinic_id", nullable=True),
                Column("preferred_language", nullable=True),
                Column("death_date", "date", nullable=True, not_after_extract=True),
                Column(
                    "emigration_date", "date", nullable=True, not_after_extract=True
                ),
                Column("outreach_opt_out", "boolean"),
            ),
            key="citizen_id",
            references_citizens=False,
        ),
        TableContract(
            "diagnoses",
            (
                _CITIZEN_REF,
                Column("diagnosis_date", "date", not_after_extract=True),
                Column("code_system", enum=CODE_SYSTEMS),
                Column("code", code=True, pattern=CODE_PATTERN),
                Column("source", enum=DIAGNOSIS_SOURCES),
                Column("diagnosis_type", nullable=True, enum=DIAGNOSIS_TYPES),
            ),
        ),
        TableContract(
            "prescriptions",
            (
                Column("prescription_id"),
                _CITIZEN_REF,
                Column("atc_code", code=True, pattern=CODE_PATTERN),
                Column("issued_date", "date", not_after_extract=True),
                Column("days_supply", "integer", positive=True),
                Column("redeemed_date", "date", nullable=True, not_after_extract=True),
                Column("prescriber_type", enum=PRESCRIBER_TYPES),
            ),
            key="prescription_id",
            order_rules=(
                OrderRule("redeemed_before_issued", "issued_date", "redeemed_date"),
            ),
        ),
        TableContract(
            "appointments",
            (
                Column("appointment_id"),
                _CITIZEN_REF,
                Column("scheduled_date", "date", not_after_extract=True),
                Column("kind", enum=APPOINTMENT_KINDS),
                Column("provider_type", enum=PROVIDER_TYPES),
                Column("status", enum=APPOINTMENT_STATUSES),
            ),
            key="appointment_id",
            future_when=("status", "scheduled"),
        ),
        TableContract(
            "lab_results",
            (
                _CITIZEN_REF,
                Column("sample_date", "date", not_after_extract=True),
                Column("npu_code", code=True, pattern=CODE_PATTERN),
                Column("value", "number"),
                Column("unit"),
            ),
        ),
        TableContract(
            "hospital_contacts",
            (
                Column("contact_id"),
                _CITIZEN_REF,
                Column("start_date", "date", not_after_extract=True),
                Column("end_date", "date", nullable=True, not_after_extract=True),
                Column("contact_type", enum=CONTACT_TYPES),
                Column(
                    "primary_diagnosis", nullable=True, code=True, pattern=CODE_PATTERN
                ),
            ),
            key="contact_id",
            order_rules=(OrderRule("end_before_start", "start_date", "end_date"),),
        ),
    )
}


def looks_like_cpr(value: object) -> bool:
    """Tell whether a value has the shape of a Danish CPR number.

    Parameters
    ----------
    value : object
        Any value; it is compared as stripped text.

    Returns
    -------
    bool
        True for ``DDMMYY-XXXX`` with a valid-looking day and month, or exactly
        ten digits.
    """
    return value is not None and bool(_CPR.match(str(value).strip()))


def holds_cpr(text: object) -> bool:
    """Tell whether free text (a note) holds a CPR-shaped number anywhere.

    Parameters
    ----------
    text : object
        Any value; compared as text. ``DDMMYY XXXX`` written with a space, dot
        or slash counts like ``DDMMYY-XXXX``.

    Returns
    -------
    bool
        True when some part of the text has the shape :func:`looks_like_cpr`
        accepts.
    """
    if text is None:
        return False
    return bool(_CPR_IN_TEXT.search(_SPACED_CPR.sub(r"\1-\2", str(text))))


def mask_cpr(value: str) -> str:
    """Hide the last four (serial) digits of a CPR-shaped value: ``010190-****``."""
    return value[:-4] + "****" if len(value) >= 4 else "****"


@dataclass(frozen=True)
class ExtractInfo:
    """The contents of a valid ``extract.json``."""

    contract: str
    extract_date: date
    source: str | None


def check_extract_info(doc: object) -> tuple[ExtractInfo | None, list[ExtractProblem]]:
    """Check a parsed ``extract.json`` document against the contract.

    Parameters
    ----------
    doc : object
        The parsed JSON document.

    Returns
    -------
    tuple of (ExtractInfo or None, list of ExtractProblem)
        The info when it is valid, else ``None`` and one problem per fault.
    """
    if not isinstance(doc, Mapping):
        error = f"found {type(doc).__name__}"
        return None, [_info_problem(None, BAD_EXTRACT_JSON.format(error=error), [])]
    problems: list[ExtractProblem] = []
    contract, raw_date, source = (
        doc.get("contract"),
        doc.get("extract_date"),
        doc.get("source"),
    )
    if contract != CONTRACT_VERSION:
        message = WRONG_CONTRACT.format(got=contract, expected=CONTRACT_VERSION)
        problems.append(_info_problem("contract", message, [contract]))
    extract_date = _iso_date(raw_date)
    if extract_date is None:
        problems.append(
            _info_problem(
                "extract_date", BAD_EXTRACT_DATE.format(got=raw_date), [raw_date]
            )
        )
    if source is not None and not isinstance(source, str):
        problems.append(
            _info_problem("source", BAD_SOURCE.format(got=source), [source])
        )
    if problems or extract_date is None:
        return None, problems
    return ExtractInfo(CONTRACT_VERSION, extract_date, source), []


def read_extract_info(
    extract_dir: Path,
) -> tuple[ExtractInfo | None, list[ExtractProblem]]:
    """Read and check ``<extract_dir>/extract.json``.

    Parameters
    ----------
    extract_dir : Path
        The extract folder.

    Returns
    -------
    tuple of (ExtractInfo or None, list of ExtractProblem)
        As :func:`check_extract_info`; a missing or unparseable file is a problem.
    """
    path = extract_dir / EXTRACT_JSON
    if not path.is_file():
        return None, [_info_problem(None, NO_EXTRACT_JSON, [])]
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        return None, [_info_problem(None, BAD_EXTRACT_JSON.format(error=error), [])]
    return check_extract_info(doc)


def _iso_date(value: object) -> date | None:
    """Parse a strict ``YYYY-MM-DD`` string, else None."""
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _info_problem(
    column: str | None, message: str, examples: list[Any]
) -> ExtractProblem:
    """One extract.json problem."""
    return ExtractProblem(EXTRACT_JSON, column, 1, tuple(examples), message)


# --- pandera models (Python boundaries) -------------------------------------
# Loaded raw.* tables read into pandas (DuckDB DATE -> datetime64) validate
# against these; enum sets come from the declarations above.


def _enum(table: str, column: str, **kwargs: Any) -> Any:
    """Return a pandera Field restricted to the contract's enum values."""
    values = TABLES[table].column(column).enum or ()
    return pa.Field(isin=list(values), **kwargs)


class _Model(pa.DataFrameModel):
    class Config:
        coerce = True
        strict = False


class Citizens(_Model):
    """raw.citizens: one row per citizen."""

    citizen_id: Series[str] = pa.Field(unique=True)
    birth_date: Series[pd.Timestamp]
    sex: Series[str] = _enum("citizens", "sex")
    municipality_code: Series[str] = pa.Field(str_matches=r"^[0-9]{3}$")
    education_level: Series[str] = _enum("citizens", "education_level")
    origin: Series[str] = _enum("citizens", "origin")
    living_situation: Series[str] = _enum("citizens", "living_situation")
    gp_clinic_id: Series[str] = pa.Field(nullable=True)
    preferred_language: Series[str] = pa.Field(nullable=True)
    death_date: Series[pd.Timestamp] = pa.Field(nullable=True)
    emigration_date: Series[pd.Timestamp] = pa.Field(nullable=True)
    outreach_opt_out: Series[bool]

    @pa.check("citizen_id", name="not_cpr_shaped")
    def _not_cpr_shaped(cls, ids: Series[str]) -> Series[bool]:
        """No id may look like a CPR number."""
        shaped = ids.map(looks_like_cpr).astype(bool)
        return cast("Series[bool]", ~shaped)


class Diagnoses(_Model):
    """raw.diagnoses: one row per recorded diagnosis."""

    citizen_id: Series[str]
    diagnosis_date: Series[pd.Timestamp]
    code_system: Series[str] = _enum("diagnoses", "code_system")
    code: Series[str] = pa.Field(str_matches=CODE_PATTERN)
    source: Series[str] = _enum("diagnoses", "source")
    diagnosis_type: Series[str] = _enum("diagnoses", "diagnosis_type", nullable=True)


class Prescriptions(_Model):
    """raw.prescriptions: one row per issued prescription."""

    prescription_id: Series[str] = pa.Field(unique=True)
    citizen_id: Series[str]
    atc_code: Series[str] = pa.Field(str_matches=CODE_PATTERN)
    issued_date: Series[pd.Timestamp]
    days_supply: Series[int] = pa.Field(gt=0)
    redeemed_date: Series[pd.Timestamp] = pa.Field(nullable=True)
    prescriber_type: Series[str] = _enum("prescriptions", "prescriber_type")


class Appointments(_Model):
    """raw.appointments: one row per booked control or consultation."""

    appointment_id: Series[str] = pa.Field(unique=True)
    citizen_id: Series[str]
    scheduled_date: Series[pd.Timestamp]
    kind: Series[str] = _enum("appointments", "kind")
    provider_type: Series[str] = _enum("appointments", "provider_type")
    status: Series[str] = _enum("appointments", "status")


class LabResults(_Model):
    """raw.lab_results: one row per analysed sample."""

    citizen_id: Series[str]
    sample_date: Series[pd.Timestamp]
    npu_code: Series[str] = pa.Field(str_matches=CODE_PATTERN)
    value: Series[float]
    unit: Series[str]


class HospitalContacts(_Model):
    """raw.hospital_contacts: one row per hospital contact."""

    contact_id: Series[str] = pa.Field(unique=True)
    citizen_id: Series[str]
    start_date: Series[pd.Timestamp]
    end_date: Series[pd.Timestamp] = pa.Field(nullable=True)
    contact_type: Series[str] = _enum("hospital_contacts", "contact_type")
    primary_diagnosis: Series[str] = pa.Field(nullable=True, str_matches=CODE_PATTERN)


PANDERA_MODELS: dict[str, type[pa.DataFrameModel]] = {
    "citizens": Citizens,
    "diagnoses": Diagnoses,
    "prescriptions": Prescriptions,
    "appointments": Appointments,
    "lab_results": LabResults,
    "hospital_contacts": HospitalContacts,
}
