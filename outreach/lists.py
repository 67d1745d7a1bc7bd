"""The weekly outreach list: from scores to a frozen, exported, audited list.

:func:`build_weekly_list` is the entry function behind ``opspor list``. It
derives the as-of date from the ISO week and the loaded extract, picks the
scores of the programme's model, lets ``outreach/sql/exclusions.sql`` and
:mod:`outreach.rank` choose who fits, adds the reasons (``scoring.reasons``) and
the last contact (``outreach/sql/list_history.sql``), checks the invariants that
protect citizens a second time in :func:`check_list_invariants`, and only then
stores the list in ``outreach.lists`` / ``outreach.list_runs`` and exports it.
A stored list is frozen: the same programme and week return it unchanged until
``regenerate`` with a reason, which is recorded in the audit log.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from features.db import read_sql, table_exists
from features.errors import ConfigError, DataError, NotFoundError
from features.provenance import MIXED_EXTRACT, mixed_kinds
from outreach.actor import now_utc, resolve_actor
from outreach.app.store import LIST_COLUMNS as _LIST_COLUMNS
from outreach.app.store import (
    OperationalStore,
    operational_store,
    stage_operational_tables,
    sync_to_warehouse,
)
from outreach.exports import EXPORT_FORMATS, ListHeader, export_list
from outreach.list_audit import append_event
from outreach.programmes import Programme, municipality_name
from outreach.rank import (
    fetch_eligible,
    fill_capacity,
    risk_band,
    select_candidates,
    stop_for,
)

if TYPE_CHECKING:  # the web app imports this module; models.explain loads slowly
    from models.explain import OnDemand

__all__ = [
    "check_extract_age",
    "STALE_EXTRACT",
    "STALE_WITHOUT_REASON",
    "StaleDataError",
    "ListInvariantError",
    "ListResult",
    "WeeklyList",
    "build_weekly_list",
    "check_list_invariants",
    "loaded_extract_info",
    "parse_week",
    "read_list",
    "resolve_as_of",
    "stale_note",
    "view_list",
]

log = logging.getLogger(__name__)

_WEEK = re.compile(r"([0-9]{4})-W([0-9]{2})", re.ASCII)
BAD_WEEK = "The week {week!r} is not an ISO week like 2026-W48."
NO_EXTRACT = (
    "No extract is loaded (raw.extract_info is missing or empty). "
    "Run `opspor load EXTRACT_DIR` first."
)
NO_SCORES = (
    "No scores from model {model!r} at as-of date {as_of} (week {week}, extract date "
    "{extract_date}). Run `opspor score --model {model} --as-of {as_of}` first."
)
NO_FEATURES = (
    "No rows in marts.scoring_features at as-of date {as_of}. "
    "Run `opspor features --as-of {as_of}` first."
)
NO_REASONS = (
    "No reasons for {n} of {total} listed citizen(s) at as-of date {as_of} "
    "({model_uri}). "
    "Run `opspor explain --model {model} --as-of {as_of}` first."
)
NO_LIST = (
    "No list for programme {programme!r} week {week}. "
    "Run `opspor list --programme {programme} --week {week}` first."
)
REASON_REQUIRED = (
    'Regenerating a frozen list needs a reason: --regenerate --reason "...".'
)
REFUSED_LIST = "Refusing to write list {list_id}: {problem}."
STALE_EXTRACT = (
    "The loaded extract is dated {extract_date}, {age} days before week {week} starts "
    "({week_start}); programme {programme!r} allows at most {max_days} "
    "(max_extract_age_days). Load a newer extract, or pass --allow-stale --reason TEXT."
)
STALE_WITHOUT_REASON = (
    'Building a list from a stale extract needs a reason: --allow-stale --reason "...".'
)
STALE_NOTE = (
    "{age} days old on {week_start} (limit {max_days}); allowed by {actor}: {reason}"
)


class StaleDataError(DataError):
    """A list would be built from an old extract, or from another extract's results."""


class ListInvariantError(DataError):
    """A list about to be written breaks an invariant that protects citizens."""


