"""Fixtures for features tests: a tiny valid journal extract built in code.

``tiny_extract`` is ~20 citizens with a few events each, written as CSV and as
Parquet into tmp_path. ``tiny_extract.builder()`` returns an editable copy of its
rows so a test can inject faults (change cells, add rows, drop columns or
tables, change extract.json) and write its own variant.
"""

from __future__ import annotations

import copy
import csv
import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

EXTRACT_DATE = date(2026, 11, 23)
N_CITIZENS = 20
COLUMNS: dict[str, list[str]] = {
    "citizens": [
        "citizen_id", "birth_date", "sex", "municipality_code", "education_level",
        "origin", "living_situation", "gp_clinic_id", "preferred_language",
        "death_date", "emigration_date", "outreach_opt_out",
    ],
    "diagnoses": [
        "citizen_id", "diagnosis_date", "code_system", "code", "source",
        "diagnosis_type",
    ],
    "prescriptions": [
        "prescription_id", "citizen_id", "atc_code", "issued_date", "days_supply",
        "redeemed_date", "prescriber_type",
    ],
    "appointments": [
        "appointment_id", "citizen_id", "scheduled_date", "kind", "provider_type",
        "status",
    ],
    "lab_results": ["citizen_id", "sample_date", "npu_code", "value", "unit"],
    "hospital_contacts": [
        "contact_id", "citizen_id", "start_date", "end_date", "contact_type",
        "primary_diagnosis",
    ],
}  # fmt: skip


def _cid(i: int) -> str:
    return f"c{i:04d}"


def _citizens() -> list[dict[str, Any]]:
    educations = ["basic", "upper_secondary", "vocational", "short_tertiary", "unknown"]
    origins = ["danish", "immigrant_western", "immigrant_non_western", "unknown"]
    rows = []
    for i in range(1, N_CITIZENS + 1):
        rows.append(
            {
                "citizen_id": _cid(i),
                "birth_date": date(1940 + i * 2, 1 + i % 12, 1 + i % 27),
                "sex": "F" if i % 2 else "M",
                "municipality_code": ["390", "376", "360", "101"][i % 4],
                "education_level": educations[i % len(educations)],
                "origin": origins[i % len(origins)],
                "living_situation": "own_home" if i % 7 else "supported_housing",
                "gp_clinic_id": None if i % 9 == 0 else f"gp{i % 3}",
                "preferred_language": "da" if i % 5 else None,
                "death_date": date(2025, 3, 1) if i == 19 else None,
                "emigration_date": date(2024, 6, 1) if i == 20 else None,
                "outreach_opt_out": i == 17,
            }
        )
    return rows


def _events() -> dict[str, list[dict[str, Any]]]:
    diagnoses, prescriptions, appointments, labs, contacts = [], [], [], [], []
    for i in range(1, N_CITIZENS + 1):
        cid, day = _cid(i), EXTRACT_DATE - timedelta(days=30 * i)
        diagnoses.append(
            {"citizen_id": cid, "diagnosis_date": day, "code_system": "SKS",
             "code": "DE119", "source": "hospital", "diagnosis_type": "A"}
        )  # fmt: skip
        if i % 2 == 0:
            diagnoses.append(
                {"citizen_id": cid, "diagnosis_date": day - timedelta(days=5),
                 "code_system": "ICPC2", "code": "T90", "source": "gp",
                 "diagnosis_type": None}
            )  # fmt: skip
        prescriptions.append(
            {"prescription_id": f"p{i:04d}", "citizen_id": cid, "atc_code": "A10BA02",
             "issued_date": day, "days_supply": 90,
             "redeemed_date": day + timedelta(days=3) if i % 3 else None,
             "prescriber_type": "gp"}
        )  # fmt: skip
        appointments.append(
            {"appointment_id": f"a{i:04d}", "citizen_id": cid, "scheduled_date": day,
             "kind": "diabetes_annual_control", "provider_type": "gp",
             "status": "attended" if i % 4 else "no_show"}
        )  # fmt: skip
        labs.append(
            {"citizen_id": cid, "sample_date": day, "npu_code": "NPU27300",
             "value": 40.0 + i, "unit": "mmol/mol"}
        )  # fmt: skip
        if i % 4 == 0:
            contacts.append(
                {"contact_id": f"h{i:04d}", "citizen_id": cid, "start_date": day,
                 "end_date": day + timedelta(days=2) if i != 20 else None,
                 "contact_type": "acute_admission", "primary_diagnosis": "DJ449"}
            )  # fmt: skip
    appointments.append(
        {"appointment_id": "a9000", "citizen_id": _cid(1),
         "scheduled_date": EXTRACT_DATE + timedelta(days=14),
         "kind": "eye_screening", "provider_type": "hospital_outpatient",
         "status": "scheduled"}
    )  # fmt: skip
    return {
        "diagnoses": diagnoses,
        "prescriptions": prescriptions,
        "appointments": appointments,
        "lab_results": labs,
        "hospital_contacts": contacts,
    }


