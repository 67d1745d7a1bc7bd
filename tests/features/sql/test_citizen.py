"""Given raw rows and a spine, expect the exact rows of each citizen feature view.

Every view has one row per spine row, so citizens without events appear with
zeros (counts), FALSE (flags) or NULL (days since, last values).
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

T = date(2024, 6, 1)


def before(days: int) -> date:
    return T - timedelta(days=days)


def appt(kind: str, day: date, status: str = "attended") -> dict:
    """An appointment of citizen c1."""
    return {"citizen_id": "c1", "kind": kind, "scheduled_date": day, "status": status}


def test_feat_demographics_age_residence_and_snapshot_fields(make_raw, build, rows_of):
    make_raw(
        {
            "citizens": [
                {"citizen_id": "c1", "birth_date": date(1960, 6, 2)},
                {
                    "citizen_id": "c2",
                    "sex": "F",
                    "birth_date": date(1960, 6, 1),
                    "gp_clinic_id": None,
                    "preferred_language": "ar",
                    "living_situation": "shelter",
                    "death_date": T,
                },
                {"citizen_id": "c3", "emigration_date": before(1)},
                {"citizen_id": "c4", "birth_date": T},
                {
                    "citizen_id": "c5",
                    "preferred_language": None,
                    "death_date": before(1),
                },
            ]
        }
    )
    build([T])
    cols = [
        "citizen_id",
        "is_alive_resident",
        "age_years",
        "is_female",
        "living_situation",
        "has_no_gp",
        "is_language_not_danish",
    ]
    assert rows_of("citizen.feat_demographics", cols) == [
        dict(zip(cols, r, strict=True))
        for r in [
            ("c1", True, 63, False, "own_home", False, False),
            ("c2", True, 64, True, "shelter", True, True),
            ("c3", False, 63, False, "own_home", False, False),
            ("c4", False, None, False, "own_home", False, False),
            ("c5", False, 63, False, "own_home", False, False),
        ]
    ]


def test_feat_adherence_counts_unredeemed_by_group_window_and_grace(
    make_raw, build, rows_of
):
    def rx(atc: str, issued: int, redeemed: date | None = None) -> dict:
        return {
            "citizen_id": "c1",
            "atc_code": atc,
            "issued_date": before(issued),
            "redeemed_date": redeemed,
        }

    make_raw(
        {
            "citizens": [{"citizen_id": "c1"}, {"citizen_id": "c2"}],
            "prescriptions": [
                rx("A10BA02", 20),  # glucose-lowering, 90d
                rx("A10BB12", 13),  # inside the 14-day grace period: not yet counted
                rx("C10AA05", 14),  # statin, exactly 14 days: counted
                rx("C09AA05", 100),  # antihypertensive, 365d only
                rx(
                    "C09CA01", 200, T + timedelta(days=5)
                ),  # redeemed after T: unredeemed
                rx("N02BE01", 50, before(40)),  # redeemed: not counted
                rx("C07AB02", 366),  # outside 365 days
                rx("C10AA01", 60),  # renewed below and the renewal collected
                rx("C10AA01", 30, before(29)),
                rx("C10AA07", 60),  # its renewal is collected only on T: both count
                rx("C10AA07", 30, T),
            ],
        }
    )
    build([T])
    cols = [
        "citizen_id",
        "n_unredeemed_90d",
        "n_unredeemed_365d",
        "n_unredeemed_glucose_lowering_90d",
        "n_unredeemed_glucose_lowering_365d",
        "n_unredeemed_statins_90d",
        "n_unredeemed_statins_365d",
        "n_unredeemed_antihypertensives_90d",
        "n_unredeemed_antihypertensives_365d",
    ]
    assert rows_of("citizen.feat_adherence", cols) == [
        dict(zip(cols, ("c1", 4, 6, 1, 1, 3, 3, 0, 2), strict=True)),
        dict(zip(cols, ("c2", 0, 0, 0, 0, 0, 0, 0, 0), strict=True)),
    ]


def test_feat_drug_use_covers_the_union_of_dispensings_and_antipsychotics(
    make_raw, build, rows_of
):
    def rx(cid: str, atc: str, redeemed: int, supply: int) -> dict:
        return {
            "citizen_id": cid,
            "atc_code": atc,
            "issued_date": before(redeemed + 10),
            "redeemed_date": before(redeemed),
            "days_supply": supply,
        }

    make_raw(
        {
            "citizens": [{"citizen_id": c} for c in ("c1", "c2", "c3")],
            "prescriptions": [
                rx("c1", "A10BA02", 400, 100),  # covers T-365..T-301: 65 days
                rx("c1", "A10AE04", 320, 90),  # overlaps by 20 days: adds 70
                rx("c1", "A10BA02", 30, 90),  # clipped at T: 30 days
                rx("c1", "N05AH03", 10, 30),
                {
                    "citizen_id": "c1",
                    "atc_code": "A10BH01",
                    "issued_date": before(5),
                    "redeemed_date": T,
                    "days_supply": 30,
                },  # redeemed on T: unknown
                rx("c2", "A10BA02", 365, 365),
                rx("c2", "A10BB12", 200, 365),
                rx("c2", "N05AN01", 10, 30),  # lithium is not an antipsychotic here
                rx("c3", "N05AH03", 366, 30),
            ],
        }
    )
    build([T])
    rows = rows_of(
        "citizen.feat_drug_use",
        ["citizen_id", "pdc_glucose_lowering_365d", "is_antipsychotic_user_365d"],
    )
    assert [r["citizen_id"] for r in rows] == ["c1", "c2", "c3"]
    assert rows[0]["pdc_glucose_lowering_365d"] == pytest.approx(165 / 365)
    assert [r["pdc_glucose_lowering_365d"] for r in rows[1:]] == [1.0, 0.0]
    assert [r["is_antipsychotic_user_365d"] for r in rows] == [True, False, False]


def test_feat_attendance_counts_by_status_kind_and_window(make_raw, build, rows_of):
    def appt(kind: str, days: int, status: str) -> dict:
        return {
            "citizen_id": "c1",
            "kind": kind,
            "scheduled_date": before(days),
            "status": status,
        }

    make_raw(
        {
            "citizens": [{"citizen_id": "c1"}, {"citizen_id": "c2"}],
            "appointments": [
                appt("diabetes_annual_control", 10, "no_show"),
                appt("diabetes_control", 400, "no_show"),
                appt("eye_screening", 700, "no_show"),
                appt("eye_screening", 731, "no_show"),
                appt("foot_examination", 100, "cancelled_by_citizen"),
                appt("diabetes_control", 5, "cancelled_by_citizen"),
                appt("gp_consultation", 0, "no_show"),  # on as_of_date: unknown
                appt("gp_consultation", 1, "no_show"),
                appt("psychiatric_outpatient", 30, "no_show"),
                appt("copd_control", 40, "no_show"),
                appt("heart_outpatient", 20, "cancelled_by_provider"),
                appt("rehabilitation", 50, "attended"),
            ],
        }
    )
    build([T])
    cols = [
        "citizen_id",
        "n_no_shows_365d",
        "n_no_shows_730d",
        "n_citizen_cancellations_365d",
        "n_citizen_cancellations_730d",
        "n_no_shows_diabetes_control_365d",
        "n_no_shows_diabetes_control_730d",
        "n_citizen_cancellations_diabetes_control_365d",
        "n_no_shows_eye_screening_730d",
        "n_no_shows_foot_examination_730d",
        "n_no_shows_psychiatric_outpatient_365d",
        "n_no_shows_gp_consultation_365d",
        "n_no_shows_other_chronic_365d",
    ]
    assert rows_of("citizen.feat_attendance", cols) == [
        dict(zip(cols, ("c1", 4, 6, 2, 2, 1, 2, 1, 1, 0, 1, 1, 1), strict=True)),
        dict(zip(cols, ("c2", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), strict=True)),
    ]


def test_feat_attendance_days_since_last_attended_control(make_raw, build, rows_of):
    later = date(2024, 7, 1)
    make_raw(
        {
            "citizens": [{"citizen_id": "c1"}],
            "appointments": [
                appt("diabetes_annual_control", before(100)),
                appt("diabetes_control", before(30)),
                appt("diabetes_control", before(10), "no_show"),
                appt("eye_screening", before(400)),
                appt("eye_screening", T),
            ],
        }
    )
    build([T, later])
    assert rows_of(
        "citizen.feat_attendance",
        [
            "as_of_date",
            "days_since_diabetes_control",
            "days_since_eye_screening",
            "days_since_foot_examination",
        ],
    ) == [
        {
            "as_of_date": T,
            "days_since_diabetes_control": 30,
            "days_since_eye_screening": 400,
            "days_since_foot_examination": None,
        },
        {
            "as_of_date": later,
            "days_since_diabetes_control": 60,
            "days_since_eye_screening": 30,
            "days_since_foot_examination": None,
        },
    ]


def test_feat_glycaemic_last_max_trend_and_count(make_raw, build, rows_of):
    def lab(cid: str, days: int, value: float) -> dict:
        return {"citizen_id": cid, "sample_date": before(days), "value": value}

    make_raw(
        {
            "citizens": [{"citizen_id": c} for c in ("c1", "c2", "c3")],
            "lab_results": [
                lab("c1", 800, 70.0),  # before the 730-day window
                lab("c1", 365, 60.0),
                lab("c1", 100, 50.0),
                lab("c1", 100, 52.0),  # same day: the higher is kept
                lab("c1", 0, 99.0),  # on as_of_date: not yet known
                lab("c3", 10, 48.0),
            ],
        }
    )
    build([T])
    rows = rows_of(
        "citizen.feat_glycaemic",
        [
            "citizen_id",
            "hba1c_last_mmol_mol",
            "days_since_hba1c",
            "hba1c_max_mmol_mol_730d",
            "hba1c_slope_mmol_mol_per_year",
            "n_hba1c_730d",
        ],
    )
    c1, c2, c3 = rows
    assert c1["hba1c_slope_mmol_mol_per_year"] == pytest.approx(
        (52 - 60) / 265 * 365.25
    )
    assert {**c1, "hba1c_slope_mmol_mol_per_year": None} == {
        "citizen_id": "c1",
        "hba1c_last_mmol_mol": 52.0,
        "days_since_hba1c": 100,
        "hba1c_max_mmol_mol_730d": 60.0,
        "hba1c_slope_mmol_mol_per_year": None,
        "n_hba1c_730d": 2,
    }
    assert c2 == {
        "citizen_id": "c2",
        "hba1c_last_mmol_mol": None,
        "days_since_hba1c": None,
        "hba1c_max_mmol_mol_730d": None,
        "hba1c_slope_mmol_mol_per_year": None,
        "n_hba1c_730d": 0,
    }
    assert c3["hba1c_slope_mmol_mol_per_year"] is None
    assert c3["n_hba1c_730d"] == 1


def test_feat_conditions_hold_from_the_day_after_onset(make_raw, build, rows_of):
    make_raw(
        {
            "citizens": [{"citizen_id": "c1"}],
            "diagnoses": [
                {"citizen_id": "c1", "diagnosis_date": T, "code": "DJ449"},
                {
                    "citizen_id": "c1",
                    "diagnosis_date": before(1),
                    "code": "DF201",
                    "source": "psychiatry",
                },
            ],
        }
    )
    build([T, T + timedelta(days=1)])
    assert rows_of(
        "citizen.feat_conditions",
        [
            "as_of_date",
            "has_smi",
            "has_copd",
            "has_heart_disease",
            "has_cancer",
            "has_chronic_back_pain",
            "has_psychiatric_diagnosis",
        ],
    ) == [
        {
            "as_of_date": T,
            "has_smi": True,
            "has_copd": False,
            "has_heart_disease": False,
            "has_cancer": False,
            "has_chronic_back_pain": False,
            "has_psychiatric_diagnosis": True,
        },
        {
            "as_of_date": T + timedelta(days=1),
            "has_smi": True,
            "has_copd": True,
            "has_heart_disease": False,
            "has_cancer": False,
            "has_chronic_back_pain": False,
            "has_psychiatric_diagnosis": True,
        },
    ]


def test_feat_utilization_counts_contacts_in_the_365_days_before(
    make_raw, build, rows_of
):
    def contact(kind: str, days: int) -> dict:
        return {"citizen_id": "c1", "contact_type": kind, "start_date": before(days)}

    make_raw(
        {
            "citizens": [{"citizen_id": "c1"}, {"citizen_id": "c2"}],
            "hospital_contacts": [
                contact("acute_admission", 1),
                contact("acute_admission", 0),
                contact("acute_admission", 365),
                contact("acute_admission", 366),
                contact("emergency_department", 200),
                contact("planned_admission", 10),
            ],
            "appointments": [
                {
                    "citizen_id": "c1",
                    "kind": "gp_consultation",
                    "scheduled_date": before(3),
                    "status": "attended",
                },
            ],
            "diagnoses": [
                {
                    "citizen_id": "c1",
                    "diagnosis_date": before(3),
                    "code": "T90",
                    "code_system": "ICPC2",
                    "source": "gp",
                    "diagnosis_type": None,
                },
                {
                    "citizen_id": "c1",
                    "diagnosis_date": before(400),
                    "code": "T90",
                    "code_system": "ICPC2",
                    "source": "gp",
                    "diagnosis_type": None,
                },
            ],
        }
    )
    build([T])
    assert rows_of(
        "citizen.feat_utilization",
        [
            "citizen_id",
            "n_acute_admissions_365d",
            "n_emergency_visits_365d",
            "n_gp_contacts_365d",
        ],
    ) == [
        {
            "citizen_id": "c1",
            "n_acute_admissions_365d": 2,
            "n_emergency_visits_365d": 1,
            "n_gp_contacts_365d": 1,
        },
        {
            "citizen_id": "c2",
            "n_acute_admissions_365d": 0,
            "n_emergency_visits_365d": 0,
            "n_gp_contacts_365d": 0,
        },
    ]


def test_feat_conditions_count_complication_groups_ever_and_in_two_years(
    make_raw, build, rows_of
):
    def dx(citizen: str, days: int, code: str, system: str = "SKS") -> dict:
        return {
            "citizen_id": citizen,
            "diagnosis_date": before(days),
            "code": code,
            "code_system": system,
        }

    make_raw(
        {
            "citizens": [{"citizen_id": c} for c in ("c1", "c2", "c3")],
            "diagnoses": [
                dx("c1", 1, "DE112"),  # kidney, yesterday
                dx("c1", 1, "DE102"),  # kidney again the same day: one group
                dx("c1", 730, "DH360"),  # eye, first day of the two years
                dx("c1", 731, "DE114"),  # nerve, one day older than two years
                dx("c1", 2000, "DL97"),  # foot, long ago
                dx("c1", 0, "DE115"),  # circulation, on as_of_date: not yet
                dx("c2", 10, "DE119"),  # diabetes without complication
                dx("c2", 10, "T90", "ICPC2"),  # no group in ICPC-2
                dx("c2", 10, "DE1"),  # too short to carry a group
            ],
        }
    )
    build([T])
    cols = ["citizen_id", "n_complication_groups", "n_complication_groups_730d"]
    assert rows_of("citizen.feat_conditions", cols) == [
        dict(zip(cols, r, strict=True))
        for r in [("c1", 4, 2), ("c2", 0, 0), ("c3", 0, 0)]
    ]


def test_feat_glycaemic_last_value_from_before_every_730_day_window(
    make_raw, build, rows_of
):
    """Before the first window only the last sample counts, as the last value."""
    later = date(2024, 9, 1)

    def lab(day: date, value: float) -> dict:
        return {"citizen_id": "c1", "sample_date": day, "value": value}

    make_raw(
        {
            "citizens": [{"citizen_id": "c1"}],
            "lab_results": [
                lab(before(1000), 70.0),
                lab(before(900), 65.0),  # the last one before T - 730
                lab(date(2024, 7, 1), 55.0),  # between the two as-of dates
            ],
        }
    )
    build([T, later])
    assert rows_of(
        "citizen.feat_glycaemic",
        [
            "as_of_date",
            "hba1c_last_mmol_mol",
            "days_since_hba1c",
            "hba1c_max_mmol_mol_730d",
            "n_hba1c_730d",
        ],
    ) == [
        {
            "as_of_date": T,
            "hba1c_last_mmol_mol": 65.0,
            "days_since_hba1c": 900,
            "hba1c_max_mmol_mol_730d": None,
            "n_hba1c_730d": 0,
        },
        {
            "as_of_date": later,
            "hba1c_last_mmol_mol": 55.0,
            "days_since_hba1c": 62,
            "hba1c_max_mmol_mol_730d": 55.0,
            "n_hba1c_730d": 1,
        },
    ]


def test_feat_attendance_history_before_the_first_as_of_date(make_raw, build, rows_of):
    """Old controls still give days since; old misses leave every window."""
    later = date(2024, 7, 1)

    make_raw(
        {
            "citizens": [{"citizen_id": "c1"}],
            "appointments": [
                appt("eye_screening", before(2000)),
                appt("eye_screening", before(1500)),
                appt("foot_examination", before(1200)),
                appt("foot_examination", date(2024, 6, 15)),
                appt("gp_consultation", before(1000)),  # not a control
                appt("eye_screening", before(800), "no_show"),  # before any window
                appt("eye_screening", before(700), "no_show"),
            ],
        }
    )
    build([T, later])
    assert rows_of(
        "citizen.feat_attendance",
        [
            "as_of_date",
            "n_no_shows_730d",
            "n_no_shows_eye_screening_730d",
            "days_since_eye_screening",
            "days_since_foot_examination",
            "days_since_diabetes_control",
        ],
    ) == [
        {
            "as_of_date": T,
            "n_no_shows_730d": 1,
            "n_no_shows_eye_screening_730d": 1,
            "days_since_eye_screening": 1500,
            "days_since_foot_examination": 1200,
            "days_since_diabetes_control": None,
        },
        {
            "as_of_date": later,
            "n_no_shows_730d": 1,
            "n_no_shows_eye_screening_730d": 1,
            "days_since_eye_screening": 1530,
            "days_since_foot_examination": 16,
            "days_since_diabetes_control": None,
        },
    ]


def test_citizen_views_keep_to_a_spine_of_some_citizens(con, make_raw, build):
    """Events of citizens outside the spine never add rows to a citizen view."""
    from tests.features.test_leakage import _extract

    make_raw(_extract(seed=5, n=30))
    build([T, date(2024, 9, 1)], checks=False)
    con.execute(
        "create or replace table main.spine as select * from main.spine"
        " where citizen_id in (select min(citizen_id) from raw.citizens)"
    )
    views = [
        r[0]
        for r in con.execute(
            "select table_name from information_schema.tables"
            " where table_schema = 'citizen' order by 1"
        ).fetchall()
    ]
    assert len(views) == 10
    for view in views:
        rows = con.execute(f"select count(*) from citizen.{view}").fetchall()
        assert rows == [(2,)], view


def test_feat_metabolic_lipids_and_antipsychotics_without_monitoring(
    make_raw, build, rows_of
):
    def lab(cid: str, npu: str, days: int) -> dict:
        return {
            "citizen_id": cid,
            "npu_code": npu,
            "sample_date": before(days),
            "value": 5.0,
            "unit": "mmol/L",
        }

    def rx(cid: str, atc: str, redeemed: int) -> dict:
        return {
            "citizen_id": cid,
            "atc_code": atc,
            "issued_date": before(redeemed + 5),
            "redeemed_date": before(redeemed),
        }

    make_raw(
        {
            "citizens": [{"citizen_id": c} for c in ("c1", "c2", "c3", "c4")],
            "lab_results": [
                lab("c1", "NPU01568", 40),  # LDL
                lab("c1", "NPU27300", 20),  # HbA1c: c1 is monitored
                lab("c2", "NPU01566", 400),  # cholesterol, outside the year
                lab("c2", "NPU27300", 20),
                lab("c3", "NPU01566", 0),  # on as_of_date: not yet known
            ],
            "prescriptions": [
                rx("c1", "N05AH03", 30),
                rx("c2", "N05AH04", 30),
                rx("c3", "N05AH03", 30),
                rx("c4", "N05AN01", 30),  # lithium: not an antipsychotic here
            ],
        }
    )
    build([T])
    cols = ["citizen_id", "days_since_lipid_test", "is_antipsychotic_unmonitored_365d"]
    assert rows_of("citizen.feat_metabolic", cols) == [
        {
            "citizen_id": "c1",
            "days_since_lipid_test": 40,
            "is_antipsychotic_unmonitored_365d": False,
        },
        {
            "citizen_id": "c2",
            "days_since_lipid_test": 400,
            "is_antipsychotic_unmonitored_365d": True,
        },
        {
            "citizen_id": "c3",
            "days_since_lipid_test": None,
            "is_antipsychotic_unmonitored_365d": True,
        },
        {
            "citizen_id": "c4",
            "days_since_lipid_test": None,
            "is_antipsychotic_unmonitored_365d": False,
        },
    ]
