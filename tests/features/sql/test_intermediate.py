"""Given raw rows and a spine, expect the exact rows of each intermediate view."""

from __future__ import annotations

from datetime import date

import pytest

T = date(2024, 6, 1)


def test_redemption_lagged_hides_a_redemption_on_or_after_the_as_of_date(
    make_raw, build, rows_of
):
    """A redemption on or after as_of_date counts as not yet redeemed."""
    make_raw(
        {
            "citizens": [{"citizen_id": "c1"}],
            "prescriptions": [
                {
                    "prescription_id": "before",
                    "citizen_id": "c1",
                    "atc_code": "C10AA05",
                    "issued_date": date(2024, 3, 1),
                    "redeemed_date": date(2024, 5, 31),
                },
                {
                    "prescription_id": "on",
                    "citizen_id": "c1",
                    "atc_code": "C09AA05",
                    "issued_date": date(2024, 3, 1),
                    "redeemed_date": T,
                },
                {
                    "prescription_id": "after",
                    "citizen_id": "c1",
                    "atc_code": "N05AH03",
                    "issued_date": date(2024, 3, 1),
                    "redeemed_date": date(2024, 7, 1),
                },
            ],
        }
    )
    build([T, date(2024, 8, 1)])
    assert rows_of(
        "intermediate.int_prescriptions__redemption_lagged",
        [
            "prescription_id",
            "as_of_date",
            "redeemed_date",
            "is_redeemed",
            "is_statin",
            "is_antihypertensive",
            "is_antipsychotic",
        ],
    ) == [
        {
            "prescription_id": "after",
            "as_of_date": T,
            "redeemed_date": None,
            "is_redeemed": False,
            "is_statin": False,
            "is_antihypertensive": False,
            "is_antipsychotic": True,
        },
        {
            "prescription_id": "after",
            "as_of_date": date(2024, 8, 1),
            "redeemed_date": date(2024, 7, 1),
            "is_redeemed": True,
            "is_statin": False,
            "is_antihypertensive": False,
            "is_antipsychotic": True,
        },
        {
            "prescription_id": "before",
            "as_of_date": T,
            "redeemed_date": date(2024, 5, 31),
            "is_redeemed": True,
            "is_statin": True,
            "is_antihypertensive": False,
            "is_antipsychotic": False,
        },
        {
            "prescription_id": "before",
            "as_of_date": date(2024, 8, 1),
            "redeemed_date": date(2024, 5, 31),
            "is_redeemed": True,
            "is_statin": True,
            "is_antihypertensive": False,
            "is_antipsychotic": False,
        },
        {
            "prescription_id": "on",
            "as_of_date": T,
            "redeemed_date": None,
            "is_redeemed": False,
            "is_statin": False,
            "is_antihypertensive": True,
            "is_antipsychotic": False,
        },
        {
            "prescription_id": "on",
            "as_of_date": date(2024, 8, 1),
            "redeemed_date": T,
            "is_redeemed": True,
            "is_statin": False,
            "is_antihypertensive": True,
            "is_antipsychotic": False,
        },
    ]


def test_redemption_lagged_keeps_prescriptions_issued_in_the_730_days_before(
    make_raw, build, rows_of
):
    issued = [date(2022, 6, 1), date(2022, 6, 2), date(2024, 5, 31), T]
    make_raw(
        {
            "citizens": [{"citizen_id": "c1"}],
            "prescriptions": [
                {
                    "prescription_id": f"p{i}",
                    "citizen_id": "c1",
                    "atc_code": "A10BA02",
                    "issued_date": d,
                }
                for i, d in enumerate(issued)
            ],
        }
    )
    build([T])
    assert rows_of(
        "intermediate.int_prescriptions__redemption_lagged", ["issued_date"]
    ) == [{"issued_date": date(2022, 6, 2)}, {"issued_date": date(2024, 5, 31)}]


def test_hba1c_converted_converts_dcct_and_keeps_the_days_highest(
    make_raw, build, rows_of
):
    make_raw(
        {
            "citizens": [{"citizen_id": "c1"}],
            "lab_results": [
                {
                    "citizen_id": "c1",
                    "sample_date": date(2010, 1, 1),
                    "npu_code": "NPU03835",
                    "value": 7.0,
                    "unit": "%",
                },
                {"citizen_id": "c1", "sample_date": date(2024, 1, 1), "value": 50.0},
                {"citizen_id": "c1", "sample_date": date(2024, 1, 1), "value": 53.0},
                {
                    "citizen_id": "c1",
                    "sample_date": date(2024, 2, 1),
                    "npu_code": "NPU01566",
                    "value": 5.0,
                    "unit": "mmol/L",
                },
            ],
        }
    )
    build([T])
    rows = rows_of(
        "intermediate.int_hba1c__converted", ["sample_date", "hba1c_mmol_mol"]
    )
    assert [r["sample_date"] for r in rows] == [date(2010, 1, 1), date(2024, 1, 1)]
    assert rows[0]["hba1c_mmol_mol"] == pytest.approx((7.0 - 2.15) * 10.929)
    assert rows[1]["hba1c_mmol_mol"] == 53.0


