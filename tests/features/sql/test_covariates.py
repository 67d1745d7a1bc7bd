"""Given raw rows, expect the broad covariates and their reference table."""

from __future__ import annotations

import re
from datetime import date, timedelta

T = date(2024, 6, 1)


def _day(n: int) -> date:
    """The date ``n`` days before T (negative: after it)."""
    return T - timedelta(days=n)


def _diagnosis(citizen: str, code: str, days: int, **extra: object) -> dict:
    return {"citizen_id": citizen, "code": code, "diagnosis_date": _day(days), **extra}


def _redemption(citizen: str, atc: str, redeemed: int, issued: int = 400) -> dict:
    return {
        "citizen_id": citizen,
        "atc_code": atc,
        "issued_date": _day(issued),
        "redeemed_date": _day(redeemed),
    }


def _raw(later: bool = False) -> dict:
    """c1 has diabetes (and SMI); c2, in no model cohort, has events too."""
    rows: dict[str, list[dict]] = {
        "citizens": [{"citizen_id": "c1"}, {"citizen_id": "c2"}],
        "diagnoses": [_diagnosis("c2", "DI500", 30)],
        "prescriptions": [_redemption("c2", "C10AA05", 30)],
        "hospital_contacts": [
            {"citizen_id": "c2", "start_date": _day(9), "contact_type": "outpatient"}
        ],
    }
    for c in ("c1",):
        rows.setdefault("diagnoses", []).extend(
            [
                _diagnosis(c, "DI500", 30),
                _diagnosis(c, "T90", 10, code_system="ICPC2", source="gp"),
                _diagnosis(c, "DF200", 20, source="psychiatry"),
            ]
        )
        rows.setdefault("prescriptions", []).extend(
            [
                _redemption(c, "A10BA02", 100),
                _redemption(c, "A10BA02", 50),
                _redemption(c, "C10AA05", 400, issued=500),
                # Redeemed after T: not yet known at T.
                _redemption(c, "A10AE04", -5, issued=10),
            ]
        )
        rows.setdefault("lab_results", []).extend(
            [
                {"citizen_id": c, "sample_date": _day(400), "value": 60.0},
                {"citizen_id": c, "sample_date": _day(30), "value": 70.0},
            ]
        )
        rows.setdefault("hospital_contacts", []).extend(
            [
                {
                    "citizen_id": c,
                    "start_date": _day(60),
                    "contact_type": "acute_admission",
                    "primary_diagnosis": "DE111",
                },
                {
                    "citizen_id": c,
                    "start_date": _day(90),
                    "contact_type": "outpatient",
                    "primary_diagnosis": "DF209",
                },
            ]
        )
    rows["diagnoses"] += [
        _diagnosis("c1", "DE119", 800),
        _diagnosis("c1", "DE119", 700),
    ]
    if later:
        rows["diagnoses"] += [_diagnosis("c1", "DJ449", 0), _diagnosis("c1", "T89", -3)]
        rows["prescriptions"] += [_redemption("c1", "N05AH03", 0, issued=30)]
        rows["lab_results"] += [
            {"citizen_id": "c1", "sample_date": T, "value": 99.0},
            {"citizen_id": "c1", "sample_date": _day(-1), "value": 99.0},
        ]
        rows["hospital_contacts"] += [
            {
                "citizen_id": "c1",
                "start_date": T,
                "contact_type": "emergency_department",
            }
        ]
    return rows


EXPECTED = {
    "atc3_a10b_365d": 2.0,
    "atc4_a10ba_365d": 2.0,
    "sks_de11_ever": 1.0,
    "sks_di50_365d": 1.0,
    "sks_di50_ever": 1.0,
    "sks_df20_365d": 1.0,
    "sks_df20_ever": 1.0,
    "icpc_t_365d": 1.0,
    "icpc_t_ever": 1.0,
    "psych_contact_365d": 2.0,
    "hosp_acute_admission_365d": 1.0,
    "hosp_outpatient_365d": 1.0,
    "hosp_diabetes_admission_365d": 1.0,
    "hosp_diabetes_admission_ever": 1.0,
    "npu27300_last": 70.0,
    "npu27300_days_since": 30.0,
    "npu27300_n_730d": 2.0,
}


def _covariates(rows_of) -> dict[str, dict[str, float]]:
    found: dict[str, dict[str, float]] = {}
    for r in rows_of(
        "marts.broad_covariates", ["citizen_id", "as_of_date", "covariate_id", "value"]
    ):
        assert r["as_of_date"] == T
        found.setdefault(r["citizen_id"], {})[r["covariate_id"]] = r["value"]
    return found


def test_broad_covariates_of_a_cohort_member_every_family(make_raw, build, rows_of):
    make_raw(_raw())
    build([T])
    # c2 is in no model cohort: no rows. c1: exactly these (zeros left out).
    assert _covariates(rows_of) == {"c1": EXPECTED}


def test_broad_covariates_ignore_events_on_or_after_the_as_of_date(
    make_raw, build, rows_of
):
    make_raw(_raw(later=True))
    build([T])
    assert _covariates(rows_of) == {"c1": EXPECTED}


