"""The generated extract against the journal-extract contract (v1), written from the
contract page (shared/contract/journal-extract-v1.md) and not imported from features,
so the generator is checked as an outside supplier would be."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from synthetic_data import GenerationResult, ProfileError, generate_extract

EXTRACT_DATE = date(2026, 11, 23)
S, D, INT, N, B = "string", "date", "integer", "number", "boolean"
# table -> column -> (logical type, nullable), from the contract page
CONTRACT: dict[str, dict[str, tuple[str, bool]]] = {
    "citizens": {
        "citizen_id": (S, False),
        "birth_date": (D, False),
        "sex": (S, False),
        "municipality_code": (S, False),
        "education_level": (S, False),
        "origin": (S, False),
        "living_situation": (S, False),
        "gp_clinic_id": (S, True),
        "preferred_language": (S, True),
        "death_date": (D, True),
        "emigration_date": (D, True),
        "outreach_opt_out": (B, False),
    },
    "diagnoses": {
        "citizen_id": (S, False),
        "diagnosis_date": (D, False),
        "code_system": (S, False),
        "code": (S, False),
        "source": (S, False),
        "diagnosis_type": (S, True),
    },
    "prescriptions": {
        "prescription_id": (S, False),
        "citizen_id": (S, False),
        "atc_code": (S, False),
        "issued_date": (D, False),
        "days_supply": (INT, False),
        "redeemed_date": (D, True),
        "prescriber_type": (S, False),
    },
    "appointments": {
        "appointment_id": (S, False),
        "citizen_id": (S, False),
        "scheduled_date": (D, False),
        "kind": (S, False),
        "provider_type": (S, False),
        "status": (S, False),
    },
    "lab_results": {
        "citizen_id": (S, False),
        "sample_date": (D, False),
        "npu_code": (S, False),
        "value": (N, False),
        "unit": (S, False),
    },
    "hospital_contacts": {
        "contact_id": (S, False),
        "citizen_id": (S, False),
        "start_date": (D, False),
        "end_date": (D, True),
        "contact_type": (S, False),
        "primary_diagnosis": (S, True),
    },
}
ENUMS = {
    ("citizens", "sex"): {"F", "M"},
    ("citizens", "education_level"): {
        "basic",
        "upper_secondary",
        "vocational",
        "short_tertiary",
        "medium_tertiary",
        "long_tertiary",
        "unknown",
    },
    ("citizens", "origin"): {
        "danish",
        "immigrant_western",
        "immigrant_non_western",
        "descendant_western",
        "descendant_non_western",
        "unknown",
    },
    ("citizens", "living_situation"): {
        "own_home",
        "supported_housing",
        "shelter",
        "prison",
        "nursing_home",
        "unknown",
    },
    ("diagnoses", "code_system"): {"SKS", "ICPC2"},
    ("diagnoses", "source"): {"hospital", "psychiatry", "gp"},
    ("diagnoses", "diagnosis_type"): {"A", "B"},
    ("prescriptions", "prescriber_type"): {"gp", "hospital", "psychiatry", "other"},
    ("appointments", "kind"): {
        "diabetes_annual_control",
        "diabetes_control",
        "eye_screening",
        "foot_examination",
        "copd_control",
        "heart_outpatient",
        "psychiatric_outpatient",
        "gp_consultation",
        "rehabilitation",
    },
    ("appointments", "provider_type"): {
        "gp",
        "hospital_outpatient",
        "municipality",
        "psychiatry",
    },
    ("appointments", "status"): {
        "attended",
        "no_show",
        "cancelled_by_citizen",
        "cancelled_by_provider",
        "scheduled",
    },
    ("hospital_contacts", "contact_type"): {
        "acute_admission",
        "planned_admission",
        "emergency_department",
        "outpatient",
    },
}
FORMATS = {
    ("citizens", "municipality_code"): r"^[0-9]{3}$",
    ("citizens", "preferred_language"): r"^[a-z]{2}$",
    ("prescriptions", "atc_code"): r"^[A-Z][0-9]{2}[A-Z]{2}[0-9]{2}$",
    ("lab_results", "npu_code"): r"^NPU[0-9]{5}$",
    ("hospital_contacts", "primary_diagnosis"): r"^D[A-Z][0-9]{2}[0-9A-Z]*$",
}
CODE = r"^[A-Z0-9]+$"  # upper case, no dots
CPR = r"^((0[1-9]|[12][0-9]|3[01])(0[1-9]|1[0-2])[0-9]{2}-?[0-9]{4}|[0-9]{10})$"
ARROW = {
    S: pa.string(),
    D: pa.date32(),
    INT: pa.int64(),
    N: pa.float64(),
    B: pa.bool_(),
}


def _read(result: GenerationResult, table: str) -> pa.Table:
    """Read one table with the contract's types (a bad type fails to parse)."""
    path = result.out_dir / f"{table}.{result.fmt}"
    types = {c: ARROW[t] for c, (t, _) in CONTRACT[table].items()}
    if result.fmt == "csv":
        options = pacsv.ConvertOptions(
            column_types=types,
            strings_can_be_null=True,
            true_values=["true"],
            false_values=["false"],
        )
        return pacsv.read_csv(path, convert_options=options)
    return pq.read_table(path).cast(pa.schema([(c, types[c]) for c in CONTRACT[table]]))