class WeeklyList(pa.DataFrameModel):
    """The rows of one weekly list, as stored in ``outreach.lists``."""

    rank: Series[int] = pa.Field(ge=1, unique=True)
    citizen_id: Series[str] = pa.Field(unique=True)
    area: Series[str]
    stop: Series[str]
    risk_band: Series[str]
    reasons: Series[str] = pa.Field(str_length={"min_value": 1})
    n_reasons: Series[int] = pa.Field(ge=1)

    class Config:
        """Keep other columns; coerce types."""

        strict = False
        coerce = True


@dataclass(frozen=True)
class ListResult:
    """What ``opspor list`` reports: the list id, dates, paths and counts."""

    list_id: str
    programme: str
    week: str
    week_start: date
    as_of_date: date
    extract_date: date
    model_uri: str
    status: str
    generated_at: str
    paths: dict[str, str] = field(default_factory=dict)
    counts: dict[str, Any] = field(default_factory=dict)


def parse_week(week: str) -> date:
    """Return the Monday of an ISO week such as ``2026-W48``.

    Raises
    ------
    ConfigError
        Not an ISO week.
    """
    match = _WEEK.fullmatch(week) if isinstance(week, str) else None
    if not match:
        raise ConfigError(BAD_WEEK.format(week=week))
    try:
        return date.fromisocalendar(int(match[1]), int(match[2]), 1)
    except ValueError as error:
        raise ConfigError(BAD_WEEK.format(week=week)) from error


def resolve_as_of(week_start: date, extract_date: date) -> date:
    """Return the Monday of the week, but never after the loaded extract's date."""
    return min(week_start, extract_date)


def loaded_extract_info(con: duckdb.DuckDBPyConnection) -> tuple[date, str | None]:
    """Return the date and hash of the loaded extract.

    Raises
    ------
    NotFoundError
        No extract is loaded.
    """
    if not table_exists(con, "raw", "extract_info"):
        raise NotFoundError(NO_EXTRACT)
    row = con.execute(
        "select extract_date, extract_hash from raw.extract_info"
        " order by loaded_at desc limit 1"
    ).fetchone()
    if row is None:
        raise NotFoundError(NO_EXTRACT)
    return row[0], row[1]


def _resolve_model_uri(
    con: duckdb.DuckDBPyConnection,
    programme: Programme,
    as_of: date,
    model_uri: str | None,
    context: dict[str, Any],
) -> str:
    """Return the given URI, else the newest version scored at as_of."""
    if table_exists(con, "scoring", "scores"):
        uris = [
            r[0]
            for r in con.execute(
                "select distinct model_uri from scoring.scores"
                " where as_of_date = $as_of",
                {"as_of": as_of},
            ).fetchall()
        ]
    else:
        uris = []
    if model_uri is not None:
        if model_uri in uris:
            return model_uri
    else:
        prefix = f"models:/{programme.model_name}/"
        versions = [
            (_version(u[len(prefix) :]), u) for u in uris if u.startswith(prefix)
        ]
        if versions:
            return str(max(versions)[1])
    model = model_uri or programme.model_name
    raise NotFoundError(NO_SCORES.format(model=model, as_of=as_of, **context))


def _version(text: str) -> tuple[int, str]:
    """Sort key of a registry version: numbers numerically, then text."""
    return (int(text), "") if text.isdigit() else (-1, text)


def _check_features(con: duckdb.DuckDBPyConnection, as_of: date) -> None:
    """Cohort flags must exist at the as-of date."""
    if not table_exists(con, "marts", "scoring_features"):
        raise NotFoundError(NO_FEATURES.format(as_of=as_of))
    row = con.execute(
        "select count(*) from marts.scoring_features where as_of_date = $as_of",
        {"as_of": as_of},
    ).fetchone()
    if not row or not row[0]:
        raise NotFoundError(NO_FEATURES.format(as_of=as_of))


