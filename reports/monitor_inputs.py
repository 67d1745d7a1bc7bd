"""Inputs and scores: one as-of date's features and scores against training.

Each feature of the model is put into the bins of its training reference
(:mod:`models.reference`) and compared by population stability index and share
missing; the score distribution is compared with the first date this model
scored; the cohort's size is shown over every scored date, and the week's list
by education and municipality (cells under ``min_cell_size`` suppressed).
A model trained before references were logged gets one computed from the
warehouse rows at its training dates, and the section says so.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from features.db import check_identifier, table_exists
from models.reference import bin_shares, feature_reference
from reports.drift import population_stability_index
from reports.monitor_config import MonitorConfig
from reports.monitor_flags import Alert

__all__ = [
    "ModelInfo",
    "composition",
    "feature_drift",
    "monitor_inputs",
    "read_promised",
    "score_bins",
    "suppress_counts",
]

FEATURE_MESSAGE = (
    "{feature}: population stability index {psi:.2f} against training at {as_of}"
)
MISSING_MESSAGE = (
    "{feature}: {now:.0%} missing at {as_of} against {then:.0%} in training"
)
SCORE_MESSAGE = (
    "risk score: population stability index {psi:.2f} at {as_of} against {first}"
)
SCORE_BINS = 10
NO_SCORES: Mapping[str, Any] = {
    "first_scored": None,
    "bins": [],
    "first_bins": [],
    "psi": None,
    "mean": None,
    "quantiles": {},
}


@dataclass(frozen=True)
class ModelInfo:
    """What the monitor needs to know of a model version (aggregates only).

    Parameters
    ----------
    model_uri : str
        ``models:/NAME/VERSION``.
    cohort : str
        The cohort flag of ``marts.scoring_features``.
    outcome : str
        The outcome it predicts (``labels.<outcome>``).
    kinds : Mapping
        ``feature -> "numeric" | "categorical"``.
    reference : Mapping or None
        The logged training reference; None when the run has none.
    fit_dates : tuple of date
        Training index dates (for a reference computed from the warehouse).
    promised : Mapping
        The run's logged metrics: ``metric -> {"value", "ci_low", "ci_high"}``.
    horizon_days : int
        The outcome window.
    """

    model_uri: str
    cohort: str
    outcome: str
    kinds: Mapping[str, str]
    reference: Mapping[str, Any] | None
    fit_dates: tuple[date, ...]
    promised: Mapping[str, Any]
    horizon_days: int


def monitor_inputs(
    con: duckdb.DuckDBPyConnection,
    model: ModelInfo,
    *,
    as_of: date,
    list_id: str | None,
    config: MonitorConfig,
) -> tuple[dict[str, Any], list[Alert]]:
    """Build the inputs-and-scores section and its alerts.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The warehouse.
    model : ModelInfo
        The model whose scores and features are watched.
    as_of : date
        The week's as-of date.
    list_id : str or None
        The week's list, for its composition.
    config : MonitorConfig
        Thresholds and the minimum cell size.

    Returns
    -------
    (dict, list of Alert)
    """
    reference, source = _reference(con, model)
    scored = table_exists(con, "scoring", "scores")
    frame = (
        _scored_features(con, model, as_of)
        if scored
        else pd.DataFrame(columns=["risk_score", *model.kinds])
    )
    drift = feature_drift(frame, reference, min_cell_size=config.min_cell_size)
    for name, entry in drift.items():
        entry["calendar_reason"] = config.calendar_reason(name)
    section = {
        "as_of_date": as_of.isoformat(),
        "reference_source": source,
        "n_scored": len(frame),
        "features": drift,
        "scores": _score_section(con, model, as_of) if scored else NO_SCORES,
        "cohort_sizes": _cohort_sizes(con, model) if scored else {},
        "list_composition": composition(con, list_id, as_of, config.min_cell_size),
    }
    return section, _alerts(section, config)


def _reference(
    con: duckdb.DuckDBPyConnection, model: ModelInfo
) -> tuple[Mapping[str, Any], str]:
    """Return the logged reference, or one computed at the training dates."""
    if model.reference is not None:
        return model.reference, "logged at training (MLflow)"
    rows = _mart_rows(con, model, list(model.fit_dates))
    dates = ", ".join(d.isoformat() for d in model.fit_dates)
    source = (
        "computed from the warehouse rows at the model's training dates "
        f"({dates}): the model run has no logged reference"
    )
    return feature_reference(rows, model.kinds), source


def _mart_rows(
    con: duckdb.DuckDBPyConnection, model: ModelInfo, dates: Sequence[date]
) -> pd.DataFrame:
    columns = ", ".join(f'"{check_identifier(f, "Column")}"' for f in model.kinds)
    cohort = check_identifier(model.cohort, "Column")
    return con.execute(
        f"select {columns} from marts.scoring_features"
        f" where {cohort} and list_contains($dates, as_of_date)",
        {"dates": list(dates)},
    ).df()


def _scored_features(
    con: duckdb.DuckDBPyConnection, model: ModelInfo, as_of: date
) -> pd.DataFrame:
    """Features of the citizens the model scored at ``as_of`` (ids dropped)."""
    columns = ", ".join(f'f."{check_identifier(f, "Column")}"' for f in model.kinds)
    return con.execute(
        f"select s.risk_score, {columns} from scoring.scores as s"
        " inner join marts.scoring_features as f"
        " on f.citizen_id = s.citizen_id and f.as_of_date = s.as_of_date"
        " where s.model_uri = $uri and s.as_of_date = $as_of",
        {"uri": model.model_uri, "as_of": as_of},
    ).df()


def feature_drift(
    frame: pd.DataFrame, reference: Mapping[str, Any], *, min_cell_size: int
) -> dict[str, Any]:
    """Compare each referenced feature of ``frame`` with its training bins.

    Returns
    -------
    dict
        ``feature -> {"psi", "missing_share", "reference_missing_share",
        "shares", "reference_shares"}``; psi is None with fewer than
        ``min_cell_size`` rows.
    """
    out: dict[str, Any] = {}
    for name, entry in reference["features"].items():
        if name not in frame.columns:
            continue
        shares, missing = bin_shares(frame[name], entry)
        enough = len(frame) - frame[name].isna().sum() >= min_cell_size
        psi = population_stability_index(entry["shares"], shares) if enough else None
        out[name] = {
            "psi": psi,
            "missing_share": missing,
            "reference_missing_share": entry["missing_share"],
            "shares": shares if enough else None,
            "reference_shares": entry["shares"],
        }
    return out


def score_bins(scores: Sequence[float]) -> list[float]:
    """Share of scores in each tenth of [0, 1] (the last bin includes 1)."""
    values = np.clip(np.asarray(scores, dtype=float), 0.0, 1.0)
    index = np.minimum((values * SCORE_BINS).astype(int), SCORE_BINS - 1)
    counts = np.bincount(index, minlength=SCORE_BINS)
    return [float(c / counts.sum()) if counts.sum() else 0.0 for c in counts]


def _score_section(
    con: duckdb.DuckDBPyConnection, model: ModelInfo, as_of: date
) -> dict[str, Any]:
    first = con.execute(
        "select min(as_of_date) from scoring.scores where model_uri = $uri",
        {"uri": model.model_uri},
    ).fetchone()
    first_date = first[0] if first and first[0] else as_of
    now, then = (_scores(con, model, d) for d in (as_of, first_date))
    psi = (
        population_stability_index(score_bins(then), score_bins(now))
        if first_date != as_of and len(now) and len(then)
        else None
    )
    quantiles = (0.1, 0.25, 0.5, 0.75, 0.9)
    return {
        "first_scored": first_date.isoformat(),
        "bins": score_bins(now),
        "first_bins": score_bins(then),
        "psi": psi,
        "mean": float(np.mean(now)) if len(now) else None,
        "quantiles": {str(q): float(np.quantile(now, q)) for q in quantiles}
        if len(now)
        else {},
    }


def _scores(con: duckdb.DuckDBPyConnection, model: ModelInfo, day: date) -> list[float]:
    rows = con.execute(
        "select risk_score from scoring.scores"
        " where model_uri = $uri and as_of_date = $d",
        {"uri": model.model_uri, "d": day},
    ).fetchall()
    return [float(r[0]) for r in rows]


def _cohort_sizes(con: duckdb.DuckDBPyConnection, model: ModelInfo) -> dict[str, int]:
    rows = con.execute(
        "select as_of_date, count(*) from scoring.scores where model_uri = $uri"
        " group by 1 order by 1",
        {"uri": model.model_uri},
    ).fetchall()
    return {d.isoformat(): int(n) for d, n in rows}


def suppress_counts(counts: Mapping[str, int], min_cell_size: int) -> dict[str, Any]:
    """Return ``{group: {"n", "share", "suppressed"}}``, hiding cells under the minimum.

    A suppressed cell shows neither count nor share; when exactly one cell is
    suppressed, the smallest other cell is suppressed too, so the hidden one
    cannot be had from the total (complementary suppression).
    """
    total = sum(counts.values())
    small = {g for g, n in counts.items() if n < min_cell_size}
    if len(small) == 1 and len(counts) > 1:
        rest = sorted((n, g) for g, n in counts.items() if g not in small)
        small.add(rest[0][1])
    return {
        g: {"n": None, "share": None, "suppressed": True}
        if g in small
        else {"n": n, "share": n / total, "suppressed": False}
        for g, n in sorted(counts.items())
    }


def composition(
    con: duckdb.DuckDBPyConnection, list_id: str | None, as_of: date, min_cell_size: int
) -> dict[str, Any]:
    """Return the week's list by education level and municipality (suppressed cells)."""
    if list_id is None or not table_exists(con, "outreach", "lists"):
        return {}
    out: dict[str, Any] = {}
    for column in ("education_level", "municipality_code"):
        rows = con.execute(
            f"select coalesce(a.{column}, 'unknown'), count(*) from outreach.lists as l"
            " left join marts.audit_attributes as a"
            " on a.citizen_id = l.citizen_id and a.as_of_date = $as_of"
            " where l.list_id = $list_id group by 1",
            {"as_of": as_of, "list_id": list_id},
        ).fetchall()
        out[column] = suppress_counts({str(g): int(n) for g, n in rows}, min_cell_size)
    return out


