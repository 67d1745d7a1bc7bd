"""Side-by-side comparison of ranking models at the programme's capacity k.

The audit of a model (the champion) can name alternative models, e.g. one
trained on an outcome whose recording does not depend on attendance
(``diabetes_acute_harm_365d``). Each ranks the same cohort at the same as-of
date; this module compares their top-k lists: precision@k on the champion's
observed outcome (and on every alternative outcome labelled in the frame) and
the list's composition by education, beside the share of the observed need.
Aggregates only; cells under ``min_cell_size`` are suppressed, with their
complements.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from models.metrics import top_k
from reports.config import FairnessConfig
from reports.suppression import complementary_suppression

__all__ = ["COMPARE_GROUPINGS", "compare_rankings"]

#: Groupings whose composition of the list is compared.
COMPARE_GROUPINGS = ("education_split", "education_level")


def _values(frame: pd.DataFrame, config: FairnessConfig, name: str) -> pd.Series:
    """Return each citizen's group (recoded; null -> ``unknown``)."""
    grouping = config.grouping(name)
    raw = (
        frame[str(grouping.column)]
        .astype("object")
        .where(frame[str(grouping.column)].notna(), "unknown")
        .astype(str)
    )
    if grouping.value_map:
        raw = raw.map(lambda v: grouping.value_map.get(v, "unknown"))
    return raw


def _precision(selected: np.ndarray, y: pd.Series, min_cell: int) -> dict[str, Any]:
    """Precision@k on an outcome among the listed citizens whose outcome is observed."""
    observed = y.notna().to_numpy() & selected
    n = int(observed.sum())
    if n < min_cell:
        return {"n": None, "estimate": None, "suppressed": True}
    hits = float(y.fillna(0).to_numpy(dtype=float)[observed].sum())
    return {"n": n, "estimate": hits / n, "suppressed": False}


def _composition(
    groups: pd.Series, selected: np.ndarray, need: np.ndarray, min_cell: int
) -> dict[str, Any]:
    """Return each group's share of the list and of the observed need."""
    labels = sorted(groups.unique())
    listed = np.array(
        [int((selected & (groups == g).to_numpy()).sum()) for g in labels]
    )
    hidden = complementary_suppression(listed, listed < min_cell)
    total_need = need.sum()
    return {
        g: {
            "share_of_list": None if hidden[i] else listed[i] / max(1, selected.sum()),
            "share_of_need": (
                float(need[(groups == g).to_numpy()].sum() / total_need)
                if total_need > 0
                else None
            ),
            "suppressed": bool(hidden[i]),
        }
        for i, g in enumerate(labels)
    }


def compare_rankings(
    frame: pd.DataFrame,
    scores: Mapping[str, str],
    *,
    k: int,
    config: FairnessConfig,
    outcomes: Sequence[str] = (),
) -> dict[str, Any]:
    """Compare the top-k lists of several rankings of one cohort.

    Parameters
    ----------
    frame : DataFrame
        The audit frame (``y_true``, the education column, alternative outcome
        labels ``y_true_<outcome>``) with one score column per ranking. Not
        modified.
    scores : Mapping
        Ranking name (``"champion"``, ``"NAME@VERSION"``) -> score column.
    k : int
        Capacity.
    config : FairnessConfig
        Groupings and ``min_cell_size``.
    outcomes : sequence of str
        Label columns on which precision@k is also told (besides ``y_true``).

    Returns
    -------
    dict
        ``k``, ``rankings``: name -> ``n_scored``, ``precision_at_k`` per outcome
        and ``composition`` per grouping.
    """
    min_cell = config.min_cell_size
    need = frame["y_true"].fillna(0).to_numpy(dtype=float)
    groupings = {
        name: _values(frame, config, name)
        for name in COMPARE_GROUPINGS
        if name in {g.name for g in config.groupings}
    }
    rankings = {}
    for name, column in scores.items():
        score = frame[column].to_numpy(dtype=float)
        scored = ~np.isnan(score)
        selected = top_k(np.where(scored, score, -np.inf), k) & scored
        rankings[name] = {
            "score_column": column,
            "n_scored": int(scored.sum()),
            "precision_at_k": {
                label: _precision(selected, frame[label], min_cell)
                for label in ["y_true", *outcomes]
                if label in frame.columns
            },
            "composition": {
                g: _composition(values, selected, need, min_cell)
                for g, values in groupings.items()
            },
        }
    return {"k": k, "outcome": "y_true", "rankings": rankings}
