"""Outcome SQL on hand-made citizens: window edges, censoring, washout, eligibility."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import duckdb
import pytest

from features.errors import ConfigError, NotFoundError
from models.outcomes import (
    ExtractWindow,
    available_outcomes,
    build_labels,
    eligible_index_dates,
    index_dates_between,
    outcome_contract,
    read_extract_window,
)
from tests.models.conftest import make_mart, make_raw

A = date(2024, 1, 1)  # the index date; its window is [2024-01-01, 2024-12-31)
START = date(2018, 1, 1)
EXTRACT = date(2026, 1, 1)
WINDOW = ExtractWindow(START, EXTRACT)


def day(n: int) -> date:
    return A + timedelta(days=n)


def _admission(
    cid: str, n: int, code: str = "DE111", kind: str = "acute_admission"
) -> dict[str, Any]:
    return {
        "contact_id": f"{cid}-{n}-{code}",
        "citizen_id": cid,
        "start_date": day(n),
        "contact_type": kind,
        "primary_diagnosis": code,
    }


def _diagnosis(cid: str, n: int, code: str, system: str = "SKS") -> dict[str, Any]:
    return {
        "citizen_id": cid,
        "diagnosis_date": day(n),
        "code": code,
        "code_system": system,
    }


def _labels(con: duckdb.DuckDBPyConnection, outcome: str) -> dict[str, tuple[Any, ...]]:
    build_labels(con, outcome, window=WINDOW, horizon_days=365, washout_days=730)
    rows = con.execute(
        f"select citizen_id, as_of_date, label, is_censored, time_at_risk_days from "
        f"labels.{outcome}"
    ).fetchall()
    assert all(r[1] == A for r in rows)
    return {r[0]: (r[2], r[3], r[4]) for r in rows}


def _filler() -> dict[str, Any]:
    """An old diagnosis that sets where the extract's history starts."""
    return {"citizen_id": "z", "diagnosis_date": START, "code": "DJ449"}


@pytest.fixture
def harm(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[Any, ...]]:
    ids = [f"c{i:02d}" for i in range(1, 17)] + ["z"]
    make_raw(
        con,
        citizens=[
            {
                "citizen_id": c,
                "death_date": {"c05": day(100), "c06": day(100)}.get(c),
                "emigration_date": {"c14": day(200)}.get(c),
            }
            for c in ids
        ],
        hospital_contacts=[
            _admission("c01", 0),
            _admission("c02", 364),
            _admission("c03", 365),
            _admission("c04", -1),
            _admission("c06", 50),
            _admission("c11", 20, "DJ449"),
            _admission("c12", 20),
            _admission("c13", 20),
            _admission("c16", 20, kind="emergency_department"),
        ],
        diagnoses=[
            _filler(),
            _diagnosis("c07", 10, "DE113"),
            _diagnosis("c08", 10, "DE113"),
            _diagnosis("c08", -100, "DE113"),
            _diagnosis("c09", 10, "DE113"),
            _diagnosis("c09", -800, "DE113"),
            _diagnosis("c10", -100, "DE113"),
            _diagnosis("c10", 10, "DE112"),
            _diagnosis("c15", -50, "DE113"),
            _diagnosis("c15", 5, "DH360"),
        ],
        extract_info=[{"extract_date": EXTRACT}],
    )
    mart = [
        {
            "citizen_id": c,
            "as_of_date": A,
            "has_diabetes": c != "c12",
            "is_alive_resident": c != "c13",
        }
        for c in ids
        if c != "z"
    ]
    # Ineligible dates: window not over by extract_date; no full washout before.
    mart += [
        {"citizen_id": "c01", "as_of_date": date(2025, 6, 1), "has_diabetes": True},
        {"citizen_id": "c01", "as_of_date": date(2019, 6, 1), "has_diabetes": True},
    ]
    make_mart(con, mart)
    return _labels(con, "diabetes_harm_365d")


def test_diabetes_harm_window_edges(harm: dict[str, tuple[Any, ...]]) -> None:
    assert harm["c01"] == (1, False, 0)  # first day of the window counts
    assert harm["c02"] == (1, False, 364)  # last day counts
    assert harm["c03"] == (0, False, 365)  # the day after does not
    assert harm["c04"] == (0, False, 365)  # before the index date: not counted


def test_diabetes_harm_censoring_deaths_and_emigrations(
    harm: dict[str, tuple[Any, ...]],
) -> None:
    assert harm["c05"] == (None, True, 100)  # died in the window without an event
    assert harm["c06"] == (1, False, 50)  # event before death counts
    assert harm["c14"] == (None, True, 200)  # emigrated