def _choose(
    con: duckdb.DuckDBPyConnection,
    programme: Programme,
    week: str,
    week_start: date,
    as_of: date,
    model_uri: str,
    store: OperationalStore,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Run exclusions and the capacity walk; fetch more while an area runs short."""
    counts = select_candidates(
        con,
        programme,
        as_of=as_of,
        week=week,
        week_start=week_start,
        model_uri=model_uri,
        store=store,
    )
    limit = programme.capacity_per_week
    if programme.holdout_share > 0:
        limit = int(limit / (1 - programme.holdout_share)) * 2 + 10
    while True:
        selection = fill_capacity(
            fetch_eligible(con, limit), programme, week=week, fetch_limit=limit
        )
        if not selection.truncated_areas:
            break
        limit *= 4
    return selection.listed, selection.held_out, counts


def _stored_reasons(
    con: duckdb.DuckDBPyConnection,
    ids: list[str],
    as_of: date,
    model_uri: str,
    programme: Programme,
) -> pd.DataFrame:
    """Return the listed citizens' stored reasons of this model, language wanted.

    A citizen with none in the programme's language keeps the other language's.
    """
    if not table_exists(con, "scoring", "reasons"):
        return pd.DataFrame({"citizen_id": [], "reason_rank": [], "reason_text": []})
    frame = con.execute(
        "select * from scoring.reasons where as_of_date = $as_of"
        " and citizen_id in (select unnest(cast($ids as varchar[])))",
        {"as_of": as_of, "ids": ids},
    ).df()
    if "model_uri" in frame:
        frame = frame[frame["model_uri"] == model_uri]
    if "language" in frame:
        wanted = frame["language"] == programme.reasons_language
        has_wanted = frame.groupby("citizen_id")["language"].transform(
            lambda s: (s == programme.reasons_language).any()
        )
        frame = frame[wanted | ~has_wanted]
    return frame[
        frame["reason_text"].notna()
        & (frame["reason_text"].astype(str).str.strip() != "")
    ]


def _unexplained(frame: pd.DataFrame, ids: list[str], language: str) -> list[str]:
    """Return the listed citizens without stored reasons in ``language``."""
    if "language" in frame:
        frame = frame[frame["language"] == language]
    have = set(frame["citizen_id"].astype(str))
    return [i for i in ids if i not in have]


def _reasons(
    con: duckdb.DuckDBPyConnection,
    ids: list[str],
    as_of: date,
    model_uri: str,
    programme: Programme,
    explain_missing: OnDemand | None = None,
) -> pd.DataFrame:
    """Top reasons per listed citizen as one text (lines) and their number.

    The weekly run explains the top ranks only; a listed citizen below them is
    explained now by ``explain_missing`` (when given), with the same reasons.
    """
    if not ids:
        return pd.DataFrame({"citizen_id": [], "reasons": [], "n_reasons": []})
    frame = _stored_reasons(con, ids, as_of, model_uri, programme)
    missing = _unexplained(frame, ids, programme.reasons_language)
    if missing and explain_missing is not None:
        explain_missing(con, model_uri, as_of, missing)
        frame = _stored_reasons(con, ids, as_of, model_uri, programme)
    top = (
        frame.sort_values(["citizen_id", "reason_rank"])
        .groupby("citizen_id")
        .head(programme.reasons_per_citizen)
    )
    grouped = top.groupby("citizen_id")["reason_text"]
    return pd.DataFrame(
        {
            "reasons": grouped.agg(lambda s: "\n".join(map(str, s))),
            "n_reasons": grouped.size(),
        }
    ).reset_index()


def _history(
    con: duckdb.DuckDBPyConnection,
    ids: list[str],
    as_of: date,
    week_start: date,
    programme: Programme,
) -> pd.DataFrame:
    """Last contact and its outcome per listed citizen (list_history.sql)."""
    return con.execute(
        read_sql("outreach", "sql", "list_history.sql"),
        {
            "citizen_ids": ids,
            "as_of": as_of,
            "week_start": week_start,
            "relevant_controls": list(programme.relevant_controls),
        },
    ).df()


def _decorate(
    con: duckdb.DuckDBPyConnection,
    listed: pd.DataFrame,
    programme: Programme,
    *,
    list_id: str,
    week: str,
    as_of: date,
    week_start: date,
    model_uri: str,
    explain_missing: OnDemand | None = None,
) -> pd.DataFrame:
    """Add stop, band, reasons and last contact; shape rows as ``outreach.lists``."""
    ids = listed["citizen_id"].astype(str).tolist()
    rows = listed.merge(
        _reasons(con, ids, as_of, model_uri, programme, explain_missing),
        on="citizen_id",
        how="left",
    )
    rows = rows.merge(
        _history(con, ids, as_of, week_start, programme), on="citizen_id", how="left"
    )
    missing = int(rows["reasons"].isna().sum())
    if missing:
        raise DataError(
            NO_REASONS.format(
                n=missing,
                total=len(rows),
                as_of=as_of,
                model_uri=model_uri,
                model=programme.model_name,
            )
        )
    rows = rows.assign(
        list_id=list_id,
        programme=programme.name,
        week=week,
        area_name=[municipality_name(a) for a in rows["area"]],
        stop=[
            stop_for(s, a, by_site=programme.group_stops_by_site)
            for s, a in zip(rows["living_situation"], rows["area"], strict=True)
        ],
        risk_band=[
            risk_band(p, programme.reasons_language) for p in rows["score_percentile"]
        ],
        n_reasons=rows["n_reasons"].fillna(0).astype(int),
    )
    for column in ("last_contact_date", "last_contact_outcome"):
        if column not in rows:
            rows[column] = None
    return rows[list(_LIST_COLUMNS)].sort_values("rank", ignore_index=True)


def check_list_invariants(
    con: duckdb.DuckDBPyConnection,
    rows: pd.DataFrame,
    held_out: pd.DataFrame,
    programme: Programme,
    *,
    store: OperationalStore | None = None,
) -> None:
    """Check a list before it is written, independently of the selection SQL.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The warehouse (reads ``raw.citizens`` and the opt-out register afresh).
    rows : DataFrame
        The list rows about to be stored.
    held_out : DataFrame
        Citizens held back this week (must not be on the list).
    programme : Programme
        Capacity per week and per area, reasons per citizen.
    store : OperationalStore, optional
        Where the opt-out register lives (default: :func:`operational_store`).

    Raises
    ------
    ListInvariantError
        Over capacity, an opted-out, dead, emigrated or unknown citizen, a
        duplicate, a gap in the ranks, a held-out citizen listed, or a row
        without 1..N reasons. Nothing has been written when it is raised.
    """
    list_id = str(rows["list_id"].iloc[0]) if len(rows) else "(empty)"
    stage_operational_tables(con, store or operational_store(con))
    for problem in _invariant_problems(con, rows, held_out, programme):
        raise ListInvariantError(REFUSED_LIST.format(list_id=list_id, problem=problem))
    if len(rows):
        try:
            WeeklyList.validate(rows, lazy=True)
        except pa.errors.SchemaErrors as error:
            raise ListInvariantError(
                REFUSED_LIST.format(
                    list_id=list_id, problem="it breaks the WeeklyList schema"
                )
            ) from error


def _invariant_problems(
    con: duckdb.DuckDBPyConnection,
    rows: pd.DataFrame,
    held_out: pd.DataFrame,
    programme: Programme,
) -> list[str]:
    """Every broken invariant, as text without citizen ids."""
    problems = []
    if len(rows) > programme.capacity_per_week:
        problems.append(
            f"{len(rows)} rows is over the capacity of {programme.capacity_per_week}"
        )
    for area, n in rows["area"].value_counts().items():
        if n > programme.area_capacity(str(area)):
            problems.append(
                f"{n} rows in area {area} is over its capacity of "
                f"{programme.area_capacity(str(area))}"
            )
    if rows["citizen_id"].duplicated().any():
        problems.append("a citizen is listed twice")
    if sorted(rows["rank"].tolist()) != list(range(1, len(rows) + 1)):
        problems.append("ranks are not 1..n")
    if len(held_out) and rows["citizen_id"].isin(held_out["citizen_id"]).any():
        problems.append("a held-out citizen is on the list")
    if (
        len(rows)
        and not rows["n_reasons"].between(1, programme.reasons_per_citizen).all()
    ):
        problems.append(
            f"a row does not have 1 to {programme.reasons_per_citizen} reasons"
        )
    problems.extend(_protected_problems(con, rows["citizen_id"].astype(str).tolist()))
    return problems


_PROTECTED_SQL = """
with ids as (select unnest(cast($ids as varchar[])) as citizen_id)
select
    count(*) filter (where c.citizen_id is null) as unknown,
    count(*) filter (
        where c.outreach_opt_out is not false or o.citizen_id is not null
    ) as opted_out,
    count(*) filter (where c.death_date is not null) as dead,
    count(*) filter (where c.emigration_date is not null) as emigrated
from ids as i
left join raw.citizens as c on c.citizen_id = i.citizen_id
left join (select distinct citizen_id from ops_opt_outs) as o
    on o.citizen_id = i.citizen_id
"""


def _protected_problems(con: duckdb.DuckDBPyConnection, ids: list[str]) -> list[str]:
    """Count listed citizens who are unknown, opted out, dead or emigrated."""
    if not ids:
        return []
    unknown, opted_out, dead, emigrated = con.execute(
        _PROTECTED_SQL, {"ids": ids}
    ).fetchone()  # type: ignore[misc]
    found = {
        "not in the extract": unknown,
        "opted out": opted_out,
        "dead": dead,
        "emigrated": emigrated,
    }
    return [f"{n} listed citizen(s) {what}" for what, n in found.items() if n]


def _store(
    store: OperationalStore,
    run: dict[str, Any],
    rows: pd.DataFrame,
    held_out: pd.DataFrame,
    *,
    event: str,
) -> None:
    """Supersede the old run, insert the new one, its rows and hold-outs; audit.

    All in one transaction.
    """
    holdouts = held_out.assign(
        list_id=run["list_id"],
        programme=run["programme"],
        week=run["week"],
        as_of_date=run["as_of_date"],
    )
    holdouts = holdouts[
        [
            "list_id",
            "programme",
            "week",
            "as_of_date",
            "citizen_id",
            "area",
            "risk_rank",
            "walk_position",
        ]
    ]
    audit = {
        "event": event,
        "actor": run["generated_by"],
        "at": now_utc(),
        "programme": run["programme"],
        "week": run["week"],
        "list_id": run["list_id"],
        "model_uri": run["model_uri"],
        "extract_hash": run["extract_hash"],
        "counts": {
            **json.loads(run["counts"]),
            **({"reason": run["reason"]} if run["reason"] else {}),
        },
    }
    store.save_list(run, rows, holdouts, audit)


def read_list(
    con: duckdb.DuckDBPyConnection | None,
    list_id: str,
    *,
    store: OperationalStore | None = None,
) -> pd.DataFrame:
    """Return the stored rows of one list, in rank order."""
    return (store or operational_store(con)).read_list(list_id)


def build_weekly_list(
    con: duckdb.DuckDBPyConnection,
    programme: Programme,
    *,
    week: str,
    model_uri: str | None = None,
    actor: str | None = None,
    regenerate: bool = False,
    reason: str | None = None,
    output_dir: Path | None = None,
    formats: Sequence[str] = EXPORT_FORMATS,
    store: OperationalStore | None = None,
    allow_stale: bool = False,
    explain_missing: OnDemand | None = None,
) -> ListResult:
    """Build (or return the frozen) weekly list of a programme, store and export it.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The warehouse with ``raw.*``, ``marts.scoring_features``, ``scoring.*``.
    programme : Programme
        The programme's settings.
    week : str
        ISO week, e.g. ``2026-W48``.
    model_uri : str, optional
        The champion's URI (``models:/<name>/<version>``), resolved by the caller;
        without it, the newest version of ``programme.model_name`` scored at the
        as-of date.
    actor : str, optional
        Who generates it (``$USER`` or ``"cli"`` by default).
    regenerate : bool
        Replace a frozen list; needs ``reason``.
    reason : str, optional
        Why the list is regenerated, or built from a stale extract (kept with
        the run in ``list_runs`` and the audit log).
    output_dir : Path, optional
        Output root for ``lists/<programme>/<week>.*``; ``None`` writes no files.
    formats : sequence of {"csv", "xlsx", "html"}
        Files to export.
    store : OperationalStore, optional
        Where lists, contacts, opt-outs and the audit log live (default:
        PostgreSQL when ``OPSPOR_OPERATIONAL_DB`` is set, else the warehouse).
        With PostgreSQL, the operational tables are then copied into the
        warehouse for the analytical reports (:func:`sync_to_warehouse`).
    allow_stale : bool
        Build even when the extract is older than the programme's
        ``max_extract_age_days`` on the week's Monday; needs ``reason`` and is
        shown in the list header.
    explain_missing : callable, optional
        Explains listed citizens who have no reasons yet (below the ranks the
        weekly run explained): :func:`models.explain.on_demand_explainer`.
        Without it such a list is refused (``DataError``).

    Returns
    -------
    ListResult
        ``status`` is ``generated``, ``regenerated`` or ``frozen`` (returned unchanged).

    Raises
    ------
    ConfigError
        A malformed week, or ``regenerate`` without a reason.
    NotFoundError
        No extract, features or scores for the as-of date.
    DataError
        Reasons are missing; ``ListInvariantError`` if the list breaks an invariant;
        ``StaleDataError`` if the extract is too old, or features, scores or
        reasons stem from another extract than the loaded one.
    """
    week_start = parse_week(week)
    actor = resolve_actor(actor)
    if regenerate and not (reason and reason.strip()):
        raise ConfigError(REASON_REQUIRED)
    if allow_stale and not (reason and reason.strip()):
        raise ConfigError(STALE_WITHOUT_REASON)
    store = store or operational_store(con)
    current = store.current_run(programme.name, week)
    if current is not None and not regenerate:
        return _reuse(store, current, programme, actor, output_dir, formats)
    run, rows, held_out = _generate(
        con,
        store,
        programme,
        week,
        week_start,
        model_uri,
        actor,
        reason,
        allow_stale=allow_stale,
        explain_missing=explain_missing,
    )
    event = "regenerated" if current is not None else "generated"
    _store(store, run, rows, held_out, event=event)
    log.info(
        "list %s: %s listed, %s held out", run["list_id"], len(rows), len(held_out)
    )
    sync_to_warehouse(con, store)
    return _finish(store, run, rows, programme, actor, output_dir, formats, event)


def _generate(
    con: duckdb.DuckDBPyConnection,
    store: OperationalStore,
    programme: Programme,
    week: str,
    week_start: date,
    model_uri: str | None,
    actor: str,
    reason: str | None,
    *,
    allow_stale: bool = False,
    explain_missing: OnDemand | None = None,
) -> tuple[dict[str, Any], pd.DataFrame, pd.DataFrame]:
    """Choose, decorate and check a new list; return its run row, rows and hold-outs."""
    extract_date, extract_hash = loaded_extract_info(con)
    stale = _stale_extract(
        programme, week, week_start, extract_date, allow_stale, actor, reason
    )
    as_of = resolve_as_of(week_start, extract_date)
    context = {"week": week, "extract_date": extract_date}
    uri = _resolve_model_uri(con, programme, as_of, model_uri, context)
    _check_features(con, as_of)
    _check_provenance(con, as_of, uri)
    listed, held_out, counts = _choose(
        con, programme, week, week_start, as_of, uri, store
    )
    revision = store.next_revision(programme.name, week)
    list_id = f"{programme.name}-{week}-r{revision}"
    rows = _decorate(
        con,
        listed,
        programme,
        list_id=list_id,
        week=week,
        as_of=as_of,
        week_start=week_start,
        model_uri=uri,
        explain_missing=explain_missing,
    )
    check_list_invariants(con, rows, held_out, programme, store=store)
    counts = {
        **counts,
        "listed": len(rows),
        "held_out": len(held_out),
        "by_area": {
            str(k): int(v) for k, v in rows["area"].value_counts().sort_index().items()
        },
        **({"stale_extract": stale} if stale else {}),
    }
    run = {
        "list_id": list_id,
        "programme": programme.name,
        "week": week,
        "revision": revision,
        "week_start": week_start,
        "as_of_date": as_of,
        "extract_date": extract_date,
        "model_uri": uri,
        "extract_hash": extract_hash,
        "generated_at": now_utc(),
        "generated_by": actor,
        "status": "frozen",
        "reason": reason.strip() if reason else None,
        "counts": json.dumps(counts, sort_keys=True),
    }
    return run, rows, held_out


def _stale_extract(
    programme: Programme,
    week: str,
    week_start: date,
    extract_date: date,
    allow_stale: bool,
    actor: str,
    reason: str | None,
) -> dict[str, Any] | None:
    """Refuse an extract older than the programme allows, unless allowed (recorded)."""
    age = (week_start - extract_date).days
    if age <= programme.max_extract_age_days:
        return None
    if not allow_stale:
        raise StaleDataError(
            STALE_EXTRACT.format(
                extract_date=extract_date,
                age=age,
                week=week,
                week_start=week_start,
                programme=programme.name,
                max_days=programme.max_extract_age_days,
            )
        )
    log.warning("list built from an extract %s days old (allowed)", age)
    return {
        "age_days": age,
        "max_days": programme.max_extract_age_days,
        "allowed_by": actor,
        "reason": (reason or "").strip(),
    }


def check_extract_age(
    programme: Programme,
    week: str,
    extract_date: date,
    *,
    allow_stale: bool = False,
    reason: str | None = None,
) -> None:
    """Refuse early (before scoring) when the extract is too old for the week.

    Parameters
    ----------
    programme : Programme
        Its ``max_extract_age_days`` is the limit.
    week : str
        ISO week of the list.
    extract_date : date
        The loaded extract's date.
    allow_stale : bool
        Accept an old extract (needs ``reason``).
    reason : str, optional
        Why an old extract is accepted.

    Raises
    ------
    ConfigError
        ``allow_stale`` without a reason, or a malformed week.
    StaleDataError
        The extract is older than allowed and ``allow_stale`` is not given.
    """
    if allow_stale and not (reason and reason.strip()):
        raise ConfigError(STALE_WITHOUT_REASON)
    _stale_extract(
        programme, week, parse_week(week), extract_date, allow_stale, "", reason
    )


def _check_provenance(con: duckdb.DuckDBPyConnection, as_of: date, uri: str) -> None:
    """Refuse features, scores or reasons stamped from another extract."""
    kinds, stamped, loaded = mixed_kinds(con, as_of=as_of, model_uri=uri)
    if kinds:
        raise StaleDataError(
            MIXED_EXTRACT.format(
                kinds=", ".join(kinds),
                as_of=as_of,
                stamped=(stamped or "none")[:12],
                loaded=(loaded or "none")[:12],
            )
        )


def stale_note(run: Mapping[str, Any]) -> str:
    """Return the header line of a list from a stale extract ('' otherwise)."""
    stale = json.loads(run["counts"] or "{}").get("stale_extract")
    if not stale:
        return ""
    return STALE_NOTE.format(
        age=stale["age_days"],
        week_start=_as_date(run["week_start"]),
        max_days=stale["max_days"],
        actor=stale["allowed_by"],
        reason=stale["reason"],
    )


def _reuse(
    store: OperationalStore,
    run: dict[str, Any],
    programme: Programme,
    actor: str,
    output_dir: Path | None,
    formats: Sequence[str],
) -> ListResult:
    """Return a frozen list unchanged (re-exported from its stored rows)."""
    rows = store.read_list(str(run["list_id"]))
    return _finish(
        store, run, rows, programme, actor, output_dir, formats, status="frozen"
    )


def _finish(
    store: OperationalStore,
    run: dict[str, Any],
    rows: pd.DataFrame,
    programme: Programme,
    actor: str,
    output_dir: Path | None,
    formats: Sequence[str],
    status: str | None = None,
) -> ListResult:
    """Export the files, audit the export, and build the result."""
    header = run_header(run, programme)
    paths: dict[str, Path] = {}
    if output_dir is not None and formats:
        paths = export_list(rows, header, programme, output_dir, formats)
        append_event(
            None,
            "exported",
            store=store,
            actor=actor,
            programme=programme.name,
            week=header.week,
            list_id=header.list_id,
            model_uri=header.model_uri,
            extract_hash=header.extract_hash,
            counts={"rows": len(rows), "files": len(paths), "formats": sorted(paths)},
        )
    return ListResult(
        list_id=header.list_id,
        programme=programme.name,
        week=header.week,
        week_start=header.week_start,
        as_of_date=header.as_of_date,
        extract_date=header.extract_date,
        model_uri=header.model_uri,
        status=status or str(run["status"]),
        generated_at=f"{header.generated_at:%Y-%m-%d %H:%M:%S}",
        paths={k: str(v) for k, v in paths.items()},
        counts=json.loads(run["counts"])
        if isinstance(run["counts"], str)
        else dict(run["counts"]),
    )


def _as_date(value: Any) -> date:
    """Return a stored DATE as a date, whichever type DuckDB gave."""
    stamp: date = pd.Timestamp(value).date()
    return stamp


def run_header(run: Mapping[str, Any], programme: Programme) -> ListHeader:
    """Return the header block of a stored list run (one row of ``outreach.list_runs``).

    The CLI's list views and the web app's downloads both build it here.
    """
    return ListHeader(
        list_id=str(run["list_id"]),
        programme=programme.name,
        title=programme.title,
        week=str(run["week"]),
        week_start=_as_date(run["week_start"]),
        as_of_date=_as_date(run["as_of_date"]),
        extract_date=_as_date(run["extract_date"]),
        model_uri=str(run["model_uri"]),
        extract_hash=(
            None if pd.isna(run.get("extract_hash")) else str(run["extract_hash"])
        ),
        generated_at=pd.Timestamp(run["generated_at"]).to_pydatetime(),
        generated_by=str(run["generated_by"]),
        stale_extract=stale_note(run),
    )


def view_list(
    con: duckdb.DuckDBPyConnection | None,
    programme: Programme,
    week: str,
    *,
    actor: str | None = None,
    areas: Sequence[str] | None = None,
    store: OperationalStore | None = None,
) -> tuple[ListResult, pd.DataFrame]:
    """Return the frozen list of a programme and week for display; audit the view.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection or None
        The warehouse (None when ``store`` is given).
    programme : Programme
        The programme.
    week : str
        ISO week.
    actor : str, optional
        Who is looking.
    areas : sequence of str, optional
        Only these municipalities (a coordinator's scope); the audit counts the
        rows shown.
    store : OperationalStore, optional
        Where the lists live (default: :func:`outreach.app.store.operational_store`).

    Returns
    -------
    (ListResult, DataFrame)
        The run and its rows in rank order.

    Raises
    ------
    NotFoundError
        No list has been generated for that week.
    """
    parse_week(week)
    store = store or operational_store(con)
    run = store.current_run(programme.name, week)
    if run is None:
        raise NotFoundError(NO_LIST.format(programme=programme.name, week=week))
    rows = store.read_list(str(run["list_id"]))
    if areas is not None:
        rows = rows[rows["area"].astype(str).isin(list(areas))].reset_index(drop=True)
    who = resolve_actor(actor)
    append_event(
        None,
        "viewed",
        actor=who,
        programme=programme.name,
        week=week,
        list_id=str(run["list_id"]),
        model_uri=str(run["model_uri"]),
        extract_hash=(
            None if pd.isna(run.get("extract_hash")) else str(run["extract_hash"])
        ),
        counts={"rows": len(rows)},
        store=store,
    )
    return _finish(store, run, rows, programme, who, None, (), status="frozen"), rows
