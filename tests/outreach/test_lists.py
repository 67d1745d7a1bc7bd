from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pytest

import models.explain
from features.errors import ConfigError, DataError, NotFoundError
from features.provenance import stamp_derived
from features.settings import EngineSettings
from outreach.app.store import ensure_outreach_tables
from outreach.lists import (
    ListInvariantError,
    StaleDataError,
    build_weekly_list,
    check_list_invariants,
    parse_week,
    read_list,
    resolve_as_of,
    view_list,
)

W40 = "2026-W40"
W40_MONDAY = date(2026, 9, 28)


def _ids(con: duckdb.DuckDBPyConnection, list_id: str) -> list[str]:
    return read_list(con, list_id)["citizen_id"].tolist()


def _contact(
    con: duckdb.DuckDBPyConnection, citizen: str, outcome: str, when: date
) -> None:
    ensure_outreach_tables(con)
    con.execute(
        "insert into outreach.contacts values ('old', 'test_bus', '2026-W30', $c, "
        "$o, $d, 'x', false,"
        " null, now(), 'test', null, null, null, 0)",
        {"c": citizen, "o": outcome, "d": when},
    )


def _appointment(
    con: duckdb.DuckDBPyConnection,
    citizen: str,
    kind: str,
    when: date,
    status: str = "attended",
) -> None:
    con.execute(
        "insert into raw.appointments values ($id, $c, $d, $k, 'gp', $s)",
        {
            "id": f"A-{citizen}-{kind}-{when}",
            "c": citizen,
            "d": when,
            "k": kind,
            "s": status,
        },
    )


# --- week and as-of date -----------------------------------------------------


def test_parse_week_gives_the_monday() -> None:
    assert parse_week("2026-W48") == date(2026, 11, 23)
    assert parse_week("2026-W01") == date(2025, 12, 29)


