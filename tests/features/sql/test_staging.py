"""Given raw rows, expect staging rows: thin typed views over the contract tables."""

from __future__ import annotations

from datetime import date

T = date(2024, 6, 1)


def test_stg_citizens_keeps_contract_columns_and_lowers_language(
    make_raw, build, con, rows_of
):
    make_raw(
        {
            "citizens": [
                {"citizen_id": "c1", "preferred_language": "AR", "gp_clinic_id": None},
                {"citizen_id": "c2", "death_date": date(2020, 1, 1)},
            ]
        }
    )
    con.execute("alter table raw.citizens add column extra_note varchar")
    build([T])
    columns = [
        d[0] for d in con.execute("select * from staging.stg_citizens").description
    ]
    assert "extra_note" not in columns
    assert rows_of(
        "staging.stg_citizens",
        ["citizen_id", "preferred_language", "gp_clinic_id", "death_date"],
    ) == [
        {
            "citizen_id": "c1",
            "preferred_language": "ar",
            "gp_clinic_id": None,
            "death_date": None,
        },
        {
            "citizen_id": "c2",
            "preferred_language": "da",
            "gp_clinic_id": "gp1",
            "death_date": date(2020, 1, 1),
        },
    ]


def test_stg_prescriptions_passes_rows_through_typed(make_raw, build, rows_of):
    make_raw(
        {
            "citizens": [{"citizen_id": "c1"}],
            "prescriptions": [
                {
                    "prescription_id": "p1",
                    "citizen_id": "c1",
                    "atc_code": "A10BA02",
                    "issued_date": date(2024, 1, 2),
                    "days_supply": 100,
                    "redeemed_date": None,
                    "prescriber_type": "hospital",
                }
            ],
        }
    )
    build([T])
    assert rows_of(
        "staging.stg_prescriptions",
        ["prescription_id", "atc_code", "issued_date", "days_supply", "redeemed_date"],
    ) == [
        {
            "prescription_id": "p1",
            "atc_code": "A10BA02",
            "issued_date": date(2024, 1, 2),
            "days_supply": 100,
            "redeemed_date": None,
        }
    ]


def test_stg_appointments_and_contacts_keep_future_rows_for_later_filters(
    make_raw, build, rows_of
):
    make_raw(
        {
            "citizens": [{"citizen_id": "c1"}],
            "appointments": [
                {
                    "citizen_id": "c1",
                    "scheduled_date": date(2027, 1, 5),
                    "kind": "eye_screening",
                    "status": "scheduled",
                }
            ],
            "hospital_contacts": [
                {
                    "citizen_id": "c1",
                    "start_date": date(2024, 5, 1),
                    "contact_type": "acute_admission",
                }
            ],
        }
    )
    build([T])
    assert rows_of("staging.stg_appointments", ["scheduled_date", "status"]) == [
        {"scheduled_date": date(2027, 1, 5), "status": "scheduled"}
    ]
    assert rows_of("staging.stg_hospital_contacts", ["start_date", "end_date"]) == [
        {"start_date": date(2024, 5, 1), "end_date": None}
    ]


def test_stg_diagnoses_and_lab_results_keep_every_row(make_raw, build, rows_of):
    diagnosis = {
        "citizen_id": "c1",
        "diagnosis_date": date(2023, 1, 1),
        "code": "DE119",
    }
    sample = {"citizen_id": "c1", "sample_date": date(2023, 1, 1), "value": 50.0}
    make_raw(
        {
            "citizens": [{"citizen_id": "c1"}],
            "diagnoses": [diagnosis, diagnosis],
            "lab_results": [sample],
        }
    )
    build([T])
    assert len(rows_of("staging.stg_diagnoses", ["code"])) == 2
    assert rows_of("staging.stg_lab_results", ["npu_code", "value", "unit"]) == [
        {"npu_code": "NPU27300", "value": 50.0, "unit": "mmol/mol"}
    ]