def test_conditions_dated_applies_each_rule(make_raw, build, rows_of):
    def dx(day: date, code: str, system: str = "SKS") -> dict:
        return {
            "citizen_id": "c1",
            "diagnosis_date": day,
            "code": code,
            "code_system": system,
        }

    make_raw(
        {
            "citizens": [{"citizen_id": "c1"}, {"citizen_id": "c2"}],
            "diagnoses": [
                dx(date(2020, 1, 1), "DM545"),
                dx(date(2020, 3, 24), "L03", "ICPC2"),  # 83 days after: not yet chronic
                dx(date(2020, 3, 25), "DM545"),  # 84 days after the first: chronic
                dx(date(2021, 5, 1), "DC449"),  # non-melanoma skin cancer: not counted
                dx(date(2021, 6, 1), "DC509"),
                dx(date(2019, 2, 1), "DF329"),  # depression: psychiatric, not SMI
                dx(date(2022, 2, 1), "P72", "ICPC2"),
                dx(date(2018, 1, 1), "K78", "ICPC2"),
                dx(date(2023, 1, 1), "DJ441"),
                {
                    "citizen_id": "c2",
                    "diagnosis_date": date(2020, 1, 1),
                    "code": "DR074",
                },
            ],
        }
    )
    build([T])
    assert rows_of(
        "intermediate.int_conditions__dated",
        [
            "citizen_id",
            "smi_onset_date",
            "copd_onset_date",
            "heart_disease_onset_date",
            "cancer_onset_date",
            "psychiatric_onset_date",
            "chronic_back_pain_onset_date",
        ],
    ) == [
        {
            "citizen_id": "c1",
            "smi_onset_date": date(2022, 2, 1),
            "copd_onset_date": date(2023, 1, 1),
            "heart_disease_onset_date": date(2018, 1, 1),
            "cancer_onset_date": date(2021, 6, 1),
            "psychiatric_onset_date": date(2019, 2, 1),
            "chronic_back_pain_onset_date": date(2020, 3, 25),
        },
    ]


def test_diabetes_events_unioned_applies_the_osdc_drug_and_lab_rules(
    make_raw, build, rows_of
):
    def drug(pid: str, cid: str, atc: str, day: date | None) -> dict:
        return {
            "prescription_id": pid,
            "citizen_id": cid,
            "atc_code": atc,
            "issued_date": date(2023, 1, 1),
            "redeemed_date": day,
        }

    make_raw(
        {
            "citizens": [
                {"citizen_id": "man", "sex": "M", "birth_date": date(1990, 1, 1)},
                {"citizen_id": "woman39", "sex": "F", "birth_date": date(1983, 6, 2)},
                {"citizen_id": "woman40", "sex": "F", "birth_date": date(1983, 6, 1)},
            ],
            "prescriptions": [
                drug("glp1", "man", "A10BJ06", date(2023, 6, 1)),
                drug("sglt2", "man", "A10BK01", date(2023, 6, 1)),
                drug("sglt2_combo", "man", "A10BD15", date(2023, 6, 1)),
                drug("ideglira", "man", "A10AE56", date(2023, 6, 1)),
                drug("unredeemed", "man", "A10BA02", None),
                drug("insulin", "man", "A10AE04", date(2023, 6, 2)),
                drug("dpp4_combo", "man", "A10BD07", date(2023, 6, 3)),
                drug("met39", "woman39", "A10BA02", date(2023, 6, 1)),
                drug("met40", "woman40", "A10BA02", date(2023, 6, 1)),
            ],
            "lab_results": [
                {"citizen_id": "man", "sample_date": date(2023, 1, 1), "value": 47.9},
                {"citizen_id": "man", "sample_date": date(2023, 1, 2), "value": 48.0},
                {
                    "citizen_id": "man",
                    "sample_date": date(2009, 1, 1),
                    "npu_code": "NPU03835",
                    "value": 6.4,
                    "unit": "%",
                },
                {
                    "citizen_id": "man",
                    "sample_date": date(2009, 1, 2),
                    "npu_code": "NPU03835",
                    "value": 6.5,
                    "unit": "%",
                },
            ],
            "diagnoses": [
                {
                    "citizen_id": "man",
                    "diagnosis_date": date(2022, 1, 1),
                    "code": "DE109",
                },
                {
                    "citizen_id": "man",
                    "diagnosis_date": date(2022, 1, 2),
                    "code": "DE119",
                    "diagnosis_type": "B",
                },
                {
                    "citizen_id": "man",
                    "diagnosis_date": date(2022, 1, 3),
                    "code": "T90",
                    "code_system": "ICPC2",
                    "source": "gp",
                    "diagnosis_type": None,
                },
                {
                    "citizen_id": "man",
                    "diagnosis_date": date(2022, 1, 4),
                    "code": "DE66",
                },
            ],
        }
    )
    build([T])
    assert rows_of(
        "intermediate.int_diabetes_events__unioned",
        [
            "citizen_id",
            "event_source",
            "event_date",
            "is_insulin",
            "is_type1_diagnosis",
            "is_type2_diagnosis",
        ],
    ) == [
        {
            "citizen_id": "man",
            "event_source": "diagnosis",
            "event_date": date(2022, 1, 1),
            "is_insulin": False,
            "is_type1_diagnosis": True,
            "is_type2_diagnosis": False,
        },
        {
            "citizen_id": "man",
            "event_source": "diagnosis",
            "event_date": date(2022, 1, 2),
            "is_insulin": False,
            "is_type1_diagnosis": False,
            "is_type2_diagnosis": False,
        },
        {
            "citizen_id": "man",
            "event_source": "diagnosis",
            "event_date": date(2022, 1, 3),
            "is_insulin": False,
            "is_type1_diagnosis": False,
            "is_type2_diagnosis": True,
        },
        {
            "citizen_id": "man",
            "event_source": "glucose_lowering_drug",
            "event_date": date(2023, 6, 2),
            "is_insulin": True,
            "is_type1_diagnosis": False,
            "is_type2_diagnosis": False,
        },
        {
            "citizen_id": "man",
            "event_source": "glucose_lowering_drug",
            "event_date": date(2023, 6, 3),
            "is_insulin": False,
            "is_type1_diagnosis": False,
            "is_type2_diagnosis": False,
        },
        {
            "citizen_id": "man",
            "event_source": "hba1c",
            "event_date": date(2009, 1, 2),
            "is_insulin": False,
            "is_type1_diagnosis": False,
            "is_type2_diagnosis": False,
        },
        {
            "citizen_id": "man",
            "event_source": "hba1c",
            "event_date": date(2023, 1, 2),
            "is_insulin": False,
            "is_type1_diagnosis": False,
            "is_type2_diagnosis": False,
        },
        {
            "citizen_id": "woman40",
            "event_source": "glucose_lowering_drug",
            "event_date": date(2023, 6, 1),
            "is_insulin": False,
            "is_type1_diagnosis": False,
            "is_type2_diagnosis": False,
        },
    ]