@pytest.mark.parametrize(
    "week",
    [
        "2026-48",
        "2026-W54",
        "26-W10",
        "2026-w10",
        "2026-W48\n",
        "٢٠٢٦-W48",
        "2026-W4８",
    ],
)
def test_parse_week_refuses_malformed(week: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_week(week)
    assert str(error.value) == f"The week {week!r} is not an ISO week like 2026-W48."


def test_resolve_as_of_never_after_extract() -> None:
    assert resolve_as_of(date(2026, 11, 30), date(2026, 11, 23)) == date(2026, 11, 23)
    assert resolve_as_of(date(2026, 11, 16), date(2026, 11, 23)) == date(2026, 11, 16)


def test_build_weekly_list_week_after_extract_uses_extract_date(
    region, make_programme, upstream
) -> None:
    result = build_weekly_list(region, make_programme(), week=upstream.NEXT_WEEK)
    assert result.week_start == date(2026, 11, 30)
    assert result.as_of_date == upstream.EXTRACT_DATE == result.extract_date
    assert result.counts["listed"] == 12


# --- only from matching, fresh data --------------------------------------------

STALE_WEEK = "2027-W30"  # Monday 2027-07-26: 245 days after the extract


def test_build_weekly_list_refuses_a_stale_extract(
    region, make_programme, upstream
) -> None:
    with pytest.raises(StaleDataError) as caught:
        build_weekly_list(region, make_programme(), week=STALE_WEEK)
    assert str(caught.value) == (
        "The loaded extract is dated 2026-11-23, 245 days before week 2027-W30 "
        "starts (2027-07-26); programme 'test_bus' allows at most 14 "
        "(max_extract_age_days). Load a newer extract, or pass --allow-stale "
        "--reason TEXT."
    )
    with pytest.raises(ConfigError) as caught_config:
        build_weekly_list(region, make_programme(), week=STALE_WEEK, allow_stale=True)
    assert str(caught_config.value) == (
        "Building a list from a stale extract needs a reason: "
        '--allow-stale --reason "...".'
    )


def test_build_weekly_list_allow_stale_is_stored_and_shown(
    region, make_programme, upstream, tmp_path: Path
) -> None:
    result = build_weekly_list(
        region,
        make_programme(),
        week=STALE_WEEK,
        allow_stale=True,
        reason="extract delayed by the region",
        actor="anna",
        output_dir=tmp_path,
        formats=("csv", "html"),
    )
    assert result.counts["stale_extract"] == {
        "age_days": 245,
        "max_days": 14,
        "allowed_by": "anna",
        "reason": "extract delayed by the region",
    }
    note = (
        "245 days old on 2027-07-26 (limit 14); allowed by anna: "
        "extract delayed by the region"
    )
    assert note in Path(result.paths["csv"]).read_text(encoding="utf-8")
    assert note in Path(result.paths["html"]).read_text(encoding="utf-8")
    stored = region.execute(
        "select reason, counts from outreach.list_runs where list_id = $id",
        {"id": result.list_id},
    ).fetchone()
    assert stored[0] == "extract delayed by the region"
    assert json.loads(stored[1])["stale_extract"]["age_days"] == 245


def test_build_weekly_list_max_extract_age_is_a_programme_setting(
    region, make_programme
) -> None:
    result = build_weekly_list(
        region, make_programme(max_extract_age_days=300), week=STALE_WEEK
    )
    assert "stale_extract" not in result.counts
    with pytest.raises(ConfigError) as caught:
        make_programme(max_extract_age_days=-1)
    assert str(caught.value) == (
        "The 'max_extract_age_days' parameter of Programme must be an int in the "
        "range [0, 366]. Got -1 instead."
    )


@pytest.mark.parametrize("kind", ["features", "scores", "reasons"])
def test_build_weekly_list_refuses_results_of_another_extract(
    region, make_programme, upstream, kind: str
) -> None:
    stamp_derived(
        region, kind, as_of_dates=[upstream.EXTRACT_DATE], model_uri=upstream.MODEL_URI
    )  # stamped from the loaded extract: fine
    build_weekly_list(region, make_programme(), week=upstream.WEEK)
    region.execute("update provenance.stamps set extract_hash = 'hash-old-region'")
    with pytest.raises(StaleDataError) as caught:
        build_weekly_list(
            region, make_programme(), week=upstream.WEEK, regenerate=True, reason="r"
        )
    assert str(caught.value) == (
        f"The {kind} at as-of date 2026-11-23 stem from another extract "
        "(hash-old-reg) than the loaded one (hash-abc); rebuild them (`opspor "
        "weekly`, or features, score and explain) before building a list."
    )


# --- citizens who must never be listed ----------------------------------------


def test_build_weekly_list_excludes_opted_out_from_both_registers(
    con, make_programme, upstream
) -> None:
    upstream.build_region(con, overrides={0: {"outreach_opt_out": True}})
    ensure_outreach_tables(con)
    con.execute(
        "insert into outreach.opt_outs values ('P00001', '2026-10-01', 'old', 'x', "
        "now(), null)"
    )
    result = build_weekly_list(con, make_programme(), week=upstream.WEEK)
    listed = _ids(con, result.list_id)
    assert "P00000" not in listed and "P00001" not in listed
    assert result.counts["excluded"]["opt_out"] == 2
    assert result.counts["listed"] == 12


def test_build_weekly_list_excludes_dead_even_when_death_is_recorded_late(
    con, make_programme, upstream
) -> None:
    overrides = {
        0: {"death_date": date(2026, 9, 1)},  # before the as-of date
        1: {
            "death_date": date(2026, 10, 15)
        },  # after the as-of date, known in the extract
        2: {"emigration_date": date(2026, 5, 1)},
        3: {"emigration_date": date(2026, 11, 2)},  # after the as-of date
    }
    upstream.build_region(con, overrides=overrides, as_of=W40_MONDAY)
    result = build_weekly_list(con, make_programme(), week=W40)
    assert result.as_of_date == W40_MONDAY
    listed = set(_ids(con, result.list_id))
    assert listed.isdisjoint({"P00000", "P00001", "P00002", "P00003"})
    assert result.counts["excluded"]["dead"] == 2
    assert result.counts["excluded"]["emigrated"] == 2


def test_build_weekly_list_excludes_not_alive_resident_and_unknown(
    con, make_programme, upstream
) -> None:
    upstream.build_region(con)
    upstream.add_citizens(con, [{"citizen_id": "Z1"}])
    upstream.add_scored(con, [("Z1", 5.0)], alive=False)
    upstream.add_scored(con, [("GHOST", 6.0)])  # scored, but not in raw.citizens
    result = build_weekly_list(con, make_programme(), week=upstream.WEEK)
    listed = _ids(con, result.list_id)
    assert "Z1" not in listed and "GHOST" not in listed
    assert result.counts["excluded"]["not_resident"] == 1
    assert (
        result.counts["excluded"]["not_in_extract"] == 0
    )  # GHOST has no municipality: out of scope


def test_build_weekly_list_only_lists_the_cohort(con, make_programme, upstream) -> None:
    upstream.build_region(con)
    upstream.add_citizens(con, [{"citizen_id": "SMI1"}])
    upstream.add_scored(con, [("SMI1", 9.0)], cohort="has_smi")
    result = build_weekly_list(con, make_programme(), week=upstream.WEEK)
    assert "SMI1" not in _ids(con, result.list_id)
    smi = build_weekly_list(
        con,
        make_programme(
            name="smi_test", cohort="has_smi", municipalities=(), capacity_per_area={}
        ),
        week=upstream.WEEK,
    )
    assert _ids(con, smi.list_id) == ["SMI1"]


# --- suppression rules --------------------------------------------------------


def test_build_weekly_list_applies_suppression_windows(
    con, make_programme, upstream
) -> None:
    upstream.build_region(con)
    start = upstream.EXTRACT_DATE  # week start and as-of date coincide in W48
    _contact(con, "P00000", "reached", start - timedelta(days=10))  # within 28 days
    _contact(con, "P00003", "unreachable", start - timedelta(days=40))  # outside
    _contact(con, "P00001", "declined", start - timedelta(days=100))  # within 180 days
    _contact(con, "P00004", "declined", start - timedelta(days=200))  # outside
    _appointment(
        con, "P00002", "diabetes_control", start - timedelta(days=30)
    )  # within 90 days
    _appointment(
        con, "P00005", "diabetes_control", start - timedelta(days=120)
    )  # outside
    _appointment(
        con, "P00008", "gp_consultation", start - timedelta(days=5)
    )  # not a relevant control
    _appointment(
        con, "P00011", "diabetes_control", start - timedelta(days=5), status="no_show"
    )
    result = build_weekly_list(con, make_programme(), week=upstream.WEEK)
    listed = set(_ids(con, result.list_id))
    assert listed.isdisjoint({"P00000", "P00001", "P00002"})
    assert {"P00003", "P00004", "P00005", "P00008", "P00011"} <= listed
    assert result.counts["suppressed"] == {
        "declined": 1,
        "recent_contact": 1,
        "attended_control": 1,
    }
    rows = read_list(con, result.list_id).set_index("citizen_id")
    assert rows.loc["P00003", "last_contact_outcome"] == "outreach: unreachable"
    assert rows.loc["P00011", "last_contact_outcome"] == "diabetes_control: no_show"


# --- capacity, determinism ------------------------------------------------------


def test_build_weekly_list_respects_capacity_per_area_and_in_all(
    con, make_programme, upstream
) -> None:
    upstream.build_region(con)
    result = build_weekly_list(
        con,
        make_programme(capacity_per_week=10, capacity_per_area={"390": 2}),
        week=upstream.WEEK,
    )
    rows = read_list(con, result.list_id)
    assert len(rows) == 10
    assert rows["area"].value_counts()["390"] == 2
    assert rows["rank"].tolist() == list(range(1, 11))
    assert (
        result.counts["by_area"] == rows["area"].value_counts().sort_index().to_dict()
    )


def test_build_weekly_list_fills_in_rank_order_when_area_runs_short(
    con, make_programme, upstream
) -> None:
    upstream.build_region(con, n_per_area=3)
    result = build_weekly_list(
        con,
        make_programme(capacity_per_week=40, capacity_per_area={"390": 5}),
        week=upstream.WEEK,
    )
    rows = read_list(con, result.list_id)
    assert len(rows) == 9  # only nine citizens exist
    assert rows["risk_rank"].is_monotonic_increasing


def test_build_weekly_list_is_deterministic_with_ties(make_programme, upstream) -> None:
    lists = []
    for _ in range(2):
        con = duckdb.connect()
        upstream.build_region(con)
        con.execute("update scoring.scores set risk_score = 0.5, risk_rank = 1")
        result = build_weekly_list(con, make_programme(), week=upstream.WEEK)
        lists.append(read_list(con, result.list_id).drop(columns=["list_id"]))
        con.close()
    pd.testing.assert_frame_equal(lists[0], lists[1])
    assert lists[0]["citizen_id"].tolist() != [
        upstream.citizen_id(i) for i in range(12)
    ]


# --- model and inputs -----------------------------------------------------------


def test_build_weekly_list_uses_newest_model_version_or_the_given_uri(
    region, make_programme, upstream
) -> None:
    uri10 = "models:/diabetes_harm_365d/10"
    n = 90
    upstream.add_scored(
        region,
        [(upstream.citizen_id(i), i / n) for i in range(n)],
        model_uri=uri10,
        reasons=0,
    )
    region.execute(
        "delete from marts.scoring_features where rowid in (select max(rowid) from "
        "marts.scoring_features group by citizen_id having count(*) > 1)"
    )
    newest = build_weekly_list(
        region, make_programme(name="newest"), week=upstream.WEEK
    )
    assert newest.model_uri == uri10
    assert _ids(region, newest.list_id)[0] == upstream.citizen_id(89)
    pinned = build_weekly_list(
        region,
        make_programme(name="pinned"),
        week=upstream.WEEK,
        model_uri=upstream.MODEL_URI,
    )
    assert pinned.model_uri == upstream.MODEL_URI
    assert _ids(region, pinned.list_id)[0] == upstream.citizen_id(0)


def test_build_weekly_list_without_scores_names_the_command(
    region, make_programme
) -> None:
    with pytest.raises(NotFoundError) as error:
        build_weekly_list(region, make_programme(), week="2026-W10")
    assert str(error.value) == (
        "No scores from model 'diabetes_harm_365d' at as-of date 2026-03-02 (week "
        "2026-W10, extract date "
        "2026-11-23). Run `opspor score --model diabetes_harm_365d --as-of "
        "2026-03-02` first."
    )


def test_build_weekly_list_without_extract(con, make_programme, upstream) -> None:
    upstream.build_region(con)
    con.execute("delete from raw.extract_info")
    with pytest.raises(NotFoundError) as error:
        build_weekly_list(con, make_programme(), week=upstream.WEEK)
    assert str(error.value) == (
        "No extract is loaded (raw.extract_info is missing or empty). Run `opspor "
        "load EXTRACT_DIR` first."
    )


def test_build_weekly_list_without_features(region, make_programme, upstream) -> None:
    region.execute("delete from marts.scoring_features")
    with pytest.raises(NotFoundError) as error:
        build_weekly_list(region, make_programme(), week=upstream.WEEK)
    assert str(error.value) == (
        "No rows in marts.scoring_features at as-of date 2026-11-23. Run `opspor "
        "features --as-of 2026-11-23` first."
    )


def test_build_weekly_list_refuses_rows_without_reasons(
    region, make_programme, upstream
) -> None:
    region.execute(
        "delete from scoring.reasons where citizen_id in ('P00000', 'P00001')"
    )
    with pytest.raises(DataError) as error:
        build_weekly_list(region, make_programme(), week=upstream.WEEK)
    assert str(error.value) == (
        "No reasons for 2 of 12 listed citizen(s) at as-of date 2026-11-23 "
        "(models:/diabetes_harm_365d/3). "
        "Run `opspor explain --model diabetes_harm_365d --as-of 2026-11-23` first."
    )
    assert region.execute("select count(*) from outreach.lists").fetchone()[0] == 0


def test_build_weekly_list_explains_listed_citizens_below_the_explained_ranks(
    region, make_programme, upstream
) -> None:
    # The weekly run explains the top ranks only (EngineSettings.ranks_to_explain);
    # a listed citizen without reasons is explained on demand, and only he is.
    region.execute(
        "delete from scoring.reasons where citizen_id in ('P00000', 'P00001')"
    )
    asked: list[tuple[str, date, list[str]]] = []

    def explain_missing(con, model_uri, as_of, ids) -> int:
        asked.append((model_uri, as_of, list(ids)))
        con.execute(
            "insert into scoring.reasons (citizen_id, as_of_date, reason_rank,"
            " reason_text) select unnest(cast($ids as varchar[])), $d, 1,"
            " 'forklaret nu'",
            {"ids": list(ids), "d": as_of},
        )
        return len(ids)

    result = build_weekly_list(
        region, make_programme(), week=upstream.WEEK, explain_missing=explain_missing
    )
    assert asked == [
        ("models:/diabetes_harm_365d/3", date(2026, 11, 23), ["P00000", "P00001"])
    ]
    rows = read_list(region, result.list_id).set_index("citizen_id")
    assert rows.loc[["P00000", "P00001"], "reasons"].tolist() == ["forklaret nu"] * 2
    assert (rows.drop(index=["P00000", "P00001"])["reasons"] != "forklaret nu").all()


def test_on_demand_explaining_a_model_the_store_lacks_leaves_the_refusal(
    region, make_programme, upstream, monkeypatch
) -> None:
    def unregistered(settings, ref):
        raise NotFoundError(f"No registered model {ref}.")

    monkeypatch.setattr(models.explain, "load_registered_model", unregistered)
    region.execute("delete from scoring.reasons where citizen_id = 'P00000'")
    explain = models.explain.on_demand_explainer(EngineSettings(), top=3, language="da")
    with pytest.raises(DataError, match="No reasons for 1 of 12 listed citizen"):
        build_weekly_list(
            region, make_programme(), week=upstream.WEEK, explain_missing=explain
        )


def test_build_weekly_list_limits_reasons_and_prefers_language(
    region, make_programme, upstream
) -> None:
    region.execute(
        "alter table scoring.reasons add column language varchar default 'en'"
    )
    region.execute(
        "insert into scoring.reasons select citizen_id, as_of_date, reason_rank, "
        "feature, feature_value,"
        " contribution, 'grund ' || reason_rank, 'da' from scoring.reasons"
    )
    rows = read_list(
        region,
        build_weekly_list(
            region,
            make_programme(reasons_language="da", reasons_per_citizen=2),
            week=upstream.WEEK,
        ).list_id,
    )
    assert rows["reasons"].iloc[0] == "grund 1\ngrund 2"
    assert set(rows["n_reasons"]) == {2}


# --- the second check, before anything is written -------------------------------


def test_check_list_invariants_refuses_bad_lists(
    region, make_programme, upstream
) -> None:
    plan = make_programme()
    result = build_weekly_list(region, plan, week=upstream.WEEK)
    rows = read_list(region, result.list_id)
    none = pd.DataFrame({"citizen_id": []})
    check_list_invariants(region, rows, none, plan)  # the real list passes
    region.execute(
        "update raw.citizens set outreach_opt_out = true where citizen_id = $c",
        {"c": rows["citizen_id"][0]},
    )
    region.execute(
        "update raw.citizens set death_date = '2026-12-01' where citizen_id = $c",
        {"c": rows["citizen_id"][1]},
    )
    with pytest.raises(ListInvariantError) as error:
        check_list_invariants(region, rows, none, plan)
    assert (
        str(error.value)
        == f"Refusing to write list {result.list_id}: 1 listed citizen(s) opted out."
    )
    with pytest.raises(ListInvariantError) as error:
        check_list_invariants(
            region,
            rows,
            none,
            make_programme(capacity_per_week=11, capacity_per_area={}),
        )
    assert (
        str(error.value)
        == f"Refusing to write list {result.list_id}: 12 rows is over the capacity "
        f"of 11."
    )
    with pytest.raises(ListInvariantError) as error:
        check_list_invariants(region, rows, rows[["citizen_id"]].head(1), plan)
    assert "a held-out citizen is on the list" in str(error.value)


def test_build_weekly_list_never_writes_when_selection_is_wrong(
    region, make_programme, upstream, monkeypatch, tmp_path: Path
) -> None:
    region.execute(
        "update raw.citizens set death_date = '2026-11-01' where citizen_id = 'P00000'"
    )

    def broken_fetch(con: duckdb.DuckDBPyConnection, limit: int) -> pd.DataFrame:
        return con.execute(
            "select * from outreach_candidates order by risk_rank"
        ).df()  # ignores exclusions

    monkeypatch.setattr("outreach.lists.fetch_eligible", broken_fetch)
    with pytest.raises(ListInvariantError) as error:
        build_weekly_list(
            region, make_programme(), week=upstream.WEEK, output_dir=tmp_path
        )
    assert (
        str(error.value)
        == "Refusing to write list test_bus-2026-W48-r1: 1 listed citizen(s) dead."
    )
    assert region.execute("select count(*) from outreach.lists").fetchone()[0] == 0
    assert region.execute("select count(*) from outreach.list_runs").fetchone()[0] == 0
    assert not (tmp_path / "lists").exists()


# --- freezing -------------------------------------------------------------------


def test_build_weekly_list_is_frozen_until_regenerated_with_reason(
    region, make_programme, upstream
) -> None:
    plan = make_programme()
    first = build_weekly_list(region, plan, week=upstream.WEEK, actor="anna")
    before = read_list(region, first.list_id)
    region.execute(
        "update scoring.scores set risk_score = -risk_score"
    )  # a new scoring would change the list
    region.execute("update scoring.scores set risk_rank = 91 - risk_rank")
    again = build_weekly_list(region, plan, week=upstream.WEEK, actor="bo")
    assert (again.list_id, again.status) == (first.list_id, "frozen")
    pd.testing.assert_frame_equal(read_list(region, again.list_id), before)

    with pytest.raises(ConfigError) as error:
        build_weekly_list(
            region, plan, week=upstream.WEEK, regenerate=True, reason="  "
        )
    assert (
        str(error.value)
        == 'Regenerating a frozen list needs a reason: --regenerate --reason "...".'
    )

    redo = build_weekly_list(
        region,
        plan,
        week=upstream.WEEK,
        regenerate=True,
        reason="new champion",
        actor="bo",
    )
    assert (redo.list_id, redo.status) == ("test_bus-2026-W48-r2", "regenerated")
    assert _ids(region, redo.list_id) != before["citizen_id"].tolist()
    runs = region.execute(
        "select list_id, status, reason from outreach.list_runs order by list_id"
    ).fetchall()
    assert runs == [
        (first.list_id, "superseded", None),
        (redo.list_id, "frozen", "new champion"),
    ]
    log = region.execute(
        "select event, actor, list_id, counts from outreach.audit_log"
    ).fetchall()
    assert [(e, a, i) for e, a, i, _ in log] == [
        ("generated", "anna", first.list_id),
        ("regenerated", "bo", redo.list_id),
    ]
    assert json.loads(log[1][3])["reason"] == "new champion"


def test_view_list_returns_frozen_list_and_audits(
    region, make_programme, upstream
) -> None:
    plan = make_programme()
    with pytest.raises(NotFoundError) as error:
        view_list(region, plan, upstream.WEEK)
    assert str(error.value) == (
        "No list for programme 'test_bus' week 2026-W48. Run `opspor list "
        "--programme test_bus --week 2026-W48` first."
    )
    made = build_weekly_list(region, plan, week=upstream.WEEK)
    result, rows = view_list(region, plan, upstream.WEEK, actor="carl")
    assert result.list_id == made.list_id and len(rows) == 12
    assert region.execute(
        "select event, actor from outreach.audit_log order by rowid desc limit 1"
    ).fetchone() == ("viewed", "carl")


# --- hold-outs ------------------------------------------------------------------


def test_build_weekly_list_records_holdouts_and_still_fills_capacity(
    region, make_programme, upstream
) -> None:
    plan = make_programme(holdout_share=0.5)
    result = build_weekly_list(region, plan, week=upstream.WEEK)
    listed = set(_ids(region, result.list_id))
    held = {
        r[0]
        for r in region.execute(
            "select citizen_id from outreach.holdouts where list_id = $i",
            {"i": result.list_id},
        ).fetchall()
    }
    assert len(listed) == 12 and held
    assert listed.isdisjoint(held)
    assert result.counts["held_out"] == len(held)


def test_build_weekly_list_without_relevant_controls_or_municipalities(
    region, make_programme, upstream
) -> None:
    plan = make_programme(relevant_controls=(), municipalities=(), capacity_per_area={})
    _appointment(region, "P00000", "diabetes_control", upstream.EXTRACT_DATE)
    result = build_weekly_list(
        region, plan, week=upstream.WEEK, regenerate=True, reason="first"
    )
    assert result.status == "generated"
    assert result.counts["suppressed"]["attended_control"] == 0
    assert _ids(region, result.list_id)[0] == "P00000"


def test_build_weekly_list_never_exports_held_out_citizens(
    region, make_programme, upstream, tmp_path: Path
) -> None:
    plan = make_programme(holdout_share=0.5)
    result = build_weekly_list(region, plan, week=upstream.WEEK, output_dir=tmp_path)
    held = [
        r[0]
        for r in region.execute("select citizen_id from outreach.holdouts").fetchall()
    ]
    assert held
    for path in result.paths.values():
        if path.endswith((".csv", ".html")):
            text = Path(path).read_text(encoding="utf-8")
            assert not any(citizen in text for citizen in held)


def test_weekly_refuses_a_stale_extract_before_scoring(
    tmp_path: Path, upstream, monkeypatch
) -> None:
    from features.settings import EngineSettings
    from outreach.programmes import load_programme
    from outreach.weekly import run_weekly

    settings = EngineSettings(output_dir=tmp_path, db_path=tmp_path / "w.duckdb")
    with duckdb.connect(str(settings.warehouse)) as con:
        upstream.create_upstream_tables(con)
    scored: list[str] = []
    monkeypatch.setattr(
        "outreach.weekly.champion_uri", lambda *a, **k: scored.append("x") or ""
    )
    with pytest.raises(StaleDataError) as caught:
        run_weekly(settings, programme=load_programme("diabetes_bus"), week=STALE_WEEK)
    assert str(caught.value).startswith(
        "The loaded extract is dated 2026-11-23, 245 days before week 2027-W30"
    )
    assert scored == []  # refused before the model was even looked up
