"""The training reference of a model's features: bin edges and shares, aggregates only.

At training, :func:`log_feature_reference` logs one JSON artifact
(``monitoring/feature_reference.json``) beside the model: per feature, the decile
edges of the training rows and each bin's share (numeric), or each category's
share (categorical, categories under ``min_cell_size`` rows folded into
``other``), and the share missing. :func:`bin_shares` puts new rows into the same
bins, so the monitor can compare a week's features with training by population
stability index. Nothing person-level is kept: deciles of at least
``min_cell_size`` rows each, and shares.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from typing import Any

import numpy as np
import pandas as pd

from features.settings import EngineSettings

__all__ = [
    "ARTIFACT",
    "OTHER",
    "bin_shares",
    "feature_reference",
    "log_feature_reference",
    "read_feature_reference",
]

ARTIFACT = "monitoring/feature_reference.json"
OTHER = "other"
QUANTILES = tuple(q / 10 for q in range(1, 10))


def feature_reference(
    frame: pd.DataFrame, kinds: Mapping[str, str], *, min_cell_size: int = 10
) -> dict[str, Any]:
    """Return the reference of every feature in ``kinds`` (not modifying ``frame``).

    Parameters
    ----------
    frame : pandas.DataFrame
        The training rows.
    kinds : Mapping
        ``feature -> "numeric" | "categorical"``.
    min_cell_size : int, default 10
        Fewer rows than ``10 * min_cell_size`` give no deciles (one bin); a
        category with fewer rows is folded into ``other``.

    Returns
    -------
    dict
        ``{"schema", "n_rows", "features": {name: {"kind", "edges" | "categories",
        "shares", "missing_share"}}}``.
    """
    features = {
        name: _numeric(frame[name], min_cell_size)
        if kind == "numeric"
        else _categorical(frame[name], min_cell_size)
        for name, kind in kinds.items()
    }
    return {
        "schema": "opspor-feature-reference/1",
        "n_rows": len(frame),
        "features": features,
    }


def _numeric(column: pd.Series, min_cell_size: int) -> dict[str, Any]:
    values = pd.to_numeric(column, errors="coerce").astype(float).dropna().to_numpy()
    edges: list[float] = []
    if len(values) >= 10 * min_cell_size:
        edges = sorted({float(v) for v in np.quantile(values, QUANTILES)})
    entry = {"kind": "numeric", "edges": edges, "missing_share": _missing(column)}
    return {**entry, "shares": bin_shares(column, entry)[0]}


def _categorical(column: pd.Series, min_cell_size: int) -> dict[str, Any]:
    counts = column.dropna().astype(str).value_counts()
    kept = sorted(str(c) for c, n in counts.items() if n >= min_cell_size)
    entry = {
        "kind": "categorical",
        "categories": kept,
        "missing_share": _missing(column),
    }
    return {**entry, "shares": bin_shares(column, entry)[0]}


def _missing(column: pd.Series) -> float:
    return float(column.isna().mean()) if len(column) else 0.0


def bin_shares(
    column: pd.Series, entry: Mapping[str, Any]
) -> tuple[list[float], float]:
    """Return the share of the non-missing values in each bin, and the share missing.

    Parameters
    ----------
    column : pandas.Series
        The values to bin (not modified).
    entry : Mapping
        One feature of :func:`feature_reference`.

    Returns
    -------
    (list of float, float)
        Shares per bin (numeric: ``len(edges) + 1`` bins, ``x < edges[0]`` first;
        categorical: the categories, then ``other``), and the missing share.
    """
    present = column.dropna()
    if entry["kind"] == "numeric":
        values = pd.to_numeric(present, errors="coerce").astype(float).to_numpy()
        index = np.searchsorted(
            np.asarray(entry["edges"], dtype=float), values, side="right"
        )
        counts = np.bincount(index, minlength=len(entry["edges"]) + 1)
    else:
        categories = list(entry["categories"])
        position = {c: i for i, c in enumerate(categories)}
        index = np.array(
            [position.get(str(v), len(categories)) for v in present], dtype=int
        )
        counts = np.bincount(index, minlength=len(categories) + 1)
    total = counts.sum()
    shares = [float(n / total) if total else 0.0 for n in counts]
    return shares, _missing(column)


def log_feature_reference(
    settings: EngineSettings,
    run_id: str,
    train: pd.DataFrame,
    kinds: Mapping[str, str],
    *,
    known_ids: Collection[str],
) -> dict[str, Any]:
    """Compute the reference of the training rows and log it to the run.

    Returns
    -------
    dict
        The logged reference.
    """
    from models import tracking

    reference = feature_reference(train, kinds)
    text = json.dumps(reference, indent=1)
    tracking.log_run_text(settings, run_id, text, ARTIFACT, known_ids=known_ids)
    return reference


def read_feature_reference(
    settings: EngineSettings, run_id: str
) -> dict[str, Any] | None:
    """Return the logged reference of a run, or None when the run has none."""
    from models import tracking

    text = tracking.try_load_run_text(settings, run_id, ARTIFACT)
    return None if text is None else dict(json.loads(text))