@pytest.fixture(scope="session")
def tables(small_extract: GenerationResult) -> dict[str, pa.Table]:
    return {name: _read(small_extract, name) for name in CONTRACT}


# --- layout and columns -------------------------------------------------------


def test_generate_extract_layout_holds_extract_json_and_six_tables(
    small_extract: GenerationResult,
) -> None:
    names = sorted(p.name for p in small_extract.out_dir.iterdir())
    assert names == sorted(["extract.json", *(f"{t}.csv" for t in CONTRACT)])
    info = json.loads(
        (small_extract.out_dir / "extract.json").read_text(encoding="utf-8")
    )
    assert info["contract"] == "journal-extract/1"
    assert info["extract_date"] == EXTRACT_DATE.isoformat()
    assert isinstance(info["source"], str) and info["source"]
    assert set(info) == {"contract", "extract_date", "source"}


@pytest.mark.parametrize("table", list(CONTRACT))
def test_generate_extract_columns_are_exactly_the_contract(
    tables: dict[str, pa.Table], table: str
) -> None:
    assert tables[table].column_names == list(CONTRACT[table])
    assert tables[table].num_rows > 0


@pytest.mark.parametrize("table", list(CONTRACT))
def test_generate_extract_required_columns_have_no_nulls(
    tables: dict[str, pa.Table], table: str
) -> None:
    for column, (_, nullable) in CONTRACT[table].items():
        if not nullable:
            assert tables[table][column].null_count == 0, column


@pytest.mark.parametrize(("table", "column"), list(ENUMS))
def test_generate_extract_enums_hold(
    tables: dict[str, pa.Table], table: str, column: str
) -> None:
    values = set(pc.unique(tables[table][column].drop_null()).to_pylist())
    assert values <= ENUMS[(table, column)]


@pytest.mark.parametrize(("table", "column"), list(FORMATS))
def test_generate_extract_code_formats_hold(
    tables: dict[str, pa.Table], table: str, column: str
) -> None:
    values = pc.unique(tables[table][column].drop_null()).to_pylist()
    bad = [v for v in values if not re.match(FORMATS[(table, column)], v)]
    assert values and bad == []


def test_generate_extract_diagnosis_codes_match_their_system(
    tables: dict[str, pa.Table],
) -> None:
    rows = (
        tables["diagnoses"]
        .select(["code_system", "code", "source", "diagnosis_type"])
        .to_pylist()
    )
    pairs = {
        (r["code_system"], r["code"], r["source"], r["diagnosis_type"]) for r in rows
    }
    for system, code, source, dtype in pairs:
        assert re.match(CODE, code)
        if system == "SKS":
            assert (
                re.match(r"^D[A-Z][0-9]{2}[0-9A-Z]*$", code)
                and source != "gp"
                and dtype in {"A", "B"}
            )
        else:
            assert (
                re.match(r"^[A-Z][0-9]{2}$", code) and source == "gp" and dtype is None
            )


