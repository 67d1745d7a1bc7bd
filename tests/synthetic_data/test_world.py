"""A family of worlds: drawing, validation, coverage, the truth, and each driver's
direction, on small constructed worlds of region_small (5,000 citizens)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pyarrow.parquet as pq
import pytest

from synthetic_data import (
    WORLD_RANGES,
    GenerationResult,
    ProfileError,
    World,
    apply_world,
    draw_world,
    generate_extract,
    load_profile,
)
from synthetic_data.world import EVENT_TABLES, LATER_RANGES, coverage_starts

EXTRACT_DATE = date(2026, 11, 23)
DATE_COLUMN = {
    "diagnoses": "diagnosis_date",
    "prescriptions": "issued_date",
    "appointments": "scheduled_date",
    "lab_results": "sample_date",
    "hospital_contacts": "start_date",
}
#: Every new driver switched off, nothing unobserved: the reference world.
OFF = {
    "egfr_effect": 0.0,
    "albuminuria_effect": 0.0,
    "marker_effect": 0.0,
    "prior_admission_effect": 0.0,
    "psych_admission_effect": 0.0,
    "frailty_sd": 0.0,
    "living_alone_effect": 0.0,
    "egfr_reported": True,
    "psych_admission_rate": 0.4,
    "history_years": 6,
    "coverage_years": dict.fromkeys(EVENT_TABLES, 6.0),
}
World_ = Callable[..., GenerationResult]


# --- drawing and validation ---------------------------------------------------


def test_draw_world_is_deterministic_per_seed() -> None:
    assert draw_world(11) == draw_world(11)
    assert draw_world(11) != draw_world(12)


@pytest.mark.parametrize("seed", range(60))
def test_draw_world_stays_within_its_ranges(seed: int) -> None:
    world = draw_world(seed)
    for name, spec in WORLD_RANGES.items():
        value = getattr(world, name)
        if spec.kind == "bool":
            assert isinstance(value, bool)
        else:
            assert value == 0.0 or spec.low <= value <= spec.high, name
    years = world.coverage_years
    assert years["lab_results"] == world.history_years
    assert all(3.0 <= y <= world.history_years for y in years.values())
    if world.shared_coverage:
        assert len({y for t, y in years.items() if t != "lab_results"}) == 1
    assert set(world.coverage_declared) <= set(EVENT_TABLES)


def test_draw_world_spans_the_family() -> None:
    worlds = [draw_world(seed) for seed in range(200)]
    declared = {len(w.coverage_declared) for w in worlds}
    assert 0 in declared and len(EVENT_TABLES) in declared
    assert declared & {1, 2, 3, 4}
    assert 60 < sum(w.ascertainment_bias for w in worlds) < 140
    assert {w.history_years for w in worlds} == set(range(3, 11))
    assert any(w.egfr_effect == 0.0 for w in worlds)
    assert max(w.egfr_effect for w in worlds) > 0.3


def test_later_mechanisms_leave_the_earlier_draws_as_they_were() -> None:
    # Values drawn before ascertainment_engagement_slope existed
    # (bench/results/label_sweep.json of 2026-12-06 and robustness worlds).
    assert draw_world(101).engagement_education_gradient == 1.1745
    assert draw_world(106).engagement_education_gradient == 1.1322
    assert [draw_world(s).ascertainment_bias for s in range(101, 107)] == [
        False,
        True,
        False,
        True,
        False,
        True,
    ]
    assert draw_world(101).history_years == 5


def test_draw_world_draws_the_recording_gap_in_its_range() -> None:
    spec = LATER_RANGES["ascertainment_engagement_slope"]
    slopes = [draw_world(seed).ascertainment_engagement_slope for seed in range(200)]
    assert all(v == 0.0 or spec.low <= v <= spec.high for v in slopes)
    assert 25 < sum(v == 0.0 for v in slopes) < 75
    assert max(slopes) > 1.3
    world = draw_world(108)
    profile = apply_world(load_profile("region_small"), world)
    assert (
        profile.ascertainment_engagement_slope == world.ascertainment_engagement_slope
    )
    assert profile.ascertainment_window_days == 395


def test_world_refuses_a_value_outside_its_limit() -> None:
    with pytest.raises(ProfileError) as info:
        dataclasses.replace(draw_world(1), egfr_effect=-1.0)
    assert str(info.value) == (
        "The 'egfr_effect' parameter of World must be a float in the range "
        "[0.0, 3.0]. Got -1.0 instead."
    )


def test_world_refuses_coverage_longer_than_the_history() -> None:
    years = dict.fromkeys(EVENT_TABLES, 4.0)
    with pytest.raises(ProfileError, match="'coverage_years' parameter of World"):
        dataclasses.replace(draw_world(1), history_years=3, coverage_years=years)


def test_apply_world_twice_is_refused() -> None:
    profile = load_profile("region_small", world=3)
    with pytest.raises(ProfileError) as info:
        apply_world(profile, draw_world(4))
    assert str(info.value) == (
        "The profile profiles/region_small.toml already carries world 3; apply a "
        "world to a profile without one."
    )


def test_apply_world_scales_rates_and_sets_the_knobs() -> None:
    base, world = load_profile("region_small"), draw_world(5)
    profile = apply_world(base, world)
    assert profile.history_years == world.history_years
    assert profile.ascertainment_bias == world.ascertainment_bias
    assert profile.acute_admission_rate_type2 == pytest.approx(
        base.acute_admission_rate_type2 * world.acute_rate_factor
    )
    assert profile.complication_rates["eye"] == pytest.approx(
        base.complication_rates["eye"] * world.complication_rate_factor
    )


def _toml_with(tmp_path: Path, section: str) -> Path:
    text = Path(__file__).parents[2] / "synthetic_data/profiles/region_small.toml"
    path = tmp_path / "p.toml"
    path.write_text(text.read_text(encoding="utf-8") + section, encoding="utf-8")
    return path


def test_profile_world_section_draws_that_world(tmp_path: Path) -> None:
    path = _toml_with(tmp_path, "\n[world]\nseed = 8\n")
    assert load_profile(path).world == draw_world(8)
    assert load_profile(path, world=9).world == draw_world(9)


def test_profile_world_section_refuses_a_bad_seed(tmp_path: Path) -> None:
    path = _toml_with(tmp_path, '\n[world]\nseed = "x"\n')
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    assert str(info.value) == (
        f"The 'world.seed' parameter of {path} must be an int in the range "
        "[0, 4294967295]. Got 'x' instead."
    )


# --- generated worlds ---------------------------------------------------------


@pytest.fixture(scope="module")
def world_extract(tmp_path_factory: pytest.TempPathFactory) -> World_:
    """world_extract(**mechanisms): region_small in world 1 with OFF and overrides."""
    cache: dict[tuple[object, ...], GenerationResult] = {}

    def run(**mechanisms: object) -> GenerationResult:
        settings = {**OFF, **mechanisms}
        key = tuple(sorted((k, str(v)) for k, v in settings.items()))
        if key not in cache:
            world = dataclasses.replace(draw_world(1), **settings)
            profile = apply_world(load_profile("region_small"), world)
            out = tmp_path_factory.mktemp("world") / "w"
            cache[key] = generate_extract(profile, out, fmt="parquet")
        return cache[key]

    return run


STAGGERED = {
    "history_years": 7,
    "coverage_years": {
        "diagnoses": 3.0,
        "prescriptions": 4.5,
        "appointments": 3.5,
        "lab_results": 7.0,
        "hospital_contacts": 5.0,
    },
    "coverage_declared": ("prescriptions", "lab_results"),
}


def test_world_events_start_at_their_tables_coverage(world_extract: World_) -> None:
    result = world_extract(**STAGGERED)
    doc = json.loads(result.world_path.read_text(encoding="utf-8"))  # type: ignore[union-attr]
    for table, column in DATE_COLUMN.items():
        first = pq.read_table(result.out_dir / f"{table}.parquet")[column]
        start = date.fromisoformat(doc["coverage"][table]["from"])
        assert min(first.to_pylist()) >= start, table
        assert min(first.to_pylist()) < date(start.year + 1, start.month, 1), table


def test_world_coverage_in_extract_json_matches_world_json(
    world_extract: World_,
) -> None:
    result = world_extract(**STAGGERED)
    info = json.loads((result.out_dir / "extract.json").read_text(encoding="utf-8"))
    doc = json.loads(result.world_path.read_text(encoding="utf-8"))  # type: ignore[union-attr]
    assert set(info["coverage"]) == {"prescriptions", "lab_results"}
    for table, entry in info["coverage"].items():
        assert entry == {"from": doc["coverage"][table]["from"]}
    assert set(doc["coverage"]) == set(EVENT_TABLES)
    assert doc["coverage"]["lab_results"]["from"] == "2019-11-01"
    assert doc["mechanisms"]["egfr_effect"] == 0.0


def test_world_json_lies_beside_the_extract(world_extract: World_) -> None:
    result = world_extract()
    assert result.world_path == result.out_dir.with_name("w.world.json")
    assert not (result.out_dir / "w.world.json").exists()
    assert sorted(p.name for p in result.out_dir.iterdir()) == sorted(
        ["extract.json", *(f"{t}.parquet" for t in ["citizens", *EVENT_TABLES])]
    )


def test_world_without_declared_coverage_writes_plain_extract_json(
    world_extract: World_,
) -> None:
    result = world_extract(coverage_declared=())
    info = json.loads((result.out_dir / "extract.json").read_text(encoding="utf-8"))
    assert "coverage" not in info


def test_world_truth_holds_extract_date_and_quarter_starts(
    world_extract: World_,
) -> None:
    truth = pq.read_table(world_extract().truth_risk_path)
    days = set(truth["index_date"].to_pylist())
    assert EXTRACT_DATE in days
    assert date(2026, 10, 1) in days and date(2023, 1, 1) in days
    at_end = truth.filter(np.array(truth["index_date"].to_pylist()) == EXTRACT_DATE)
    risk = np.array(at_end["true_risk_harm_365d"].to_pylist())
    event = np.array(at_end["true_event_harm_365d"].to_pylist())
    assert at_end.num_rows > 300
    assert abs(event.mean() - risk.mean()) < 0.35 * risk.mean()


def test_coverage_starts_never_precede_the_history() -> None:
    world = dataclasses.replace(draw_world(2), **STAGGERED)
    starts = coverage_starts(world, EXTRACT_DATE)
    assert starts["lab_results"] == date(2019, 11, 1)
    assert starts["diagnoses"] == date(2023, 11, 23)
    assert min(starts.values()) == starts["lab_results"]


# --- each driver raises true risk in its direction ----------------------------

SIGNALS = {
    # latest eGFR (lower is worse), as -eGFR so that a higher signal is worse
    "egfr": "select citizen_id, -arg_max(value, sample_date) as v from lab_results "
    "where npu_code = 'NPU19923' group by 1",
    "albuminuria": "select citizen_id, arg_max(value, sample_date) as v "
    "from lab_results where npu_code = 'NPU19661' group by 1",
    "marker": "select citizen_id, 1 as v from prescriptions where atc_code in "
    "('C03CA01', 'H02AB06', 'N02AA05', 'A10AB05') group by 1",
    "prior": "select citizen_id, 1 as v from hospital_contacts "
    "where contact_type = 'acute_admission' and start_date >= date '2025-01-01' "
    "and primary_diagnosis in ('DE111', 'DE101', 'DE160', 'DE110', 'DE100') "
    "group by 1",
}


def _worst_vs_best(result: GenerationResult, signal: str) -> float:
    """Mean true risk at extract_date: worst third (or with signal) / the rest."""
    con = duckdb.connect()
    for table in ("lab_results", "prescriptions", "hospital_contacts"):
        con.execute(
            f"create view {table} as select * from "
            f"read_parquet('{result.out_dir / table}.parquet')"
        )
    rows = con.execute(
        f"""
        with s as ({SIGNALS[signal]}),
        t as (
            select true_risk_harm_365d as r, coalesce(s.v, 0) as v
            from read_parquet('{result.truth_risk_path}') as t
            left join s using (citizen_id)
            where index_date = date '{EXTRACT_DATE}'
        ),
        b as (select r, ntile(3) over (order by v) as tile, v from t)
        select
            avg(r) filter (where tile = 3) / avg(r) filter (where tile = 1),
            avg(r) filter (where v > 0) / avg(r) filter (where v <= 0)
        from b
        """
    ).fetchone()
    assert rows is not None
    return float(rows[0] if signal in ("egfr", "albuminuria") else rows[1])


@pytest.mark.parametrize(
    ("signal", "mechanisms"),
    [
        ("egfr", {"egfr_effect": 0.35}),
        ("albuminuria", {"albuminuria_effect": 0.3}),
        ("marker", {"marker_effect": 0.6, "marker_loading": 1.5}),
        ("prior", {"prior_admission_effect": 0.7}),
    ],
)
def test_observable_driver_raises_true_risk_along_its_signal(
    world_extract: World_, signal: str, mechanisms: dict[str, float]
) -> None:
    loading = {k: v for k, v in mechanisms.items() if k == "marker_loading"}
    off = _worst_vs_best(world_extract(**loading), signal)
    on = _worst_vs_best(world_extract(**mechanisms), signal)
    assert on > 1.2 * off > 0


def test_psychiatric_admissions_raise_acute_risk(world_extract: World_) -> None:
    off, on = world_extract(), world_extract(psych_admission_effect=0.7)
    risk_off, risk_on = _risk_at_end(off), _risk_at_end(on)
    admitted = _psych_admitted(on)
    assert len(admitted & set(risk_on)) >= 3
    for citizen in admitted & set(risk_on):
        assert risk_on[citizen] > risk_off[citizen]
    never = set(risk_on) - _psych_admitted(on, "1900-01-01", "2100-01-01")
    assert all(risk_on[c] == pytest.approx(risk_off[c]) for c in never)


def _risk_at_end(result: GenerationResult) -> dict[str, float]:
    truth = pq.read_table(result.truth_risk_path).to_pylist()
    return {
        r["citizen_id"]: r["true_risk_harm_365d"]
        for r in truth
        if r["index_date"] == EXTRACT_DATE
    }


def _psych_admitted(
    result: GenerationResult, since: str = "2025-01-01", until: str = "2026-09-23"
) -> set[str]:
    """Citizens with a psychiatric admission in [since, until] (inside 2 years)."""
    contacts = pq.read_table(result.out_dir / "hospital_contacts.parquet").to_pylist()
    return {
        c["citizen_id"]
        for c in contacts
        if c["contact_type"] == "acute_admission"
        and c["primary_diagnosis"].startswith("DF")
        and date.fromisoformat(since) <= c["start_date"] <= date.fromisoformat(until)
    }


def test_psychiatric_admissions_reach_contacts_and_diagnoses(
    world_extract: World_,
) -> None:
    result = world_extract()
    admitted = _psych_admitted(result, "1900-01-01", "2100-01-01")
    rows = pq.read_table(result.out_dir / "diagnoses.parquet").to_pylist()
    coded = {
        r["citizen_id"]
        for r in rows
        if r["source"] == "psychiatry"
        and r["diagnosis_type"] == "A"
        and r["code"] in ("DF200", "DF250", "DF311", "DF322", "DF102", "DF432")
    }
    assert len(admitted) > 10
    assert admitted <= coded


def test_unobserved_frailty_changes_true_risk_not_the_observed_drivers(
    world_extract: World_,
) -> None:
    flat, frail = world_extract(), world_extract(frailty_sd=0.8)
    for table in ("citizens", "appointments", "prescriptions", "lab_results"):
        a = pq.read_table(flat.out_dir / f"{table}.parquet")
        b = pq.read_table(frail.out_dir / f"{table}.parquet")
        assert a.equals(b), table
    risk_flat, risk_frail = _risk_at_end(flat), _risk_at_end(frail)
    assert risk_flat.keys() == risk_frail.keys()
    ratio = np.array([risk_frail[c] / risk_flat[c] for c in risk_flat])
    assert ratio.std() > 0.3
    assert 0.7 < np.median(ratio) < 1.1


def test_egfr_not_reported_leaves_creatinine_only(world_extract: World_) -> None:
    result = world_extract(egfr_reported=False)
    codes = set(
        pq.read_table(result.out_dir / "lab_results.parquet")["npu_code"].to_pylist()
    )
    assert "NPU18016" in codes and "NPU19923" not in codes


def test_world_extract_is_deterministic(tmp_path: Path, world_extract: World_) -> None:
    first = world_extract(**STAGGERED)
    world = dataclasses.replace(draw_world(1), **{**OFF, **STAGGERED})
    profile = apply_world(load_profile("region_small"), world)
    again = generate_extract(profile, tmp_path / "w", fmt="parquet")
    for name in ["citizens", *EVENT_TABLES]:
        a = (first.out_dir / f"{name}.parquet").read_bytes()
        assert a == (again.out_dir / f"{name}.parquet").read_bytes(), name
    assert first.truth_risk_path.read_bytes() == again.truth_risk_path.read_bytes()
    assert first.world_path.read_text() == again.world_path.read_text()  # type: ignore[union-attr]


def test_world_type_is_exported() -> None:
    assert isinstance(draw_world(0), World)


def test_worlds_are_independent_samples_of_citizens(tmp_path: Path) -> None:
    births = []
    for seed in (1, 2):
        profile = load_profile("region_small", citizens=300, world=seed)
        result = generate_extract(profile, tmp_path / f"w{seed}", fmt="parquet")
        citizens = pq.read_table(result.out_dir / "citizens.parquet")
        births.append(citizens["birth_date"].to_pylist())
    plain = generate_extract(
        load_profile("region_small", citizens=300), tmp_path / "plain", fmt="parquet"
    )
    plain_births = pq.read_table(plain.out_dir / "citizens.parquet")["birth_date"]
    assert births[0] != births[1]
    assert plain_births.to_pylist() not in births
