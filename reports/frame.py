"""Thin adapters that assemble the audit frame from the warehouse.

The frame (one row per scored citizen) is built in memory from
``scoring.scores`` + ``marts.audit_attributes`` + care indicators
(``reports/sql/audit_cohort.sql``), the labels written by :mod:`models.outcomes`
(``labels.<outcome>``) and, for a weekly audit, the list in ``outreach.lists``
(read by SQL; ``reports`` never imports ``outreach``). Citizen ids are used only
to join and are dropped before the frame leaves this module.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import duckdb
import pandas as pd

from features.db import check_identifier, read_sql, run_sql, table_exists
from features.errors import NotFoundError
from reports.fairness.compute import LABEL_PREFIXES

__all__ = [
    "AuditScope",
    "NO_LIST",
    "NO_SCORES",
    "build_audit_frame",
    "run_report_sql",
    "read_labels",
    "resolve_model_scope",
    "resolve_week_scope",
]

log = logging.getLogger(__name__)

_LABEL_TABLES = ("diagnoses", "hospital_contacts", "coverage")
#: audit_ascertainment.sql's counts -> the frame's column prefix (the group follows).
_LABEL_COUNTS = dict(
    zip(("n_found_at_care", "n_found_at_admission"), LABEL_PREFIXES, strict=True)
)

NO_SCORES = (
    "No scores for model {model_uri!r}{when} in scoring.scores; "
    "run `opspor score` first."
)
NO_LIST = "No list for programme {programme!r} and week {week!r} in outreach.list_runs."


@dataclass(frozen=True)
class AuditScope:
    """What one audit looks at: a model's scores at a date, and maybe one list."""

    model_uri: str
    as_of_date: date
    list_id: str | None = None


def run_report_sql(
    con: duckdb.DuckDBPyConnection, name: str, **params: object
) -> pd.DataFrame:
    """Run ``reports/sql/<name>.sql`` with bound parameters and return a frame."""
    sql = read_sql("reports", "sql", f"{check_identifier(name, 'SQL file')}.sql")
    return run_sql(con, sql, params).df()


def resolve_week_scope(
    con: duckdb.DuckDBPyConnection, *, programme: str, week: str
) -> AuditScope:
    """Return the frozen list run of a programme's week: its list, model and as-of date.

    Raises
    ------
    NotFoundError
        No list run exists for the programme and week.
    """
    if not table_exists(con, "outreach", "list_runs"):
        raise NotFoundError(NO_LIST.format(programme=programme, week=week))
    run = run_report_sql(con, "list_run", programme=programme, week=week)
    if run.empty:
        raise NotFoundError(NO_LIST.format(programme=programme, week=week))
    row = run.iloc[0]
    return AuditScope(
        str(row["model_uri"]),
        pd.Timestamp(row["as_of_date"]).date(),
        str(row["list_id"]),
    )


def resolve_model_scope(
    con: duckdb.DuckDBPyConnection,
    *,
    model_uri: str,
    as_of_date: date | None = None,
    outcome: str | None = None,
) -> AuditScope:
    """Pick the as-of date to audit a model at.

    Given none, take the latest scored date whose outcome is labelled (so recall
    and calibration can be measured), else the latest scored date.

    Raises
    ------
    NotFoundError
        The model has no scores (at that date).
    """
    when = "" if as_of_date is None else f" at {as_of_date}"
    dates = (
        []
        if not table_exists(con, "scoring", "scores")
        else [
            pd.Timestamp(d).date()
            for d in run_report_sql(con, "scored_dates", model_uri=model_uri)[
                "as_of_date"
            ]
        ]
    )
    if as_of_date is not None:
        dates = [d for d in dates if d == as_of_date]
    if not dates:
        raise NotFoundError(NO_SCORES.format(model_uri=model_uri, when=when))
    labelled = set(_label_dates(con, outcome)) if outcome else set()
    chosen = next((d for d in dates if d in labelled), dates[0])
    return AuditScope(model_uri, chosen)


def _label_dates(con: duckdb.DuckDBPyConnection, outcome: str) -> list[date]:
    """As-of dates present in ``labels.<outcome>`` (none when the table is absent)."""
    table = check_identifier(outcome, "Outcome")
    if not table_exists(con, "labels", table):
        return []
    rows = con.execute(f"select distinct as_of_date from labels.{table}").fetchall()
    return [pd.Timestamp(r[0]).date() for r in rows]


def read_labels(
    con: duckdb.DuckDBPyConnection, outcome: str, *, as_of_date: date
) -> pd.DataFrame | None:
    """``citizen_id, label`` of ``labels.<outcome>`` at one date (None if not built).

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
    outcome : str
        Outcome name; the table name is checked as an identifier.
    as_of_date : date

    Returns
    -------
    DataFrame or None
    """
    table = check_identifier(outcome, "Outcome")
    if not table_exists(con, "labels", table):
        return None
    sql = f"select citizen_id, label from labels.{table} where as_of_date = $as_of_date"
    return run_sql(con, sql, {"as_of_date": as_of_date}).df()


def _with_label(
    frame: pd.DataFrame, labels: pd.DataFrame | None, column: str
) -> pd.DataFrame:
    """Left-join a label as ``column`` (null where not labelled or censored)."""
    if labels is None:
        return frame.assign(**{column: pd.array([pd.NA] * len(frame), dtype="Int64")})
    joined = frame[["citizen_id"]].merge(labels, on="citizen_id", how="left")
    return frame.assign(**{column: pd.array(joined["label"], dtype="Int64")})