def test_broad_covariates_at_two_dates_meet_each_date_alone(make_raw, build, rows_of):
    make_raw(_raw())
    build([T, T + timedelta(days=365)])
    later = rows_of(
        "marts.broad_covariates",
        ["covariate_id", "value"],
        where=f"as_of_date = date '{T + timedelta(days=365)}'",
    )
    got = {r["covariate_id"]: r["value"] for r in later}
    # A year on: the year-old events left the 365-day windows; "ever" stays; the
    # A10AE04 redemption (after T) now counts.
    assert got["sks_di50_ever"] == 1.0 and "sks_di50_365d" not in got
    assert got["atc3_a10a_365d"] == 1.0 and "atc3_a10b_365d" not in got
    # The sample 400 days before T is 765 days before this date: out of 730.
    assert got["npu27300_days_since"] == 395.0 and got["npu27300_n_730d"] == 1.0


def _ref(rows_of) -> dict[str, dict]:
    columns = [
        "covariate_id",
        "family",
        "code",
        '"window"',
        "reason_da",
        "reason_en",
        "reason_missing_da",
        "reason_missing_en",
        "unit",
        "absent_value",
    ]
    rows = rows_of("marts.broad_covariate_ref", columns)
    return {r["covariate_id"]: {**r, "window": r['"window"']} for r in rows}


def test_broad_covariate_ref_words_every_covariate_from_the_name_tables(
    make_raw, build, rows_of
):
    make_raw(_raw(later=True))
    build([T])
    ref = _ref(rows_of)
    assert set(EXPECTED) <= set(ref)
    a10b = ref["atc3_a10b_365d"]
    assert (a10b["family"], a10b["code"], a10b["window"]) == ("atc3", "A10B", "365d")
    assert a10b["reason_en"] == (
        "Other glucose-lowering medicine redeemed at the pharmacy in the last year"
        " ({value} times)"
    )
    assert ref["atc3_a10a_365d"]["reason_da"] == (
        "Insulin hentet på apoteket det seneste år ({value} gange)"
    )
    assert ref["sks_de11_ever"]["reason_en"] == (
        "A diagnosis in the group 'type 2 diabetes' on record"
    )
    assert ref["npu27300_last"]["reason_en"] == (
        "The latest HbA1c result was {value} mmol/mol"
    )
    assert ref["npu27300_last"]["absent_value"] is None
    assert ref["npu27300_n_730d"]["absent_value"] == 0.0
    assert ref["npu27300_days_since"]["reason_missing_da"] == (
        "Ingen måling af langtidsblodsukker (HbA1c) registreret"
    )


def test_broad_covariate_ref_falls_back_to_the_family_name(make_raw, build, rows_of):
    raw = _raw()
    raw["prescriptions"].append(_redemption("c1", "C01AA05", 10))
    raw["diagnoses"].append(_diagnosis("c1", "DZ330", 10))
    raw["lab_results"].append(
        {
            "citizen_id": "c1",
            "sample_date": _day(5),
            "npu_code": "DNK99999",
            "value": 1.0,
            "unit": "U/L",
        }
    )
    make_raw(raw)
    build([T])
    ref = _ref(rows_of)
    assert ref["atc3_c01a_365d"]["reason_en"].startswith(
        "Medicine for the heart and circulation redeemed"
    )
    assert ref["sks_dz33_ever"]["reason_da"] == (
        "Diagnose i gruppen 'forhold af betydning for helbredet' registreret tidligere"
    )
    assert ref["lab_dnk99999_n_730d"]["reason_en"] == (
        "{value} a laboratory analysis tests in the last two years"
    )


def test_broad_covariate_reasons_never_show_a_raw_code(make_raw, build, rows_of):
    raw = _raw(later=True)
    raw["prescriptions"].append(_redemption("c1", "V03AB15", 10))
    make_raw(raw)
    build([T])
    code_like = re.compile(r"\b(?:[A-Z]\d\d[A-Z0-9]*|D[A-Z]\d\d\w*|NPU\d+)\b")
    for cid, r in _ref(rows_of).items():
        assert re.match(r"^[a-z][a-z0-9_]*$", cid)
        for key in ("reason_da", "reason_en", "reason_missing_da", "reason_missing_en"):
            text = r[key] or ""
            assert not code_like.search(text), (cid, text)
            assert "_" not in text, (cid, text)  # no contact_type like acute_admission
            # "outpatient" is a word, not a code; one letter (ICPC-2) is no code.
            if r["family"] != "contact" and len(r["code"]) >= 3:
                assert r["code"].lower() not in text.lower(), (cid, text)
            assert set(re.findall(r"{(\w*)}", text)) <= {"value"}


def test_broad_covariates_of_an_smi_cohort_member_without_diabetes(
    make_raw, build, rows_of
):
    raw = _raw()
    raw["citizens"].append({"citizen_id": "c3"})
    raw["diagnoses"].append(_diagnosis("c3", "DF200", 100, source="psychiatry"))
    raw["hospital_contacts"].append(
        {"citizen_id": "c3", "start_date": _day(5), "contact_type": "outpatient"}
    )
    make_raw(raw)
    build([T])
    assert _covariates(rows_of)["c3"] == {
        "sks_df20_365d": 1.0,
        "sks_df20_ever": 1.0,
        "psych_contact_365d": 1.0,
        "hosp_outpatient_365d": 1.0,
    }
