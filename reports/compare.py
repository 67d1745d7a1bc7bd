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
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from features.errors import ConfigError, NotFoundError
from models.metrics import top_k
from reports.config import FairnessConfig
from reports.suppression import complementary_suppression

__all__ = ["COMPARE_GROUPINGS", "TRUE_RISK", "compare_rankings", "read_truth_risk"]

#: Groupings whose composition of the list is compared.
COMPARE_GROUPINGS = ("education_split", "education_level")
#: The audit frame's column of a synthetic world's true risk (``--truth``).
TRUE_RISK = "true_risk"
UNREADABLE_TRUTH = "Cannot read the truth file {path}: {error}"
BAD_TRUTH = (
    "The truth file {path} must hold citizen_id, index_date and one true_risk_* "
    "column (a synthetic extract's *.truth_risk.parquet); it has {columns}."
)
NO_TRUTH_DATE = (
    "The truth file {path} has no true risk at {as_of}; its index dates run "
    "{first} to {last}. Audit at one of them (--as-of)."
)


def read_truth_risk(path: Path, as_of: date) -> pd.DataFrame:
    """``citizen_id, true_risk`` of a synthetic world's truth at one index date.

    Parameters
    ----------
    path : Path
        The generator's truth file (``<extract>.truth_risk.parquet`` or
        ``<extract>.truth_smi.parquet``): one ``true_risk_*`` column.
    as_of : date
        The audited date; it must be one of the file's index dates.

    Raises
    ------
    NotFoundError
        The file cannot be read, or holds no risk at ``as_of``.
    ConfigError
        The file is not a truth file.
    """
    try:
        table = pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        raise NotFoundError(UNREADABLE_TRUTH.format(path=path, error=exc)) from exc
    risks = [c for c in table.columns if c.startswith("true_risk_")]
    if len(risks) != 1 or not {"citizen_id", "index_date"} <= set(table.columns):
        columns = ", ".join(map(str, table.columns))
        raise ConfigError(BAD_TRUTH.format(path=path, columns=columns))
    dates = pd.to_datetime(table["index_date"]).dt.date
    at = table[dates == as_of]
    if at.empty:
        raise NotFoundError(
            NO_TRUTH_DATE.format(
                path=path, as_of=as_of, first=dates.min(), last=dates.max()
            )
        )
    return pd.DataFrame(
        {
            "citizen_id": at["citizen_id"].to_numpy(),
            TRUE_RISK: at[risks[0]].to_numpy(dtype=float),
        }
    )


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


def _expected(
    selected: np.ndarray, risk: np.ndarray, best: float | None, min_cell: int
) -> dict[str, Any]:
    """Return the mean true risk of the listed, and its share of the best."""
    n = int(selected.sum())
    if n < min_cell:
        return {"n": None, "estimate": None, "share_of_true_ranking": None}
    estimate = float(risk[selected].mean())
    share = estimate / best if best else None
    return {"n": n, "estimate": estimate, "share_of_true_ranking": share}


def _true_risk(frame: pd.DataFrame, column: str) -> np.ndarray:
    """Each citizen's true risk; 0 for a citizen the truth does not list.

    The generator's truth lists every citizen at risk of its outcome at the
    date (e.g. everyone with diabetes); a cohort member it leaves out (a
    recorded diagnosis without the disease) has no risk of that outcome.
    """
    risk: np.ndarray = frame[column].fillna(0.0).to_numpy(dtype=float)
    return risk


def _true_ranking(
    risk: np.ndarray,
    k: int,
    groupings: Mapping[str, pd.Series],
    need: np.ndarray,
    min_cell: int,
) -> dict[str, Any]:
    """Return the cohort's top k by true risk: expected precision and composition."""
    selected = top_k(risk, k)
    expected = _expected(selected, risk, None, min_cell)
    return {
        "expected_precision_at_k": {**expected, "share_of_true_ranking": 1.0},
        "composition": {
            g: _composition(values, selected, need, min_cell)
            for g, values in groupings.items()
        },
    }


def compare_rankings(
    frame: pd.DataFrame,
    scores: Mapping[str, str],
    *,
    k: int,
    config: FairnessConfig,
    outcomes: Sequence[str] = (),
    truth: str | None = None,
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
    truth : str, optional
        In a synthetic world: the column of each citizen's true risk (NaN, read
        as 0, where the truth does not list the citizen). Each ranking then tells its
        expected precision@k (mean true risk of its top k) and its share of the
        true-risk ranking's; ``true_ranking`` is the cohort's top k by true
        risk, with its composition.

    Returns
    -------
    dict
        ``k``, ``rankings``: name -> ``n_scored``, ``precision_at_k`` per outcome,
        ``composition`` per grouping and, with ``truth``,
        ``expected_precision_at_k``; with ``truth`` also ``true_ranking``.
    """
    min_cell = config.min_cell_size
    need = frame["y_true"].fillna(0).to_numpy(dtype=float)
    groupings = {
        name: _values(frame, config, name)
        for name in COMPARE_GROUPINGS
        if name in {g.name for g in config.groupings}
    }
    risk = None if truth is None else _true_risk(frame, truth)
    true = None if risk is None else _true_ranking(risk, k, groupings, need, min_cell)
    best = None if true is None else true["expected_precision_at_k"]["estimate"]
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
        if risk is not None:
            rankings[name]["expected_precision_at_k"] = _expected(
                selected, risk, best, min_cell
            )
    out: dict[str, Any] = {"k": k, "outcome": "y_true", "rankings": rankings}
    if true is not None:
        out["true_ranking"] = true
    return out