def test_pregnancies_dated_sets_the_osdc_window(make_raw, build, rows_of):
    make_raw(
        {
            "citizens": [{"citizen_id": "c1", "sex": "F"}],
            "diagnoses": [
                {
                    "citizen_id": "c1",
                    "diagnosis_date": date(2022, 3, 1),
                    "code": "DO800",
                },
                {
                    "citizen_id": "c1",
                    "diagnosis_date": date(2022, 3, 1),
                    "code": "DZ370",
                },
                {
                    "citizen_id": "c1",
                    "diagnosis_date": date(2023, 1, 1),
                    "code": "W90",
                    "code_system": "ICPC2",
                    "source": "gp",
                    "diagnosis_type": None,
                },
                {
                    "citizen_id": "c1",
                    "diagnosis_date": date(2023, 5, 1),
                    "code": "DO244",
                },
            ],
        }
    )
    build([T])
    assert rows_of(
        "intermediate.int_pregnancies__dated",
        ["pregnancy_end_date", "window_start_date", "window_end_date"],
    ) == [
        {
            "pregnancy_end_date": date(2022, 3, 1),
            "window_start_date": date(2021, 5, 25),
            "window_end_date": date(2022, 5, 24),
        },
        {
            "pregnancy_end_date": date(2023, 1, 1),
            "window_start_date": date(2022, 3, 27),
            "window_end_date": date(2023, 3, 26),
        },
    ]


def test_gp_contacts_dated_counts_a_day_once(make_raw, build, rows_of):
    make_raw(
        {
            "citizens": [{"citizen_id": "c1"}],
            "appointments": [
                {
                    "citizen_id": "c1",
                    "scheduled_date": date(2024, 1, 5),
                    "kind": "gp_consultation",
                    "status": "attended",
                },
                {
                    "citizen_id": "c1",
                    "scheduled_date": date(2024, 2, 5),
                    "kind": "gp_consultation",
                    "status": "no_show",
                },
                {
                    "citizen_id": "c1",
                    "scheduled_date": date(2024, 3, 5),
                    "kind": "eye_screening",
                    "provider_type": "hospital_outpatient",
                    "status": "attended",
                },
            ],
            "diagnoses": [
                {
                    "citizen_id": "c1",
                    "diagnosis_date": date(2024, 1, 5),
                    "code": "T90",
                    "code_system": "ICPC2",
                    "source": "gp",
                    "diagnosis_type": None,
                },
                {
                    "citizen_id": "c1",
                    "diagnosis_date": date(2024, 4, 5),
                    "code": "R95",
                    "code_system": "ICPC2",
                    "source": "gp",
                    "diagnosis_type": None,
                },
                {
                    "citizen_id": "c1",
                    "diagnosis_date": date(2024, 4, 6),
                    "code": "DJ449",
                },
            ],
        }
    )
    build([T])
    assert rows_of("intermediate.int_gp_contacts__dated", ["contact_date"]) == [
        {"contact_date": date(2024, 1, 5)},
        {"contact_date": date(2024, 4, 5)},
    ]
