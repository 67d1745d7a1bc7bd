"""Benchmark the feature build against two peers on the same spine, in one session.

Run ``.venv/bin/python -m bench.bench_features`` (``--citizens``, ``--extract DIR``,
``--small``, ``--tsfl``). It measures, each phase in its own process so peak memory
is its own:

1. Opspor: load (a contract extract through ``features.load``, or ``raw.*``
   synthesized directly in DuckDB) plus ``build_features`` for 12 monthly as-of
   dates, contract checks included; peak RSS of that process. Then, in the same
   process, the peers' feature subsets as the scoring mart reads them (the
   timelines joined on citizen and unnested; other citizen views joined on citizen
   and date) into an in-memory (temp) table, as the peers' results are in-memory
   frames.
2. pandas: a straightforward implementation (one pass per as-of date, boolean masks
   and group-bys) of eight representative features on the same spine, compared
   value by value with Opspor's.
3. timeseriesflattener (the Aarhus EHR feature library, used as its documentation
   shows: ``PredictionTimeFrame``, ``ValueFrame``, ``PredictorSpec``, ``Flattener``)
   for the six of those features it can express. By default (``--tsfl full``) on the
   full warehouse, as pandas (it joins every value to every prediction time: about
   13 GB at a million citizens); ``--tsfl small`` runs it on the small extract only
   and extrapolates its time linearly, labelled as such. Its values are compared
   with Opspor's.

The speed targets compare like with like: a peer's time for its features against
Opspor's time for the same features from its timelines and views (``*_same_subset``). The ratios
to Opspor's full build (all features, contract checks) are reported as well.

Writes ``bench/results/features.json``. Times are wall-clock seconds of this session
on this machine; the load average is recorded because other work shares the cores.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import resource
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results" / "features.json"
MEMORY_LIMIT = "6GB"
DATES = [date(2025, 12, 1)] + [date(2026, m, 1) for m in range(1, 12)]
SUBSET = [
    "n_unredeemed_90d",
    "n_unredeemed_365d",
    "n_no_shows_365d",
    "days_since_eye_screening",
    "hba1c_last_mmol_mol",
    "hba1c_max_mmol_mol_730d",
    "n_acute_admissions_365d",
    "n_gp_contacts_365d",
]
TSFL_FEATURES = [f for f in SUBSET if not f.startswith("n_unredeemed")]
# The same subsets, read as the scoring mart reads them: the timelines joined on
# citizen_id and unnested (they are the spine), the other citizen views joined on
# citizen and date. Into temp (in-memory) tables: the peers' results are in-memory
# frames, not written out.
TSFL_TIMELINES = """
    select
        citizen_id,
        unnest(a.as_of_date) as as_of_date,
        unnest(a.n_no_shows_365d) as n_no_shows_365d,
        unnest(a.days_since_eye_screening) as days_since_eye_screening,
        unnest(g.hba1c_last_mmol_mol) as hba1c_last_mmol_mol,
        unnest(g.hba1c_max_mmol_mol_730d) as hba1c_max_mmol_mol_730d,
        unnest(u.n_acute_admissions_365d) as n_acute_admissions_365d,
        unnest(u.n_gp_contacts_365d) as n_gp_contacts_365d
    from timelines.tl_attendance as a
    inner join timelines.tl_glycaemic as g using (citizen_id)
    inner join timelines.tl_utilization as u using (citizen_id)
"""
SUBSET_SQL = f"""
create or replace temp table bench_subset as
select
    t.citizen_id, t.as_of_date, p.n_unredeemed_90d, p.n_unredeemed_365d,
    t.* exclude (citizen_id, as_of_date)
