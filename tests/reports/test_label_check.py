"""The label check's counts: reports/sql/audit_ascertainment.sql on hand-made rows.

Given scores, diagnoses, hospital contacts and coverage, the SQL returns per
scored citizen and complication group the new complications first recorded at
attended care and at an acute admission; :mod:`reports.frame` pivots them into
the audit frame's ``n_found_at_care__<group>`` / ``n_found_at_admission__<group>``.
"""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd
import pytest

from features.build import create_macros
from reports.frame import AuditScope, _with_label_counts, run_report_sql

AS_OF = date(2026, 1, 1)
URI = "models:/m/1"

DIAGNOSES = [
    # A: kidney first recorded in hospital on the day an acute admission began
    ("A", "2021-05-10", "DE112", "hospital"),
    # A: nerve found by the GP -> at care
    ("A", "2022-01-01", "DE114", "gp"),
    # A: circulation first recorded inside the washout -> not new
    ("A", "2020-04-01", "DE115", "hospital"),
    ("A", "2023-04-01", "DE115", "hospital"),
    # A: foot first recorded after the as-of date -> not counted
    ("A", "2026-02-01", "DE116", "hospital"),
    # B: eye recorded during a planned admission -> at care (not acute)
    ("B", "2022-03-03", "DE113", "hospital"),
    # B: kidney recorded inside an acute admission for something else -> at care
    ("B", "2024-01-01", "DE102", "hospital"),
    # B: foot recorded before B was a known diabetic -> not counted
    ("B", "2020-12-01", "DE106", "hospital"),
    # C is not scored
    ("C", "2022-01-01", "DE112", "gp"),
]
CONTACTS = [
    ("A", "acute_admission", "DE112", "2021-05-10", "2021-05-14"),
    ("B", "planned_admission", "DZ000", "2022-03-01", "2022-03-05"),
    ("B", "acute_admission", "DE100", "2023-12-30", "2024-01-02"),
    # B: nerve known only as an acute admission's primary diagnosis
    ("B", "acute_admission", "DE104", "2023-05-05", None),
]


@pytest.fixture
def warehouse(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """Scores of A and B, entry dates, diagnoses, contacts; coverage from 2020-03."""
    create_macros(con)
    for schema in ("raw", "scoring", "marts"):
        con.execute(f"create schema {schema}")
    scores = pd.DataFrame(
        {"citizen_id": ["A", "B"], "as_of_date": AS_OF, "model_uri": URI}
    )
    entry = pd.DataFrame(
        {
            "citizen_id": ["A", "B", "C"],
            "as_of_date": AS_OF,
            "diabetes_entry_date": [date(2020, 1, 1), date(2021, 1, 1), None],
        }
    )
    diagnoses = pd.DataFrame(
        DIAGNOSES, columns=["citizen_id", "diagnosis_date", "code", "source"]
    ).assign(
        code_system="SKS",
        diagnosis_date=lambda d: pd.to_datetime(d["diagnosis_date"]).dt.date,
    )
    contacts = pd.DataFrame(
        CONTACTS,
        columns=[
            "citizen_id",
            "contact_type",
            "primary_diagnosis",
            "start_date",
            "end_date",
        ],
    )
    for col in ("start_date", "end_date"):
        contacts[col] = pd.to_datetime(contacts[col]).dt.date
    coverage = pd.DataFrame(
        {
            "table_name": ["diagnoses", "hospital_contacts", "lab_results"],
            "coverage_from": [date(2020, 1, 1), date(2020, 3, 1), date(2010, 1, 1)],
        }
    )
    for name, frame in [
        ("scoring.scores", scores),
        ("raw.diagnoses", diagnoses),
        ("raw.hospital_contacts", contacts),
        ("raw.coverage", coverage),
        ("marts.scoring_features", entry),
    ]:
        con.register("given", frame)
        con.execute(f"create table {name} as select * from given")
        con.unregister("given")
    return con


def test_audit_ascertainment_counts_new_complications_by_where_first_recorded(
    warehouse,
) -> None:
    rows = run_report_sql(
        warehouse,
        "audit_ascertainment",
        model_uri=URI,
        as_of_date=AS_OF,
        washout_days=100,
    )
    got = {
        (r.citizen_id, r.complication_group): (
            r.n_found_at_care,
            r.n_found_at_admission,
        )
        for r in rows.itertuples()
    }
    assert got == {
        ("A", "kidney"): (0, 1),
        ("A", "nerve"): (1, 0),
        ("B", "eye"): (1, 0),
        ("B", "kidney"): (1, 0),
        ("B", "nerve"): (0, 1),
    }


def test_audit_ascertainment_washout_counts_from_the_later_coverage_start(
    warehouse,
) -> None:
    # 2021-05-10 is 495 days after the diagnoses' start but 435 after the
    # contacts': with a washout of 450 days it is not new.
    rows = run_report_sql(
        warehouse,
        "audit_ascertainment",
        model_uri=URI,
        as_of_date=AS_OF,
        washout_days=450,
    )
    found = set(zip(rows.citizen_id, rows.complication_group, strict=True))
    assert ("A", "kidney") not in found
    assert ("A", "nerve") in found


def test_label_counts_are_pivoted_into_the_frame_with_zeros(warehouse) -> None:
    frame = pd.DataFrame({"citizen_id": ["B", "A", "D"], "age_band": "60-74"})
    scope = AuditScope(URI, AS_OF)
    out = _with_label_counts(warehouse, frame, scope, washout_days=100)
    assert out["citizen_id"].tolist() == ["B", "A", "D"]
    assert out["n_found_at_admission__kidney"].tolist() == [0, 1, 0]
    assert out["n_found_at_care__kidney"].tolist() == [1, 0, 0]
    assert out["n_found_at_care__nerve"].tolist() == [0, 1, 0]
    assert out["n_found_at_care__eye"].tolist() == [1, 0, 0]
    assert out["n_found_at_admission__eye"].tolist() == [0, 0, 0]
