"""The SMI somatic-screening programme end to end on a generated region (issue 19).

generate (region_small, severe mental illness over-sampled as in region_demo) ->
load -> train smi_somatic_365d, its rule and its GP-journal-only comparator ->
score all three at the test date -> ``run_audit`` (model scope: fairness.json
with the GP-contact comparison) -> the Monday job for ``smi_somatic_screening``.

What is asserted: the list's invariants as for the Diabetes Bus (capacity in
all and per municipality, opted-out, dead and emigrated never listed) and the
programme's clinical rules (nobody screened in the last year, nobody in
hospital now); the audit's GP-contact comparison is in fairness.json for the
three rankings; and the survey's question on this region: the GP-journal-only
ranking under-reaching citizens without GP contact where the model does not is
a strict xfail with the measured figures (here the model leans to regular GP
contact as much as the GP journal does, or more).
"""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from features.settings import EngineSettings

CITIZENS = 10_000
SMI_PREVALENCE = 0.072  # x6, as region_demo (synthetic_data/README.md)
SPECS = ("smi_somatic_365d", "smi_somatic_365d_rule", "smi_somatic_365d_gp")
WEEK = "2026-W48"


@pytest.fixture(scope="module")
def smi_region(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from features.load import load_extract
    from models.score import score_citizens
    from models.spec import load_spec
    from models.train import train_model
    from outreach.programmes import load_programme
    from outreach.weekly import run_weekly
    from reports.audit import run_audit
    from synthetic_data import generate_extract, load_profile

    root = tmp_path_factory.mktemp("smi")
    mp = pytest.MonkeyPatch()
    for var in ("OPSPOR_DB", "MLFLOW_TRACKING_URI", "OPSPOR_OPERATIONAL_DB"):
        mp.delenv(var, raising=False)
    try:
        profile = dataclasses.replace(
            load_profile("region_small", citizens=CITIZENS),
            smi_prevalence_by_age={"0-15": 0.0, "16-120": SMI_PREVALENCE},
        )
        generated = generate_extract(profile, root / "extract", fmt="parquet")
        settings = EngineSettings(output_dir=root / "build")
        load_extract(generated.out_dir, settings=settings)
        trained = {s: train_model(load_spec(s), settings=settings) for s in SPECS}
        test_date = trained[SPECS[0]].test_date
        for spec in SPECS:
            score_citizens(settings, model=f"{spec}@1", as_of=test_date)
        programme = load_programme("smi_somatic_screening")
        audit = run_audit(
            settings,
            programme=programme.name,
            k=programme.capacity_per_week,
            model=f"{SPECS[0]}@1",
        )
        weekly = run_weekly(settings, programme=programme, week=WEEK)
        yield {
            "settings": settings,
            "trained": trained,
            "audit": audit,
            "fairness": json.loads(Path(audit.json).read_text(encoding="utf-8")),
            "weekly": weekly,
            "programme": programme,
        }
    finally:
        mp.undo()


def _rows(settings: EngineSettings, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


@pytest.mark.slow
def test_smi_models_train_with_enough_events(smi_region: dict[str, Any]) -> None:
    for spec, result in smi_region["trained"].items():
        assert result.events["train"] >= 100, spec
        assert result.events["test"] >= 10, spec


@pytest.mark.slow
def test_smi_list_keeps_capacity_exclusions_and_clinical_rules(
    smi_region: dict[str, Any],
) -> None:
    weekly, programme = smi_region["weekly"], smi_region["programme"]
    settings = smi_region["settings"]
    listed = _rows(
        settings,
        "select citizen_id, area from outreach.lists where list_id = $l",
        l=weekly.list_id,
    )
    assert 0 < len(listed) <= programme.capacity_per_week
    per_area: dict[str, int] = {}
    for _, area in listed:
        per_area[area] = per_area.get(area, 0) + 1
    assert all(n <= programme.area_capacity(a) for a, n in per_area.items())
    ids = [c for c, _ in listed]
    as_of = weekly.as_of_date
    protected = _rows(
        settings,
        "select citizen_id from raw.citizens where outreach_opt_out"
        " or death_date is not null or emigration_date is not null",
    )
    assert not set(ids) & {r[0] for r in protected}
    screened = _rows(
        settings,
        "select citizen_id from raw.lab_results where sample_date <= $d"
        " and sample_date > $from group by citizen_id"
        " having count(*) filter (where npu_code = 'NPU27300') > 0"
        " and count(*) filter (where npu_code in ('NPU01566', 'NPU01568')) > 0",
        d=as_of,
        **{"from": as_of - timedelta(days=365)},
    )
    inpatients = _rows(
        settings,
        "select citizen_id from raw.hospital_contacts where contact_type in"
        " ('acute_admission', 'planned_admission') and start_date <= $d"
        " and (end_date is null or end_date > $d)",
        d=as_of,
    )
    assert not set(ids) & {r[0] for r in screened}
    assert not set(ids) & {r[0] for r in inpatients}
    suppressed = weekly.counts["suppressed"]
    assert suppressed["screened"] > 0  # the rule is exercised on this region
    assert set(suppressed) >= {"screened", "inpatient"}


@pytest.mark.slow
def test_audit_compares_model_gp_journal_and_rule_by_gp_contact(
    smi_region: dict[str, Any],
) -> None:
    comparison = smi_region["fairness"]["gp_contact_comparison"]
    assert set(comparison["rankings"]) == {"model", "gp_journal", "rule"}
    assert comparison["k"] == smi_region["programme"].capacity_per_week
    quarter = comparison["over_a_quarter"]
    assert quarter["k"] == 13 * comparison["k"]
    for result in (comparison, quarter):
        for per in result["rankings"].values():
            cells = per["gp_contact_level"]["list_share"]
            assert {c["n"] for c in cells.values()} == {result["k"]}
            shown = [c["estimate"] for c in cells.values() if c["estimate"] is not None]
            assert sum(shown) <= 1.0 + 1e-9
            assert set(per) == {"gp_contact_level", "education_level"}
    html = Path(smi_region["audit"].folder) / "gp_contact.html"
    assert html.exists()


def _survey_gaps(smi_region: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Gap regular - none among citizens with the outcome, at a quarter's share.

    A quarter of weekly lists is 325 of the demo's 1,278 citizens (25 %); this
    region is smaller, so the same share of its cohort is listed. Cells of 5 are
    shown here (a test, not a report).
    """
    from reports.gp_contact import compare_gp_contact, load_comparison_frame

    settings, audit = smi_region["settings"], smi_region["audit"]
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        frame, uris = load_comparison_frame(
            con,
            model_uri=audit.model_uri,
            as_of_date=audit.as_of_date,
            outcome=SPECS[0],
        )
    finally:
        con.close()
    result = compare_gp_contact(
        frame, rankings=list(uris), k=len(frame) // 4, n_bootstrap=400, min_cell=5
    )
    return {
        name: {
            **per["gp_contact_level"]["gap_regular_vs_none"]["equal_outcome"],
            "events": {
                g: (c["n"], c["estimate"])
                for g, c in per["gp_contact_level"]["equal_outcome"].items()
            },
        }
        for name, per in result["rankings"].items()
    }


@pytest.mark.slow
def test_survey_question_has_an_answer_on_this_region(
    smi_region: dict[str, Any],
) -> None:
    gaps = _survey_gaps(smi_region)
    for name, gap in gaps.items():
        assert gap["events"]["none"][0] >= 5, (name, gap)
        assert gap["ci_low"] is not None and gap["ci_high"] is not None, (name, gap)


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason=(
        "Not in the generator's world: the model repeats the survey's failure. "
        "With the 730-day HbA1c and lipid recency features, on this 10,000-citizen "
        "region (50 SMI citizens with the outcome at the test date: 7 without GP "
        "contact, 17 low, 26 regular), listing 25 % of the cohort, share listed "
        "none / low / regular: model 0.29 / 0.29 / 0.81 (gap regular - none 0.52 "
        "[0.08, 0.85]), GP journal only 0.29 / 0.41 / 0.73 (gap 0.45 [0.03, 0.81]), "
        "rule 0.14 / 0.35 / 0.23 (gap 0.09 [-0.35, 0.38]). Among citizens with "
        "recorded harm, need is not equal: those in regular GP contact are older "
        "and carry the chronic conditions that raise acute admissions, so even the "
        "generator's true-risk ranking lists them more often (bench.smi_compare, "
        "README 'Need read from the truth')."
    ),
)
def test_gp_journal_under_reaches_no_gp_contact_where_the_model_does_not(
    smi_region: dict[str, Any],
) -> None:
    gaps = _survey_gaps(smi_region)
    assert gaps["gp_journal"]["ci_low"] > 0, gaps
    assert gaps["model"]["ci_low"] <= 0, gaps
