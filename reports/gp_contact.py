"""The survey's question for one programme: does its list favour GP contact.

The survey behind Opspor tells of a GP-journal extract used to invite patients
with severe mental illness to somatic screening: it mostly reached those already
in good contact with their GP. This module asks the same of a model's list and of
its comparators at the same capacity: among citizens of equal need, is a citizen
in regular GP contact more likely to be listed than one without GP contact?

Equal need is read two ways: the same observed outcome (``y_true = 1``: the
citizen went on to have the harm) and the same predicted need (the primary
model's top-20 % risk band, the programme's "high" and "very high" bands). For
each ranking, each grouping (GP-contact level, education) and each group, the
share listed has a bootstrap percentile interval (citizens resampled, the same
draws for every ranking), as has the gap between regular and no GP contact.
Cells under ``min_cell`` citizens are suppressed (no estimate).

:func:`compare_gp_contact` is pure (a frame in, a JSON-ready dict out);
:func:`load_comparison_frame` reads the warehouse and :func:`attach_gp_contact`
adds the result to an audit's ``fairness.json`` and writes ``gp_contact.html``.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from features.db import table_exists
from models.metrics import bootstrap_counts, percentile_interval, top_k

__all__ = [
    "COMPARATORS",
    "GP_LEVELS",
    "WEEKS_IN_QUARTER",
    "attach_gp_contact",
    "compare_gp_contact",
    "load_comparison_frame",
    "render_gp_contact_html",
]

#: Registered model -> its comparators (name in the report -> registered model).
COMPARATORS: Mapping[str, Mapping[str, str]] = {
    "smi_somatic_365d": {
        "gp_journal": "smi_somatic_365d_gp",
        "rule": "smi_somatic_365d_rule",
    },
    # harm first recorded in hospital: the same comparators (what the survey's
    # GP extract could see, and the rule), at the same capacity
    "smi_somatic_harm_365d": {
        "gp_journal": "smi_somatic_365d_gp",
        "rule": "smi_somatic_365d_rule",
    },
}
#: GP contacts in the year before the as-of date (marts.audit_attributes).
GP_LEVELS = ("none", "low", "regular")
_GROUPINGS = ("gp_contact_level", "education_level")
#: The comparison is repeated at 13 weeks' capacity (a quarter of weekly lists,
#: nobody listed twice): at one week's k the groups' shares are small counts.
WEEKS_IN_QUARTER = 13
_HIGH_BAND = 0.80  # score percentile of the primary model: "high" and "very high"
_QUESTION = (
    "Among citizens with the same need (the same observed outcome, or the same "
    "predicted risk band), is a citizen in regular GP contact more likely to be "
    "listed than one without GP contact?"
)
_SCORES_SQL = """
select citizen_id, risk_score, model_uri
from scoring.scores
where as_of_date = $as_of and model_uri = $uri
"""
_LATEST_URI_SQL = """
select model_uri
from scoring.scores
where as_of_date = $as_of and model_uri like $prefix
group by model_uri
order by cast(split_part(model_uri, '/', 3) as integer) desc
limit 1
"""


def _cell(
    listed: np.ndarray,
    eligible: np.ndarray,
    draws: Sequence[np.ndarray],
    *,
    confidence: float,
    min_cell: int,
    share_of_list: bool = False,
) -> dict[str, Any]:
    """Share listed among eligible citizens, with its interval; suppressed if small.

    A share of the list (``share_of_list``) is suppressed when fewer than
    ``min_cell`` of the group are on it, as the audit's shares are.
    """
    n = int(eligible.sum())
    if n < min_cell or (share_of_list and int((listed & eligible).sum()) < min_cell):
        return {"n": n, "estimate": None, "ci_low": None, "ci_high": None}
    num = np.array([(w * listed * eligible).sum() for w in draws])
    den = np.array([(w * eligible).sum() for w in draws])
    share = np.divide(num, den, out=np.full(len(num), np.nan), where=den > 0)
    low, high = percentile_interval(share[:, None], confidence=confidence)
    return {
        "n": n,
        "estimate": float(listed[eligible].mean()),
        "ci_low": None if np.isnan(low[0]) else float(low[0]),
        "ci_high": None if np.isnan(high[0]) else float(high[0]),
    }


def _gap(
    listed: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    draws: Sequence[np.ndarray],
    *,
    confidence: float,
    min_cell: int,
) -> dict[str, Any]:
    """Share listed in ``high`` minus share listed in ``low``, with its interval."""
    if high.sum() < min_cell or low.sum() < min_cell:
        return {"estimate": None, "ci_low": None, "ci_high": None}

    def share(w: np.ndarray, mask: np.ndarray) -> float:
        den = (w * mask).sum()
        return float((w * listed * mask).sum() / den) if den > 0 else np.nan

    diffs = np.array([share(w, high) - share(w, low) for w in draws])
    lo, hi = percentile_interval(diffs[:, None], confidence=confidence)
    return {
        "estimate": float(listed[high].mean() - listed[low].mean()),
        "ci_low": None if np.isnan(lo[0]) else float(lo[0]),
        "ci_high": None if np.isnan(hi[0]) else float(hi[0]),
    }


def compare_gp_contact(
    frame: pd.DataFrame,
    *,
    rankings: Sequence[str],
    k: int,
    n_bootstrap: int = 200,
    seed: int = 20261207,
    confidence: float = 0.95,
    min_cell: int = 10,
) -> dict[str, Any]:
    """Compare who each ranking lists, at the same capacity, among equal need.

    Parameters
    ----------
    frame : DataFrame
        One row per cohort citizen: ``score_<ranking>`` for every ranking (the
        first is the primary model, whose score bands predicted need),
        ``y_true`` (1, 0 or NaN), ``gp_contact_level`` and ``education_level``.
    rankings : sequence of str
        Names of the rankings, primary first.
    k : int
        Capacity: each ranking lists its k best.
    n_bootstrap, seed, confidence : int, int, float
        Bootstrap resamples of citizens (the same draws for every ranking).
    min_cell : int
        Smallest cell shown; smaller ones have ``estimate`` None.

    Returns
    -------
    dict
        ``question``, ``k``, ``n_cohort``, ``n_events``, ``rankings``: per
        ranking, per grouping: ``equal_outcome`` and ``equal_band`` (share
        listed per group), ``list_share`` (the list's make-up) and, for the
        GP-contact grouping, ``gap_regular_vs_none`` for both need readings.
    """
    n = len(frame)
    draws = (
        [
            c
            for chunk in bootstrap_counts(n, n_bootstrap=n_bootstrap, seed=seed)
            for c in chunk
        ]
        if n
        else []
    )
    y = frame["y_true"].to_numpy(dtype=float)
    event = y == 1
    primary = frame[f"score_{rankings[0]}"].rank(pct=True, method="max").to_numpy()
    band = primary >= _HIGH_BAND
    everyone = np.ones(n, dtype=bool)
    out: dict[str, Any] = {}
    for name in rankings:
        listed = top_k(frame[f"score_{name}"].to_numpy(dtype=float), k)
        per: dict[str, Any] = {}
        for grouping in _GROUPINGS:
            values = frame[grouping].astype(str).to_numpy()
            groups = (
                GP_LEVELS if grouping == "gp_contact_level" else sorted(set(values))
            )
            per[grouping] = {
                "equal_outcome": {
                    g: _cell(
                        listed,
                        event & (values == g),
                        draws,
                        confidence=confidence,
                        min_cell=min_cell,
                    )
                    for g in groups
                },
                "equal_band": {
                    g: _cell(
                        listed,
                        band & (values == g),
                        draws,
                        confidence=confidence,
                        min_cell=min_cell,
                    )
                    for g in groups
                },
                "list_share": {
                    g: _cell(
                        values == g,
                        listed & everyone,
                        draws,
                        confidence=confidence,
                        min_cell=min_cell,
                        share_of_list=True,
                    )
                    for g in groups
                },
            }
        level = frame["gp_contact_level"].astype(str).to_numpy()
        per["gp_contact_level"]["gap_regular_vs_none"] = {
            need: _gap(
                listed,
                mask & (level == "regular"),
                mask & (level == "none"),
                draws,
                confidence=confidence,
                min_cell=min_cell,
            )
            for need, mask in (("equal_outcome", event), ("equal_band", band))
        }
        out[name] = per
    return {
        "question": _QUESTION,
        "k": int(k),
        "n_cohort": int(n),
        "n_events": int(event.sum()),
        "n_bootstrap": int(n_bootstrap),
        "confidence": confidence,
        "rankings": out,
    }


def _latest_uri(con: duckdb.DuckDBPyConnection, name: str, as_of: date) -> str | None:
    """Return the highest version of a model scored at ``as_of``, if any."""
    row = con.execute(
        _LATEST_URI_SQL, {"as_of": as_of, "prefix": f"models:/{name}/%"}
    ).fetchone()
    return None if row is None else str(row[0])


def load_comparison_frame(
    con: duckdb.DuckDBPyConnection,
    *,
    model_uri: str,
    as_of_date: date,
    outcome: str,
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Join the primary model's and its comparators' scores, labels and groups.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The warehouse.
    model_uri : str
        ``models:/NAME/VERSION`` of the primary model.
    as_of_date : date
        The scored date.
    outcome : str
        ``labels.<outcome>`` gives ``y_true``.

    Returns
    -------
    (frame, uris)
        The frame for :func:`compare_gp_contact` (no citizen ids) and the URI
        of each ranking found; comparators without scores at the date are left
        out.
    """
    name = model_uri.split("/")[1]
    uris = {"model": model_uri}
    for label, other in COMPARATORS.get(name, {}).items():
        uri = _latest_uri(con, other, as_of_date)
        if uri is not None:
            uris[label] = uri
    frame: pd.DataFrame | None = None
    for label, uri in uris.items():
        part = con.execute(_SCORES_SQL, {"as_of": as_of_date, "uri": uri}).df()
        part = part[["citizen_id", "risk_score"]].rename(
            columns={"risk_score": f"score_{label}"}
        )
        frame = part if frame is None else frame.merge(part, on="citizen_id")
    assert frame is not None
    groups = con.execute(
        "select citizen_id, gp_contact_level, education_level"
        " from marts.audit_attributes where as_of_date = $as_of",
        {"as_of": as_of_date},
    ).df()
    frame = frame.merge(groups, on="citizen_id", how="left")
    if table_exists(con, "labels", outcome):
        labels = con.execute(
            f'select citizen_id, label as y_true from labels."{outcome}"'
            " where as_of_date = $as_of",
            {"as_of": as_of_date},
        ).df()
        frame = frame.merge(labels, on="citizen_id", how="left")
    else:
        frame["y_true"] = np.nan
    frame = frame.sort_values("citizen_id", kind="stable").reset_index(drop=True)
    return frame.drop(columns=["citizen_id"]), uris


def _fmt(cell: Mapping[str, Any]) -> str:
    """One cell as "12% [5%, 20%]", or why it is not shown."""
    if cell.get("estimate") is None:
        return "suppressed" if "n" in cell else "n/a"
    low, high = cell.get("ci_low"), cell.get("ci_high")
    ci = "" if low is None else f" [{low:.0%}, {high:.0%}]"
    return f"{cell['estimate']:.0%}{ci}"


def _table(result: Mapping[str, Any]) -> str:
    """Render the comparison at one capacity as an HTML table."""
    rows = []
    for name, per in result["rankings"].items():
        for grouping in _GROUPINGS:
            for need in ("equal_outcome", "equal_band", "list_share"):
                body = "".join(
                    f"<td>{html.escape(g)}: {_fmt(c)} (n={c['n']})</td>"
                    for g, c in per[grouping][need].items()
                )
                rows.append(
                    f"<tr><th>{html.escape(name)}</th><td>{grouping}</td>"
                    f"<td>{need}</td>{body}</tr>"
                )
        gap = per["gp_contact_level"]["gap_regular_vs_none"]
        rows.append(
            f"<tr><th>{html.escape(name)}</th><td>gap regular - none</td>"
            f"<td>equal outcome: {_fmt(gap['equal_outcome'])}</td>"
            f"<td>equal band: {_fmt(gap['equal_band'])}</td></tr>"
        )
    return (
        f"<p>Capacity k = {result['k']} of {result['n_cohort']} citizens "
        f"({result['n_events']} with the outcome); share listed with "
        f"{result['confidence']:.0%} bootstrap intervals ({result['n_bootstrap']} "
        "resamples); cells under 10 suppressed.</p>"
        f"<table>{''.join(rows)}</table>"
    )


def render_gp_contact_html(result: Mapping[str, Any]) -> str:
    """Render a small self-contained HTML page of the comparison (aggregates only)."""
    quarter = result.get("over_a_quarter")
    more = "" if quarter is None else f"<h2>Over a quarter</h2>{_table(quarter)}"
    return (
        "<!doctype html><html lang='en'><meta charset='utf-8'>"
        "<title>GP contact and the list</title>"
        "<style>body{font-family:sans-serif}td,th{padding:2px 8px;"
        "border-bottom:1px solid #ddd;text-align:left}</style>"
        f"<h1>GP contact and the list</h1><p>{html.escape(result['question'])}</p>"
        f"<h2>One week</h2>{_table(result)}{more}</html>"
    )


def attach_gp_contact(
    con: duckdb.DuckDBPyConnection,
    *,
    model_uri: str,
    as_of_date: date,
    outcome: str | None,
    k: int,
    fairness_json: Path,
) -> dict[str, Any] | None:
    """Add the comparison to an audit's ``fairness.json``; write ``gp_contact.html``.

    Only for a model with comparators (:data:`COMPARATORS`) and an outcome; the
    comparators are those scored at the same date. The comparison at ``k`` is
    repeated at 13 weeks' capacity (``over_a_quarter``). Returns the result or
    None.
    """
    name = model_uri.split("/")[1] if model_uri.startswith("models:/") else ""
    if name not in COMPARATORS or outcome is None:
        return None
    frame, uris = load_comparison_frame(
        con, model_uri=model_uri, as_of_date=as_of_date, outcome=outcome
    )
    result = compare_gp_contact(frame, rankings=list(uris), k=k)
    result["model_uris"] = uris
    wider = min(WEEKS_IN_QUARTER * k, len(frame))
    result["over_a_quarter"] = compare_gp_contact(frame, rankings=list(uris), k=wider)
    report = json.loads(fairness_json.read_text(encoding="utf-8"))
    report["gp_contact_comparison"] = result
    fairness_json.write_text(json.dumps(report, indent=2), encoding="utf-8")
    (fairness_json.parent / "gp_contact.html").write_text(
        render_gp_contact_html(result), encoding="utf-8"
    )
    return result
