"""Realised performance of the lists actually produced, as outcome windows close.

For every frozen list of a programme whose outcome window (the model's horizon
from the list's as-of date) has closed before the extract date, the listed
citizens' labels (``labels.<outcome>``, built if missing) give the realised
precision@k, the cohort's labels the recall@k, the hold-out's labels its own
precision, and the cohort's scores the calibration intercept and slope; each
with an interval, against what training promised. Before a year has passed the
early signals are the share reached and screened (``outreach.contacts``) and
acute admissions within 90 days, listed against held out. Aggregates only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from statistics import NormalDist
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from features.db import check_identifier, table_exists
from models.metrics import bootstrap_counts, calibration_intercept_slope
from reports.frame import run_report_sql
from reports.monitor_config import MonitorConfig
from reports.monitor_flags import Alert
from reports.monitor_inputs import ModelInfo

__all__ = [
    "EARLY_DAYS",
    "early_signals",
    "monitor_performance",
    "realised_performance",
    "wilson_interval",
]

EARLY_DAYS = 90
SHORTFALL_MESSAGE = (
    "realised precision@k {value:.1%} (upper bound {high:.1%}) over {n} mature "
    "list(s), below {share:.0%} of the {promised:.1%} training promised"
)


def wilson_interval(hits: int, n: int, confidence: float) -> tuple[float, float]:
    """Wilson score interval of a proportion ``hits / n`` (nan, nan when n = 0)."""
    if n == 0:
        return float("nan"), float("nan")
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return float(centre - half), float(centre + half)


def _cell(hits: int, n: int, confidence: float, min_cell: int) -> dict[str, Any]:
    """Return a proportion as a JSON cell; suppressed when ``n`` is too small."""
    if n < min_cell:
        return {
            "n": None,
            "estimate": None,
            "ci_low": None,
            "ci_high": None,
            "suppressed": True,
        }
    low, high = wilson_interval(hits, n, confidence)
    return {
        "n": n,
        "estimate": hits / n,
        "ci_low": low,
        "ci_high": high,
        "suppressed": False,
    }


def realised_performance(
    frame: pd.DataFrame, *, config: MonitorConfig
) -> dict[str, Any]:
    """Realised precision@k, recall@k and calibration, per list week and pooled.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per cohort citizen and list: ``week``, ``risk_score``,
        ``is_listed``, ``is_held_out`` (bool), ``label`` (1/0; null when not
        labelled). Not modified.
    config : MonitorConfig
        Minimum cell size, confidence, bootstrap settings.

    Returns
    -------
    dict
        ``{"weeks": {week: cells}, "pooled": cells}``; cells are
        ``precision_at_k``, ``recall_at_k``, ``holdout_precision`` and (pooled)
        ``calibration_intercept``, ``calibration_slope``, ``observed_minus_predicted``.
    """
    weeks = {
        str(w): _proportions(g, config) for w, g in frame.groupby("week", sort=True)
    }
    pooled = {**_proportions(frame, config), **_calibration(frame, config)}
    return {"weeks": weeks, "pooled": pooled}


def _proportions(frame: pd.DataFrame, config: MonitorConfig) -> dict[str, Any]:
    labelled = frame[frame["label"].notna()]
    y = labelled["label"].astype(int)
    listed, held = (
        labelled["is_listed"].astype(bool),
        labelled["is_held_out"].astype(bool),
    )
    c, m = config.confidence, config.min_cell_size
    return {
        "precision_at_k": _cell(int(y[listed].sum()), int(listed.sum()), c, m),
        "recall_at_k": _cell(int(y[listed].sum()), int(y.sum()), c, m),
        "holdout_precision": _cell(int(y[held].sum()), int(held.sum()), c, m),
    }


def _calibration(frame: pd.DataFrame, config: MonitorConfig) -> dict[str, Any]:
    labelled = frame[frame["label"].notna()]
    n = len(labelled)
    if n < config.min_cell_size or labelled["label"].nunique() < 2:
        empty = {
            "n": None,
            "estimate": None,
            "ci_low": None,
            "ci_high": None,
            "suppressed": True,
        }
        names = (
            "calibration_intercept",
            "calibration_slope",
            "observed_minus_predicted",
        )
        return dict.fromkeys(names, empty)
    y = labelled["label"].astype(float).to_numpy()
    p = labelled["risk_score"].astype(float).to_numpy()
    draws = bootstrap_counts(
        n, n_bootstrap=config.n_bootstrap, seed=config.seed, sampler="multinomial"
    )
    weights = np.vstack([np.ones(n), *draws])
    intercepts, slopes = calibration_intercept_slope(y, p, weights)
    gaps = (weights @ (y - p)) / weights.sum(axis=1)
    tail = (1 - config.confidence) / 2 * 100
    out = {}
    for name, values in (
        ("calibration_intercept", intercepts),
        ("calibration_slope", slopes),
        ("observed_minus_predicted", gaps),
    ):
        low, high = np.nanpercentile(values[1:], [tail, 100 - tail])
        out[name] = {
            "n": n,
            "estimate": float(values[0]),
            "ci_low": float(low),
            "ci_high": float(high),
            "suppressed": False,
        }
    return out


def early_signals(frame: pd.DataFrame, *, config: MonitorConfig) -> dict[str, Any]:
    """Reached and screened shares of the listed; acute admissions, listed vs held out.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per listed or held-out citizen and list: ``is_listed``,
        ``is_reached``, ``is_screened``, ``has_acute_90d`` (null when 90 days
        have not passed). Not modified.
    config : MonitorConfig
        Minimum cell size and confidence.
    """
    c, m = config.confidence, config.min_cell_size
    listed = frame[frame["is_listed"].astype(bool)]
    held = frame[~frame["is_listed"].astype(bool)]
    out = {
        "reached_rate": _cell(int(listed["is_reached"].sum()), len(listed), c, m),
        "screened_rate": _cell(int(listed["is_screened"].sum()), len(listed), c, m),
    }
    for arm, part in (("listed", listed), ("held_out", held)):
        seen = part["has_acute_90d"].dropna().astype(bool)
        out[f"acute_90d_{arm}"] = _cell(int(seen.sum()), len(seen), c, m)
    return out


def monitor_performance(
    con: duckdb.DuckDBPyConnection,
    model: ModelInfo,
    *,
    programme: str,
    extract_date: date,
    config: MonitorConfig,
    municipalities: Sequence[str] = (),
) -> tuple[dict[str, Any], list[Alert]]:
    """Build the realised-performance section (labels built where missing).

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        A writable warehouse (labels may be built).
    model : ModelInfo
        The model; only its lists are evaluated.
    programme : str
        The programme whose frozen lists are read.
    extract_date : date
        Outcome windows must close before it.
    config : MonitorConfig
    municipalities : sequence of str, optional
        The programme's municipalities: recall@k and calibration are measured on
        the scored cohort living there (everyone when empty).
    """
    runs = _runs(con, programme, model.model_uri)
    horizon = timedelta(days=model.horizon_days)
    mature = [r for r in runs if r[2] + horizon <= extract_date]
    section: dict[str, Any] = {
        "n_lists": len(runs),
        "n_mature": len(mature),
        "horizon_days": model.horizon_days,
        "promised": dict(model.promised),
        "early": early_signals(_early_frame(con, runs, extract_date), config=config)
        if runs
        else {},
    }
    section["realised"] = (
        realised_performance(
            _realised_frame(con, model, mature, municipalities), config=config
        )
        if mature
        else None
    )
    return section, _alerts(section, config)


def _runs(
    con: duckdb.DuckDBPyConnection, programme: str, model_uri: str
) -> list[tuple[str, str, date]]:
    if not table_exists(con, "outreach", "list_runs"):
        return []
    rows = con.execute(
        "select list_id, week, as_of_date from outreach.list_runs"
        " where programme = $p and model_uri = $uri and status = 'frozen'"
        " order by week",
        {"p": programme, "uri": model_uri},
    ).fetchall()
    return [(str(a), str(b), c) for a, b, c in rows]


def _realised_frame(
    con: duckdb.DuckDBPyConnection,
    model: ModelInfo,
    runs: list[tuple[str, str, date]],
    municipalities: Sequence[str],
) -> pd.DataFrame:
    """Cohort rows of every mature list with their labels (built if missing)."""
    from models.outcomes import ensure_labels

    table = check_identifier(model.outcome, "Outcome")
    frames = []
    for list_id, week, as_of in runs:
        ensure_labels(con, model.outcome, as_of_date=as_of)
        con.execute(
            "create or replace temp table labels_at as select citizen_id, label"
            f" from labels.{table} where as_of_date = $as_of",
            {"as_of": as_of},
        )
        part = run_report_sql(
            con,
            "monitor_realised",
            model_uri=model.model_uri,
            as_of_date=as_of,
            list_id=list_id,
            municipalities=list(municipalities),
        )
        frames.append(part.assign(week=week))
    return pd.concat(frames, ignore_index=True)


def _early_frame(
    con: duckdb.DuckDBPyConnection,
    runs: list[tuple[str, str, date]],
    extract_date: date,
) -> pd.DataFrame:
    """Return the listed and held-out rows of every list, with early signals."""
    frames = [
        run_report_sql(
            con,
            "monitor_early_signals",
            list_id=list_id,
            as_of_date=as_of,
            closed=as_of + timedelta(days=EARLY_DAYS) <= extract_date,
        )
        for list_id, _, as_of in runs
    ]
    return pd.concat(frames, ignore_index=True)


def _alerts(section: Mapping[str, Any], config: MonitorConfig) -> list[Alert]:
    realised = section.get("realised")
    promised = section["promised"].get("precision_at_capacity", {}).get("value")
    if not realised or promised is None:
        return []
    cell = realised["pooled"]["precision_at_k"]
    if cell["suppressed"]:
        return []
    floor = config.max_precision_drop * promised
    if cell["ci_high"] >= floor:
        return []
    message = SHORTFALL_MESSAGE.format(
        value=cell["estimate"],
        high=cell["ci_high"],
        n=section["n_mature"],
        share=config.max_precision_drop,
        promised=promised,
    )
    return [
        Alert(
            "precision_shortfall",
            "performance",
            "precision_at_k",
            message,
            cell["estimate"],
            floor,
        )
    ]