def tiny_tables() -> dict[str, list[dict[str, Any]]]:
    """The valid tiny extract as rows of Python values, one list per table."""
    return {"citizens": _citizens(), **_events()}


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _arrow_column(values: list[Any]) -> pa.Array:
    """Typed when the values allow it, else strings (a faulty column stays text)."""
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array(
            [None if v is None else _csv_cell(v) for v in values], pa.string()
        )


@dataclass
class ExtractBuilder:
    """An editable extract (rows, column order, extract.json) that writes folders."""

    root: Path
    tables: dict[str, list[dict[str, Any]]]
    columns: dict[str, list[str]] = field(
        default_factory=lambda: copy.deepcopy(COLUMNS)
    )
    info: dict[str, Any] = field(
        default_factory=lambda: {
            "contract": "journal-extract/1",
            "extract_date": EXTRACT_DATE.isoformat(),
            "source": "tiny-test-region",
        }
    )

    def set(self, table: str, index: int, **values: Any) -> ExtractBuilder:
        """Change cells of one row (0-based index into the table's rows)."""
        self.tables[table][index].update(values)
        return self

    def add(self, table: str, **values: Any) -> ExtractBuilder:
        """Append a row: a copy of the table's first row with ``values`` changed."""
        self.tables[table].append({**self.tables[table][0], **values})
        return self

    def drop_column(self, table: str, column: str) -> ExtractBuilder:
        self.columns[table].remove(column)
        return self

    def add_column(self, table: str, column: str, value: Any = "x") -> ExtractBuilder:
        self.columns[table].append(column)
        for row in self.tables[table]:
            row[column] = value
        return self

    def drop_table(self, table: str) -> ExtractBuilder:
        del self.tables[table]
        return self

    def write(self, name: str, fmt: str = "csv") -> Path:
        """Write the extract to ``root/name`` as CSV or Parquet; return the folder."""
        folder = self.root / name
        folder.mkdir(parents=True, exist_ok=False)
        (folder / "extract.json").write_text(json.dumps(self.info), encoding="utf-8")
        for table, rows in self.tables.items():
            columns = self.columns[table]
            if fmt == "csv":
                with (folder / f"{table}.csv").open(
                    "w", newline="", encoding="utf-8"
                ) as f:
                    writer = csv.writer(f, lineterminator="\n")
                    writer.writerow(columns)
                    writer.writerows(
                        [[_csv_cell(r.get(c)) for c in columns] for r in rows]
                    )
            else:
                data = {c: _arrow_column([r.get(c) for r in rows]) for c in columns}
                pq.write_table(pa.table(data), folder / f"{table}.parquet")
        return folder


@dataclass
class TinyExtract:
    """The valid tiny extract as CSV and Parquet, plus a builder for variants."""

    root: Path
    csv: Path
    parquet: Path

    def builder(self) -> ExtractBuilder:
        """A fresh, editable copy of the valid extract (writes under the same root)."""
        return ExtractBuilder(self.root, tiny_tables())


@pytest.fixture
def tiny_extract(tmp_path: Path) -> TinyExtract:
    """~20 citizens with events, valid against contract v1, as CSV and Parquet."""
    root = tmp_path / "extracts"
    builder = ExtractBuilder(root, tiny_tables())
    return TinyExtract(
        root, builder.write("tiny_csv", "csv"), builder.write("tiny_parquet", "parquet")
    )