# --- ids and keys -------------------------------------------------------------


@pytest.mark.parametrize(
    ("table", "column"),
    [
        ("citizens", "citizen_id"),
        ("prescriptions", "prescription_id"),
        ("appointments", "appointment_id"),
        ("hospital_contacts", "contact_id"),
    ],
)
def test_generate_extract_ids_are_unique_and_not_cpr_shaped(
    tables: dict[str, pa.Table], table: str, column: str
) -> None:
    ids = tables[table][column]
    assert pc.count_distinct(ids).as_py() == len(ids)
    assert not pc.any(pc.match_substring_regex(ids, CPR)).as_py()


@pytest.mark.parametrize("table", [t for t in CONTRACT if t != "citizens"])
def test_generate_extract_events_belong_to_known_citizens(
    tables: dict[str, pa.Table], table: str
) -> None:
    known = tables["citizens"]["citizen_id"]
    assert pc.all(pc.is_in(tables[table]["citizen_id"], value_set=known)).as_py()


# --- dates --------------------------------------------------------------------


DATED = [
    ("citizens", "birth_date"),
    ("citizens", "death_date"),
    ("citizens", "emigration_date"),
    ("diagnoses", "diagnosis_date"),
    ("prescriptions", "issued_date"),
    ("prescriptions", "redeemed_date"),
    ("lab_results", "sample_date"),
    ("hospital_contacts", "start_date"),
    ("hospital_contacts", "end_date"),
]


@pytest.mark.parametrize(("table", "column"), DATED)
def test_generate_extract_no_event_after_extract_date(
    tables: dict[str, pa.Table], table: str, column: str
) -> None:
    assert pc.max(tables[table][column]).as_py() <= EXTRACT_DATE


def test_generate_extract_only_scheduled_appointments_lie_ahead(
    tables: dict[str, pa.Table],
) -> None:
    appts = tables["appointments"]
    ahead = pc.greater(appts["scheduled_date"], pa.scalar(EXTRACT_DATE))
    scheduled = pc.equal(appts["status"], "scheduled")
    assert pc.all(pc.equal(ahead, scheduled)).as_py()
    assert pc.sum(scheduled).as_py() > 0  # some future bookings exist


def test_generate_extract_intervals_are_ordered(tables: dict[str, pa.Table]) -> None:
    rx, hc = tables["prescriptions"], tables["hospital_contacts"]
    assert pc.all(
        pc.greater_equal(rx["redeemed_date"], rx["issued_date"]).fill_null(True)
    ).as_py()
    assert pc.all(
        pc.greater_equal(hc["end_date"], hc["start_date"]).fill_null(True)
    ).as_py()
    assert pc.min(rx["days_supply"]).as_py() > 0


def test_generate_extract_no_event_after_death_or_emigration(
    tables: dict[str, pa.Table],
) -> None:
    cit = tables["citizens"].to_pylist()
    gone = {
        r["citizen_id"]: min(d for d in (r["death_date"], r["emigration_date"]) if d)
        for r in cit
        if r["death_date"] or r["emigration_date"]
    }
    late = [
        (name, row["citizen_id"])
        for name, column in (
            ("diagnoses", "diagnosis_date"),
            ("prescriptions", "issued_date"),
            ("appointments", "scheduled_date"),
            ("lab_results", "sample_date"),
        )
        for row in tables[name].select(["citizen_id", column]).to_pylist()
        if row["citizen_id"] in gone and row[column] > gone[row["citizen_id"]]
    ]
    assert gone and late == []