from ({TSFL_TIMELINES}) as t
left join citizen.feat_adherence as p using (citizen_id, as_of_date)
"""
TSFL_SUBSET_SQL = f"""
create or replace temp table bench_tsfl_subset as
{TSFL_TIMELINES}
"""


def _peak_rss_gb() -> float:
    """Peak resident memory of this process in GB (Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    value = fn()
    return value, round(time.perf_counter() - started, 2)


# --- phase 1: Opspor ---------------------------------------------------------


def _load_extract(db: str, extract: str) -> dict[str, Any]:
    """Load a contract extract with the engine's loader (it opens the warehouse)."""
    from features.load import load_extract
    from features.settings import EngineSettings

    report = load_extract(extract, settings=EngineSettings(db_path=Path(db)))
    return dict(report.as_dict().get("tables", {}))


def phase_opspor(
    db: str, n_citizens: int, extract: str | None, subset: bool
) -> dict[str, Any]:
    """Load plus the full feature build (checks included), in this process."""
    from features.build import build_features
    from features.db import connect

    if extract:
        rows, load_s = _timed(lambda: _load_extract(db, extract))
        con = connect(db)
        con.execute(f"set memory_limit = '{MEMORY_LIMIT}'")
    else:
        from bench.synth_raw import synthesize_raw

        con = connect(db)
        # DuckDB's default is 80 % of RAM; the target is a peak under 8 GB.
        con.execute(f"set memory_limit = '{MEMORY_LIMIT}'")
        rows, load_s = _timed(lambda: synthesize_raw(con, n_citizens))
    build, build_s = _timed(lambda: build_features(con, DATES))
    result = {
        "load_seconds": load_s,
        "build_seconds": build_s,
        "load_plus_build_seconds": round(load_s + build_s, 2),
        "raw_rows": rows,
        "spine_rows": build.n_rows,
        "n_features": build.n_features,
    }
    if subset:
        for key, sql in (("subset", SUBSET_SQL), ("tsfl_subset", TSFL_SUBSET_SQL)):
            run_subset = lambda sql=sql: con.execute(sql).fetchall()  # noqa: E731
            _, result[f"{key}_seconds"] = _timed(run_subset)
            con.execute(f"drop table temp.bench_{key}")
    result["peak_rss_gb"] = round(_peak_rss_gb(), 2)
    con.close()
    return result


# --- phase 2: pandas -------------------------------------------------------------


def _read_raw(db: str) -> dict[str, Any]:
    """The raw tables the pandas peer needs, as pandas frames (the peer's load)."""
    import duckdb

    con = duckdb.connect(db, read_only=True)
    queries = {
        "citizens": "select citizen_id from raw.citizens order by citizen_id",
        "prescriptions": "select prescription_id, citizen_id, atc_code, issued_date,"
        " redeemed_date from raw.prescriptions",
        "appointments": "select citizen_id, scheduled_date, kind, provider_type, status"
        " from raw.appointments",
        "lab_results": "select citizen_id, sample_date, npu_code, value"
        " from raw.lab_results",
        "hospital_contacts": "select citizen_id, start_date, contact_type"
        " from raw.hospital_contacts",
        "diagnoses": "select citizen_id, diagnosis_date, source from raw.diagnoses",
    }
    frames = {name: con.sql(sql).df() for name, sql in queries.items()}
    con.close()
    return frames


def _pandas_prepare(raw: dict[str, Any]) -> dict[str, Any]:
    """Date-independent preparation: HbA1c per day, GP contact days, filtered events."""
    import pandas as pd

    lab = raw["lab_results"]
    lab = lab[lab.npu_code.isin(["NPU27300", "NPU03835"])]
    value = lab.value.where(lab.npu_code == "NPU27300", (lab.value - 2.15) * 10.929)
    hba1c = (
        lab.assign(hba1c=value)
        .groupby(["citizen_id", "sample_date"], as_index=False)
        .hba1c.max()
        .sort_values(["citizen_id", "sample_date"])
    )
    appts = raw["appointments"]
    gp_appts = appts.loc[
        (appts.provider_type == "gp") & (appts.status == "attended"),
        ["citizen_id", "scheduled_date"],
    ].rename(columns={"scheduled_date": "day"})
    dx = raw["diagnoses"]
    gp_dx = dx.loc[dx.source == "gp", ["citizen_id", "diagnosis_date"]].rename(
        columns={"diagnosis_date": "day"}
    )
    contacts = raw["hospital_contacts"]
    return {
        "citizens": pd.Index(raw["citizens"].citizen_id),
        "prescriptions": raw["prescriptions"],
        "no_shows": appts.loc[
            appts.status == "no_show", ["citizen_id", "scheduled_date"]
        ],
        "eye": appts.loc[
            (appts.status == "attended") & (appts.kind == "eye_screening"),
            ["citizen_id", "scheduled_date"],
        ],
        "hba1c": hba1c,
        "gp_days": pd.concat([gp_appts, gp_dx]).drop_duplicates(),
        "acute": contacts.loc[
            contacts.contact_type == "acute_admission", ["citizen_id", "start_date"]
        ],
    }


def _pandas_unredeemed(p: Any, t: Any, days: Any) -> Any:
    """Unredeemed prescriptions at t: 14-day grace, renewals of the same drug count."""
    issued = p.issued_date
    candidates = p[
        (issued >= t - days(365)) & (issued <= t - days(14)) & ~(p.redeemed_date < t)
    ]
    redeemed = p.loc[p.redeemed_date < t, ["citizen_id", "atc_code", "redeemed_date"]]
    pairs = candidates[
        ["prescription_id", "citizen_id", "atc_code", "issued_date"]
    ].merge(redeemed, on=["citizen_id", "atc_code"])
    renewed = pairs.loc[pairs.redeemed_date >= pairs.issued_date, "prescription_id"]
    return candidates[~candidates.prescription_id.isin(renewed)]


def pandas_features(prep: dict[str, Any]) -> Any:
    """Eight features for every citizen at every as-of date, one pass per date."""
    import pandas as pd

    days = pd.Timedelta
    frames = []
    for as_of in DATES:
        t = pd.Timestamp(as_of)
        f = pd.DataFrame(index=prep["citizens"])
        u = _pandas_unredeemed(prep["prescriptions"], t, lambda n: days(days=n))
        f["n_unredeemed_90d"] = (
            u[u.issued_date >= t - days(days=90)].groupby("citizen_id").size()
        )
        f["n_unredeemed_365d"] = u.groupby("citizen_id").size()
        ns = prep["no_shows"]
        win = (ns.scheduled_date < t) & (ns.scheduled_date >= t - days(days=365))
        f["n_no_shows_365d"] = ns[win].groupby("citizen_id").size()
        eye = prep["eye"]
        last_eye = (
            eye[eye.scheduled_date < t].groupby("citizen_id").scheduled_date.max()
        )
        f["days_since_eye_screening"] = (t - last_eye).dt.days
        h = prep["hba1c"][prep["hba1c"].sample_date < t]
        f["hba1c_last_mmol_mol"] = h.groupby("citizen_id").hba1c.last()
        recent = h[h.sample_date >= t - days(days=730)]
        f["hba1c_max_mmol_mol_730d"] = recent.groupby("citizen_id").hba1c.max()
        ac = prep["acute"]
        win = (ac.start_date < t) & (ac.start_date >= t - days(days=365))
        f["n_acute_admissions_365d"] = ac[win].groupby("citizen_id").size()
        gp = prep["gp_days"]
        win = (gp.day < t) & (gp.day >= t - days(days=365))
        f["n_gp_contacts_365d"] = gp[win].groupby("citizen_id").size()
        counts = [c for c in SUBSET if c.startswith("n_")]
        f[counts] = f[counts].fillna(0).astype("int64")
        frames.append(f.reset_index().assign(as_of_date=t))
    return pd.concat(frames, ignore_index=True)


def phase_pandas(db: str, out: str) -> dict[str, Any]:
    """The pandas peer: read raw, compute the subset on the spine, write Parquet."""
    raw, read_s = _timed(lambda: _read_raw(db))
    prep, prep_s = _timed(lambda: _pandas_prepare(raw))
    frame, feat_s = _timed(lambda: pandas_features(prep))
    frame.to_parquet(out, index=False)
    return {
        "read_raw_seconds": read_s,
        "features_seconds": round(prep_s + feat_s, 2),
        "rows": len(frame),
        "peak_rss_gb": round(_peak_rss_gb(), 2),
    }


# --- phase 3: timeseriesflattener -----------------------------------------------


def _tsfl_frames(db: str) -> dict[str, Any]:
    """Event frames for timeseriesflattener (value columns must be uniquely named)."""
    import duckdb

    con = duckdb.connect(db, read_only=True)
    q = {
        "spine": "select citizen_id, cast(as_of_date as timestamp) as pred_timestamp"
        " from main.spine",
        "no_shows": "select citizen_id, cast(scheduled_date as timestamp) as timestamp,"
        " 1 as no_show from raw.appointments where status = 'no_show'",
        "eye": "select citizen_id, cast(scheduled_date as timestamp) as timestamp,"
        " cast(scheduled_date - date '1970-01-01' as double) as eye_day"
        " from raw.appointments where status = 'attended' and kind = 'eye_screening'",
        "hba1c_last": "select citizen_id, cast(sample_date as timestamp) as timestamp,"
        " hba1c_mmol_mol as hba1c_last from intermediate.int_hba1c__converted",
        "hba1c_max": "select citizen_id, cast(sample_date as timestamp) as timestamp,"
        " hba1c_mmol_mol as hba1c_max from intermediate.int_hba1c__converted",
        "acute": "select citizen_id, cast(start_date as timestamp) as timestamp,"
        " 1 as acute from raw.hospital_contacts where contact_type = 'acute_admission'",
        "gp": "select citizen_id, cast(contact_date as timestamp) as timestamp,"
        " 1 as gp_contact from intermediate.int_gp_contacts__dated",
    }
    frames = {k: con.sql(v).pl() for k, v in q.items()}
    con.close()
    return frames


def tsfl_features(frames: dict[str, Any]) -> Any:
    """The TSFL_FEATURES with timeseriesflattener's documented API.

    Lookbehind (1 day, N days) makes the window [t - N days, t - 1 day], i.e.
    events strictly before the prediction time, as Opspor's.
    """
    import datetime as dt

    import polars as pl
    from timeseriesflattener import (
        Flattener,
        PredictionTimeFrame,
        PredictorSpec,
        ValueFrame,
    )
    from timeseriesflattener.aggregators import (
        CountAggregator,
        LatestAggregator,
        MaxAggregator,
    )

    def spec(name: str, days: int, aggregator: Any, fallback: Any) -> Any:
        frame = ValueFrame(init_df=frames[name], entity_id_col_name="citizen_id")
        window = [(dt.timedelta(days=1), dt.timedelta(days=days))]
        return PredictorSpec(frame, window, [aggregator], fallback=fallback)

    ever = 365 * 100
    nan = float("nan")
    specs = [
        spec("no_shows", 365, CountAggregator(), 0),
        spec("eye", ever, MaxAggregator(), nan),
        spec("hba1c_last", ever, LatestAggregator(timestamp_col_name="timestamp"), nan),
        spec("hba1c_max", 730, MaxAggregator(), nan),
        spec("acute", 365, CountAggregator(), 0),
        spec("gp", 365, CountAggregator(), 0),
    ]
    times = PredictionTimeFrame(
        init_df=frames["spine"], entity_id_col_name="citizen_id"
    )
    df = Flattener(predictiontime_frame=times).aggregate_timeseries(specs=specs).df
    pick = {
        c.split("_within_")[0].removeprefix("pred_"): c
        for c in df.columns
        if "_within_" in c
    }
    epoch_day = (
        pl.col("pred_timestamp").dt.date() - dt.date(1970, 1, 1)
    ).dt.total_days()
    return df.select(
        "citizen_id",
        pl.col("pred_timestamp").dt.date().alias("as_of_date"),
        pl.col(pick["no_show"]).alias("n_no_shows_365d"),
        (epoch_day - pl.col(pick["eye_day"]).fill_nan(None)).alias(
            "days_since_eye_screening"
        ),
        pl.col(pick["hba1c_last"]).fill_nan(None).alias("hba1c_last_mmol_mol"),
        pl.col(pick["hba1c_max"]).fill_nan(None).alias("hba1c_max_mmol_mol_730d"),
        pl.col(pick["acute"]).alias("n_acute_admissions_365d"),
        pl.col(pick["gp_contact"]).alias("n_gp_contacts_365d"),
    )


def phase_tsfl(db: str, out: str) -> dict[str, Any]:
    """timeseriesflattener on a warehouse built by phase_opspor; writes Parquet."""
    frames, read_s = _timed(lambda: _tsfl_frames(db))
    df, feat_s = _timed(lambda: tsfl_features(frames))
    df.write_parquet(out)
    return {
        "read_seconds": read_s,
        "features_seconds": feat_s,
        "rows": df.height,
        "peak_rss_gb": round(_peak_rss_gb(), 2),
    }


# --- comparison and driver -------------------------------------------------------


def compare(db: str, parquet: str, features: list[str]) -> dict[str, int]:
    """Rows where a peer's value differs from Opspor's mart, per feature."""
    import duckdb

    con = duckdb.connect(db, read_only=True)
    parts = [
        f"count_if(not (m.{f} is not distinct from p.{f}"
        f" or abs(cast(m.{f} as double) - cast(p.{f} as double)) < 1e-6)) as {f}"
        for f in features
    ]
    row = con.execute(
        f"select count(*) as rows_compared, {', '.join(parts)}"
        f" from marts.scoring_features as m"
        f" inner join read_parquet('{parquet}') as p"
        f" on p.citizen_id = m.citizen_id and cast(p.as_of_date as date) = m.as_of_date"
    ).fetchall()[0]
    con.close()
    return dict(
        zip(["rows_compared", *features], (int(v or 0) for v in row), strict=True)
    )


def _in_child(fn: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    """Run one phase in a fresh process; its peak RSS is its own."""
    ctx = mp.get_context("spawn")
    with ctx.Pool(1) as pool:
        return pool.apply(fn, args)


def _load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def run(
    n_citizens: int, n_small: int, extract: str | None, tmp: Path, tsfl: str
) -> dict[str, Any]:
    """Run every phase and return the results document."""
    big, small = str(tmp / "big.duckdb"), str(tmp / "small.duckdb")
    results: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_at_start": _load_average(),
        },
        "as_of_dates": [str(d) for d in DATES],
        "citizens": n_citizens,
        "duckdb_memory_limit": MEMORY_LIMIT,
    }
    results["opspor"] = _in_child(phase_opspor, big, n_citizens, extract, True)
    results["pandas"] = _in_child(phase_pandas, big, str(tmp / "pandas.parquet"))
    results["pandas_vs_opspor_mismatches"] = compare(
        big, str(tmp / "pandas.parquet"), SUBSET
    )
    if tsfl == "full":
        results["timeseriesflattener"] = _in_child(
            phase_tsfl, big, str(tmp / "tsfl.parquet")
        )
        results["tsfl_vs_opspor_mismatches"] = compare(
            big, str(tmp / "tsfl.parquet"), TSFL_FEATURES
        )
    results["small"] = {"citizens": n_small}
    results["small"]["opspor"] = _in_child(phase_opspor, small, n_small, None, True)
    results["small"]["pandas"] = _in_child(
        phase_pandas, small, str(tmp / "pandas_s.parquet")
    )
    results["small"]["timeseriesflattener"] = _in_child(
        phase_tsfl, small, str(tmp / "tsfl_s.parquet")
    )
    results["small"]["tsfl_vs_opspor_mismatches"] = compare(
        small, str(tmp / "tsfl_s.parquet"), TSFL_FEATURES
    )
    results["machine"]["load_average_at_end"] = _load_average()
    return _with_ratios(results, n_citizens, n_small)