def test_diabetes_harm_new_complication_needs_washout(
    harm: dict[str, tuple[Any, ...]],
) -> None:
    assert harm["c07"] == (1, False, 10)
    assert harm["c08"][0] == 0  # same group recorded in the washout: not new
    assert harm["c09"][0] == 1  # recorded only before the washout: new
    assert harm["c10"][0] == 1  # another group (kidney) is new
    assert harm["c15"][0] == 0  # DH360 is the eye group, already recorded


def test_diabetes_harm_admission_kind_and_code(
    harm: dict[str, tuple[Any, ...]],
) -> None:
    assert harm["c11"][0] == 0  # not a diabetes diagnosis
    assert harm["c16"][0] == 0  # emergency visit, not an admission


def test_diabetes_harm_cohort_and_eligibility(harm: dict[str, tuple[Any, ...]]) -> None:
    assert "c12" not in harm  # no diabetes
    assert "c13" not in harm  # not alive and resident at the index date
    assert len(harm) == 14  # c01-c16 less those two; no row at the ineligible dates


@pytest.fixture
def missed(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[Any, ...]]:
    ids = [f"m{i:02d}" for i in range(1, 12)] + ["z"]

    def control(
        cid: str, n: int, kind: str = "diabetes_control", status: str = "attended"
    ) -> dict[str, Any]:
        return {
            "appointment_id": f"{cid}-{n}-{kind}",
            "citizen_id": cid,
            "scheduled_date": day(n),
            "kind": kind,
            "status": status,
        }

    def rx(
        cid: str, n: int, redeemed: int | None, atc: str = "A10BA02"
    ) -> dict[str, Any]:
        return {
            "prescription_id": f"{cid}-{n}",
            "citizen_id": cid,
            "atc_code": atc,
            "issued_date": day(n),
            "redeemed_date": None if redeemed is None else day(redeemed),
        }

    attended = ["m01", "m04", "m05", "m06", "m07", "m09", "m11"]
    make_raw(
        con,
        citizens=[
            {"citizen_id": c, "death_date": day(200) if c == "m09" else None}
            for c in ids
        ],
        appointments=[control(c, 100) for c in attended]
        + [
            control("m03", 100, status="no_show"),
            control("m08", 100, kind="eye_screening"),
            control("m10", -1),
        ],
        prescriptions=[
            rx("m04", 10, None),
            rx("m05", 10, 20),
            rx("m06", 355, None),
            rx("m07", 100, 365),
            rx("m11", 10, None, atc="C10AA05"),
        ],
        diagnoses=[_filler()],
        extract_info=[{"extract_date": EXTRACT}],
    )
    make_mart(
        con,
        [
            {"citizen_id": c, "as_of_date": A, "has_diabetes": True}
            for c in ids
            if c != "z"
        ],
    )
    return _labels(con, "missed_care_365d")


def test_missed_care_controls(missed: dict[str, tuple[Any, ...]]) -> None:
    assert missed["m01"] == (0, False, 365)
    assert missed["m02"][0] == 1  # no control at all
    assert missed["m03"][0] == 1  # a no-show is not attended
    assert missed["m08"][0] == 1  # an eye screening is not a diabetes control
    assert missed["m10"][0] == 1  # before the index date


def test_missed_care_unredeemed_prescriptions(
    missed: dict[str, tuple[Any, ...]],
) -> None:
    assert missed["m04"][0] == 1  # never redeemed
    assert missed["m05"][0] == 0  # redeemed in the window
    assert missed["m06"][0] == 0  # issued within 30 days of the window's end: grace
    assert missed["m07"][0] == 1  # redeemed only after the window ended
    assert missed["m11"][0] == 0  # a statin is not glucose-lowering


def test_missed_care_death_is_censored(missed: dict[str, tuple[Any, ...]]) -> None:
    assert missed["m09"] == (None, True, 200)