def test_generate_extract_rows_reported_match_files(
    small_extract: GenerationResult, tables: dict[str, pa.Table]
) -> None:
    assert small_extract.rows == {name: t.num_rows for name, t in tables.items()}
    assert small_extract.n_citizens == tables["citizens"].num_rows == 5000


# --- ground truth stays outside -----------------------------------------------


def test_generate_extract_truth_lies_beside_the_extract(
    small_extract: GenerationResult,
) -> None:
    out = small_extract.out_dir
    assert small_extract.truth_path == out.parent / "region_small.truth.parquet"
    assert (
        small_extract.truth_risk_path == out.parent / "region_small.truth_risk.parquet"
    )
    assert not small_extract.truth_path.is_relative_to(out)
    truth = pq.read_table(small_extract.truth_path)
    assert truth.num_rows == small_extract.n_citizens
    assert "engagement" in truth.column_names


# --- determinism and atomic writing -------------------------------------------


def _bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_generate_extract_same_seed_gives_identical_bytes(
    tmp_path: Path, tiny_profile, fmt: str
) -> None:
    first = generate_extract(tiny_profile, tmp_path / "a", fmt=fmt)
    second = generate_extract(tiny_profile, tmp_path / "b", fmt=fmt)
    assert _bytes(first.out_dir) == _bytes(second.out_dir)
    assert first.truth_path.read_bytes() == second.truth_path.read_bytes()
    assert first.truth_risk_path.read_bytes() == second.truth_risk_path.read_bytes()


def test_generate_extract_other_seed_gives_other_data(
    tmp_path: Path, tiny_profile
) -> None:
    import dataclasses

    first = generate_extract(tiny_profile, tmp_path / "a", fmt="csv")
    other = generate_extract(
        dataclasses.replace(tiny_profile, seed=7), tmp_path / "b", fmt="csv"
    )
    assert (
        _bytes(first.out_dir)["diagnoses.csv"] != _bytes(other.out_dir)["diagnoses.csv"]
    )


def test_generate_extract_reports_progress_to_the_end(
    tmp_path: Path, tiny_profile
) -> None:
    calls: list[tuple[int, int]] = []
    generate_extract(
        tiny_profile,
        tmp_path / "x",
        fmt="parquet",
        progress=lambda d, t: calls.append((d, t)),
    )
    assert calls[0] == (0, 300) and calls[-1] == (300, 300)


def test_generate_extract_failure_leaves_no_trace(tmp_path: Path, tiny_profile) -> None:
    def fail(done: int, total: int) -> None:
        if done == total:
            raise RuntimeError("stop")

    with pytest.raises(RuntimeError):
        generate_extract(tiny_profile, tmp_path / "x", fmt="csv", progress=fail)
    assert list(tmp_path.iterdir()) == []


def test_generate_extract_replaces_an_earlier_extract(
    tmp_path: Path, tiny_profile
) -> None:
    import dataclasses

    generate_extract(
        dataclasses.replace(tiny_profile, citizens=50), tmp_path / "x", fmt="csv"
    )
    result = generate_extract(tiny_profile, tmp_path / "x", fmt="csv")
    assert result.rows["citizens"] == 300
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "x",
        "x.truth.parquet",
        "x.truth_risk.parquet",
        "x.truth_smi.parquet",
    ]


def test_generate_extract_refuses_a_folder_that_is_not_an_extract(
    tmp_path: Path, tiny_profile
) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(FileExistsError) as caught:
        generate_extract(tiny_profile, tmp_path / "x")
    assert str(caught.value) == (
        f"{tmp_path / 'x'} exists and is not an extract (no extract.json); "
        "refusing to replace it."
    )


def test_generate_extract_unknown_format_message(tmp_path: Path, tiny_profile) -> None:
    with pytest.raises(ProfileError) as caught:
        generate_extract(tiny_profile, tmp_path / "x", fmt="xlsx")
    assert str(caught.value) == (
        "The 'fmt' parameter of generate_extract must be a str among "
        "{'csv', 'parquet'}. "
        "Got 'xlsx' instead."
    )