def _ratio(peer: float, opspor: float) -> float:
    return round(peer / opspor, 2)


def _tsfl_ratios(r: dict[str, Any], n: int, n_small: int) -> dict[str, Any]:
    """tsfl over Opspor: measured at full size if it ran there, else extrapolated."""
    o, st = r["opspor"], r["small"]["timeseriesflattener"]
    if "timeseriesflattener" in r:
        t = r["timeseriesflattener"]["features_seconds"]
        return {
            "tsfl_citizens": r["citizens"],
            "tsfl_over_opspor_same_subset": _ratio(t, o["tsfl_subset_seconds"]),
            "tsfl_over_opspor_full_build": _ratio(t, o["build_seconds"]),
        }
    t = round(st["features_seconds"] * n / n_small, 1)
    return {
        "tsfl_citizens": n_small,
        "tsfl_extrapolated_full_seconds": t,
        "tsfl_extrapolated_over_opspor_same_subset": _ratio(
            t, o["tsfl_subset_seconds"]
        ),
        "tsfl_extrapolated_over_opspor_full_build": _ratio(t, o["build_seconds"]),
        "note": "tsfl_extrapolated_* is EXTRAPOLATED linearly in citizens"
        " from the small run.",
    }


def _with_ratios(r: dict[str, Any], n: int, n_small: int) -> dict[str, Any]:
    """Speed ratios (peer time / Opspor time), same session; extrapolation labelled."""
    o, p = r["opspor"], r["pandas"]
    so, sp, st = (
        r["small"]["opspor"],
        r["small"]["pandas"],
        r["small"]["timeseriesflattener"],
    )
    r["ratios"] = {
        "pandas_subset_over_opspor_full_build": round(
            p["features_seconds"] / o["build_seconds"], 2
        ),
        "pandas_subset_over_opspor_same_subset": round(
            p["features_seconds"] / o["subset_seconds"], 2
        ),
        "small_tsfl_over_opspor_full_build": round(
            st["features_seconds"] / so["build_seconds"], 2
        ),
        "small_tsfl_over_opspor_same_subset": round(
            st["features_seconds"] / so["tsfl_subset_seconds"], 2
        ),
        "small_pandas_over_opspor_full_build": round(
            sp["features_seconds"] / so["build_seconds"], 2
        ),
        **_tsfl_ratios(r, n, n_small),
    }
    tsfl = r["ratios"].get(
        "tsfl_over_opspor_same_subset",
        r["ratios"].get("tsfl_extrapolated_over_opspor_same_subset"),
    )
    r["targets"] = {
        "build_4x_faster_than_pandas_same_subset": r["ratios"][
            "pandas_subset_over_opspor_same_subset"
        ]
        >= 4,
        "build_10x_faster_than_tsfl_same_subset": tsfl >= 10,
        "load_plus_build_under_120s": o["load_plus_build_seconds"] < 120,
        "peak_rss_under_8gb": o["peak_rss_gb"] < 8,
    }
    return r


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--citizens", type=int, default=1_000_000)
    parser.add_argument(
        "--small",
        type=int,
        default=100_000,
        help="Citizens of the small run (synthesized raw.*; every peer again).",
    )
    parser.add_argument("--extract", help="A contract extract folder to load instead.")
    parser.add_argument(
        "--tsfl",
        choices=("full", "small"),
        default="full",
        help="Run timeseriesflattener on the full warehouse (about 13 GB at a million"
        " citizens) as well as the small one, or on the small one only.",
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="opspor-bench-") as tmp:
        results = run(args.citizens, args.small, args.extract, Path(tmp), args.tsfl)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