def _with_label_counts(
    con: duckdb.DuckDBPyConnection,
    frame: pd.DataFrame,
    scope: AuditScope,
    washout_days: int,
) -> pd.DataFrame:
    """Join the label check's counts per citizen (frame unchanged without raw.*).

    One pair of columns per complication group, ``n_found_at_care__<group>`` and
    ``n_found_at_admission__<group>``, zero for citizens with none.
    """
    if not all(table_exists(con, "raw", t) for t in _LABEL_TABLES):
        log.info("No raw diagnoses, contacts or coverage: the label check is skipped")
        return frame
    found = run_report_sql(
        con,
        "audit_ascertainment",
        model_uri=scope.model_uri,
        as_of_date=scope.as_of_date,
        washout_days=washout_days,
    )
    wide = found.pivot_table(
        index="citizen_id",
        columns="complication_group",
        values=list(_LABEL_COUNTS),
        aggfunc="sum",
        fill_value=0,
    )
    wide.columns = [f"{_LABEL_COUNTS[v]}{g}" for v, g in wide.columns]
    joined = frame[["citizen_id"]].merge(
        wide, left_on="citizen_id", right_index=True, how="left"
    )
    counts = joined.drop(columns="citizen_id").fillna(0).astype("int64")
    return pd.concat([frame, counts.set_axis(frame.index)], axis=1)


def _cohort(
    con: duckdb.DuckDBPyConnection, scope: AuditScope, municipalities: Sequence[str]
) -> pd.DataFrame:
    """Scored citizens of the scope in ranking order (risk_rank, then citizen_id).

    DuckDB returns a join's rows in no fixed order; the audit's bootstrap draws
    and its top-k tie-break both follow row position, so an unordered frame
    gives other intervals on every run.
    """
    frame = run_report_sql(
        con, "audit_cohort", model_uri=scope.model_uri, as_of_date=scope.as_of_date
    )
    if municipalities:
        frame = frame[frame["municipality_code"].isin(list(municipalities))]
    if frame.empty:
        when = f" at {scope.as_of_date}"
        raise NotFoundError(NO_SCORES.format(model_uri=scope.model_uri, when=when))
    return frame.sort_values(["risk_rank", "citizen_id"], kind="stable").reset_index(
        drop=True
    )


def build_audit_frame(
    con: duckdb.DuckDBPyConnection,
    scope: AuditScope,
    *,
    outcome: str | None,
    alternative_outcomes: Sequence[str] = (),
    municipalities: Sequence[str] = (),
    label_washout_days: int | None = None,
    compare_models: Sequence[str] = (),
    truth: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Return the audit frame for one scope, without citizen ids.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The warehouse (read only is enough).
    scope : AuditScope
        Model URI, as-of date and optionally the list whose members are ``selected``.
    outcome : str or None
        The model's outcome; ``labels.<outcome>`` becomes ``y_true``.
    alternative_outcomes : sequence of str
        Other outcomes, joined as ``y_true_<outcome>`` when their table exists.
    municipalities : sequence of str
        Keep only citizens living here (a programme's area); empty keeps all.
    label_washout_days : int, optional
        Washout of the label check; with it, and when the warehouse holds
        ``raw.diagnoses`` and ``raw.hospital_contacts``, the counts of
        ``reports/sql/audit_ascertainment.sql`` are joined.
    compare_models : sequence of str
        Other model URIs whose scores at the same date are joined as
        ``y_score__<uri>`` (null where that model did not score the citizen).
    truth : DataFrame, optional
        ``citizen_id, true_risk`` of a synthetic world at the scope's date
        (:func:`reports.compare.read_truth_risk`), joined as ``true_risk``
        (NaN for citizens the truth does not know).

    Returns
    -------
    DataFrame
        One row per scored citizen; no ``citizen_id`` column.

    Raises
    ------
    NotFoundError
        No scores for the model at the date.
    """
    frame = _cohort(con, scope, municipalities)
    labels = read_labels(con, outcome, as_of_date=scope.as_of_date) if outcome else None
    frame = _with_label(frame, labels, "y_true")
    for other in alternative_outcomes:
        if other != outcome:
            found = read_labels(con, other, as_of_date=scope.as_of_date)
            if found is not None:
                frame = _with_label(frame, found, f"y_true_{other}")
    if label_washout_days is not None:
        frame = _with_label_counts(con, frame, scope, label_washout_days)
    for uri in compare_models:
        other = run_sql(
            con,
            "select citizen_id, risk_score from scoring.scores "
            "where model_uri = $model_uri and as_of_date = $as_of_date",
            {"model_uri": uri, "as_of_date": scope.as_of_date},
        ).df()
        joined = frame[["citizen_id"]].merge(other, on="citizen_id", how="left")
        frame = frame.assign(**{f"y_score__{uri}": joined["risk_score"].to_numpy()})
    if truth is not None:
        joined = frame[["citizen_id"]].merge(truth, on="citizen_id", how="left")
        frame = frame.assign(true_risk=joined["true_risk"].to_numpy(dtype=float))
    if scope.list_id is not None:
        members = set(
            run_report_sql(con, "list_members", list_id=scope.list_id)["citizen_id"]
        )
        frame = frame.assign(selected=frame["citizen_id"].isin(members))
    log.info(
        "Audit frame: %d citizens, %d labelled",
        len(frame),
        int(frame["y_true"].notna().sum()),
    )
    return frame.drop(columns=["citizen_id"])