@pytest.fixture
def smi(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[Any, ...]]:
    ids = [f"s{i:02d}" for i in range(1, 10)] + ["z"]
    make_raw(
        con,
        citizens=[
            {"citizen_id": c, "death_date": day(10) if c == "s08" else None}
            for c in ids
        ],
        diagnoses=[
            _filler(),
            _diagnosis("s01", 30, "DE119"),
            _diagnosis("s02", 30, "DE119"),
            _diagnosis("s05", 30, "DI21"),
            _diagnosis("s05", -100, "DI21"),
            _diagnosis("s06", 40, "T90", system="ICPC2"),
        ],
        hospital_contacts=[
            _admission("s03", 20, "DF200"),
            _admission("s04", 20, "DJ189"),
            {**_admission("s09", 20), "primary_diagnosis": None},
        ],
        extract_info=[{"extract_date": EXTRACT}],
    )
    make_mart(
        con,
        [
            {
                "citizen_id": c,
                "as_of_date": A,
                "has_smi": c != "s07",
                "has_diabetes": c == "s02",
            }
            for c in ids
            if c != "z"
        ],
    )
    return _labels(con, "smi_somatic_365d")


def test_smi_somatic_new_diagnoses(smi: dict[str, tuple[Any, ...]]) -> None:
    assert smi["s01"] == (1, False, 30)  # new diabetes
    assert smi["s02"][0] == 0  # diabetes known at the index date is not new
    assert smi["s05"][0] == 0  # heart disease recorded in the washout
    assert smi["s06"] == (1, False, 40)  # ICPC-2 T90 from the GP


def test_smi_somatic_admissions_and_censoring(smi: dict[str, tuple[Any, ...]]) -> None:
    assert smi["s03"][0] == 0  # psychiatric admission
    assert smi["s04"][0] == 1  # somatic admission
    assert smi["s09"][0] == 0  # no diagnosis: not known to be somatic
    assert smi["s08"] == (None, True, 10)
    assert "s07" not in smi


def test_index_dates_between_steps_back_from_the_latest() -> None:
    dates = index_dates_between(date(2023, 1, 15), date(2024, 1, 31), every=(3, "mo"))
    assert dates == [
        date(2023, 1, 31),
        date(2023, 4, 30),
        date(2023, 7, 31),
        date(2023, 10, 31),
        date(2024, 1, 31),
    ]
    assert index_dates_between(date(2024, 1, 1), date(2024, 1, 15), every=(1, "w")) == [
        date(2024, 1, 1),
        date(2024, 1, 8),
        date(2024, 1, 15),
    ]


def test_eligible_index_dates_need_washout_and_whole_window() -> None:
    window = ExtractWindow(date(2020, 1, 1), date(2026, 1, 1))
    candidates = [
        date(2021, 12, 31),
        date(2022, 1, 1),
        date(2025, 1, 1),
        date(2025, 1, 2),
    ]
    assert eligible_index_dates(
        candidates, window, horizon_days=365, washout_days=731
    ) == [date(2022, 1, 1), date(2025, 1, 1)]


def test_read_extract_window_starts_at_the_common_coverage(
    con: duckdb.DuckDBPyConnection,
) -> None:
    """Without raw.coverage (an older warehouse) coverage is measured on the fly."""
    make_raw(
        con,
        diagnoses=[_filler()],
        hospital_contacts=[_admission("a", -3000)],
        extract_info=[{"extract_date": EXTRACT}],
    )
    window = read_extract_window(con)
    contacts = day(-3000).replace(day=1)
    assert window.coverage["hospital_contacts"] == contacts
    assert window.coverage["prescriptions"] is None
    assert window.start == window.coverage["diagnoses"] > contacts
    assert window.history_start(["hospital_contacts"]) == contacts
    assert (window.extract_date, window.extract_hash) == (EXTRACT, "abc123")


def test_read_extract_window_without_extract(con: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(NotFoundError) as error:
        read_extract_window(con)
    assert (
        str(error.value)
        == "No extract is loaded in the warehouse; run `opspor load EXTRACT_DIR` first."
    )


def test_build_labels_unknown_outcome(con: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(ConfigError) as error:
        build_labels(con, "no_such", window=WINDOW, horizon_days=365, washout_days=730)
    assert str(error.value).startswith(
        "Unknown outcome 'no_such'; available: diabetes_acute_harm_365d, "
        "diabetes_harm_365d"
    )


@pytest.mark.parametrize("outcome", available_outcomes())
def test_outcome_contract_documents_the_choices(outcome: str) -> None:
    contract = outcome_contract(outcome)
    for key in ("cohort", "time_at_risk", "censoring", "why", "eligibility", "columns"):
        assert contract[key]


def test_labels_missing_is_false_without_an_extract_to_label_from() -> None:
    from models.outcomes import labels_missing

    con = duckdb.connect()
    assert not labels_missing(con, "missed_care_365d", as_of_date=date(2025, 1, 1))