def _alerts(section: Mapping[str, Any], config: MonitorConfig) -> list[Alert]:
    as_of = section["as_of_date"]
    alerts = []
    for name, f in section["features"].items():
        drifts = f["psi"] is not None and f["psi"] > config.max_psi
        if drifts and config.calendar_reason(name) is None:
            message = FEATURE_MESSAGE.format(feature=name, psi=f["psi"], as_of=as_of)
            alerts.append(
                Alert(
                    "feature_drift", "inputs", name, message, f["psi"], config.max_psi
                )
            )
        rise = f["missing_share"] - f["reference_missing_share"]
        if rise > config.max_missing_increase:
            message = MISSING_MESSAGE.format(
                feature=name,
                now=f["missing_share"],
                then=f["reference_missing_share"],
                as_of=as_of,
            )
            alerts.append(
                Alert(
                    "missing_increase",
                    "inputs",
                    name,
                    message,
                    rise,
                    config.max_missing_increase,
                )
            )
    psi = section["scores"]["psi"]
    if psi is not None and psi > config.max_psi:
        first = section["scores"]["first_scored"]
        message = SCORE_MESSAGE.format(psi=psi, as_of=as_of, first=first)
        alerts.append(
            Alert("score_drift", "inputs", "risk_score", message, psi, config.max_psi)
        )
    return alerts


def read_promised(text: str | None) -> dict[str, Any]:
    """Parse a run's ``evaluation/metrics.json`` (empty when absent)."""
    return dict(json.loads(text)) if text else {}
