"""A coordinator's view of the weekly lists: scope checks over the outreach functions.

Nothing here selects or records on its own: lists come from
:func:`outreach.lists.view_list` / :func:`outreach.lists.read_list`, outcomes go
through :func:`outreach.stages.run_record` (the validation of ``opspor
record``), and the Excel file and stop sheets from :mod:`outreach.exports`.
This module only narrows rows to the user's programmes and municipalities,
server-side, and audits what was shown: a programme outside the scope answers
403, a citizen outside it 404, exactly like a citizen who is not listed. Each
function that shows, sends or changes citizens also takes the route's
:class:`~outreach.app.web.access.Access` and writes the per-citizen access log.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from features.errors import ConfigError, NotFoundError
from outreach.app.store import OperationalStore
from outreach.app.users import User
from outreach.app.web.access import Access
from outreach.app.web.auth import Forbidden
from outreach.app.web.context import WebContext
from outreach.exports import display_table, export_list, render_stop_sheets
from outreach.list_audit import append_list_event
from outreach.lists import (
    NO_LIST,
    ListResult,
    loaded_extract_info,
    parse_week,
    run_header,
    view_list,
)
from outreach.programmes import Programme
from outreach.stages import RecordRequest, RecordResult, run_record

__all__ = [
    "NOT_ON_YOUR_LIST",
    "UNKNOWN_PROGRAMME",
    "ScopedList",
    "coordinator_overview",
    "download_xlsx",
    "log_shown",
    "open_citizen",
    "open_list",
    "record_outcome",
    "stop_sheets",
]

UNKNOWN_PROGRAMME = "Unknown programme {name!r}."
NOT_ON_YOUR_LIST = "This citizen is not on list {list_id} in your municipalities."


@dataclass(frozen=True)
class ScopedList:
    """One frozen list narrowed to a coordinator's municipalities."""

    programme: Programme
    run: Any
    rows: pd.DataFrame
    table: list[dict[str, Any]] = field(default_factory=list)
    recorded: dict[str, str] = field(default_factory=dict)
    stale_list: dict[str, Any] | None = None
    stale_extract: dict[str, Any] | None = None


def _programme(ctx: WebContext, user: User, name: str) -> Programme:
    """Return the programme if it exists (404) and is in the user's scope (403)."""
    if name not in ctx.programmes:
        raise NotFoundError(UNKNOWN_PROGRAMME.format(name=name))
    if name not in user.programmes:
        raise Forbidden
    return ctx.programmes[name]


def _in_scope(rows: pd.DataFrame, user: User) -> pd.DataFrame:
    """Only the rows in the user's municipalities, in rank order."""
    kept = rows[rows["area"].astype(str).isin(user.municipalities)]
    return kept.sort_values("rank", ignore_index=True)


def _check_week(week: str) -> None:
    """404 for a path whose week is not an ISO week (a malformed address)."""
    try:
        parse_week(week)
    except ConfigError as error:
        raise NotFoundError(str(error)) from error


def _run_or_404(
    store: OperationalStore, programme: Programme, week: str
) -> dict[str, Any]:
    """Return the frozen run of a programme and week (404 if none or not a week)."""
    _check_week(week)
    run = store.current_run(programme.name, week)
    if run is None:
        raise NotFoundError(NO_LIST.format(programme=programme.name, week=week))
    return run


def coordinator_overview(ctx: WebContext, user: User) -> list[dict[str, Any]]:
    """Per programme in the user's scope: its frozen weeks, newest first.

    Parameters
    ----------
    ctx : WebContext
        The app.
    user : User
        A coordinator.

    Returns
    -------
    list of dict
        ``programme`` (Programme), ``runs`` (list of run dicts), ``this_week``.
    """
    names = [n for n in user.programmes if n in ctx.programmes]
    with ctx.operational() as store:
        runs = store.frozen_runs(names)
    year, week, _ = ctx.today().isocalendar()
    return [
        {
            "programme": ctx.programmes[name],
            "runs": [r for r in runs if r["programme"] == name],
            "this_week": f"{year}-W{week:02d}",
        }
        for name in names
    ]


def _table(rows: pd.DataFrame, programme: Programme) -> list[dict[str, Any]]:
    """Display rows (the programme's columns) with the citizen id kept for links."""
    shown = display_table(rows, programme)
    records = shown.to_dict(orient="records")
    ids = rows["citizen_id"].astype(str).tolist()
    stops = rows["stop"].astype(str).tolist()
    return [
        {**r, "_citizen_id": i, "_stop": s}
        for r, i, s in zip(records, ids, stops, strict=True)
    ]


def open_list(
    ctx: WebContext, user: User, programme_name: str, week: str
) -> ScopedList:
    """Return the frozen list of a week in the user's municipalities; audit the view.

    The route writes the access log of the rows it shows (:func:`log_shown`).

    Raises
    ------
    Forbidden
        The programme is outside the user's scope.
    NotFoundError
        Unknown programme or no list for that week.
    """
    programme = _programme(ctx, user, programme_name)
    _check_week(week)
    with ctx.operational() as store:
        result, rows = view_list(
            None,
            programme,
            week,
            actor=user.name,
            areas=user.municipalities,
            store=store,
        )
        recorded = store.recorded_on(result.list_id)
    scoped = _in_scope(rows, user)
    return ScopedList(
        programme,
        result,
        scoped,
        _table(scoped, programme),
        recorded,
        stale_list=_stale_list(result),
        stale_extract=_stale_extract(ctx, programme, week),
    )


def _stale_list(result: ListResult) -> dict[str, Any] | None:
    """Return what the list run recorded when built from a stale extract (or None)."""
    stale = result.counts.get("stale_extract")
    return {**stale, "week_start": result.week_start} if stale else None


def _stale_extract(
    ctx: WebContext, programme: Programme, week: str
) -> dict[str, Any] | None:
    """Return the loaded extract's age on the week's Monday if over the limit.

    Read on its own short connection (after the list's), so the app still never
    holds the warehouse between requests; no warehouse or no extract: None.
    """
    try:
        with ctx.warehouse.connection() as con:
            extract_date, _ = loaded_extract_info(con)
    except NotFoundError:
        return None
    age = (parse_week(week) - pd.Timestamp(extract_date).date()).days
    if age <= programme.max_extract_age_days:
        return None
    return {
        "extract_date": pd.Timestamp(extract_date).date(),
        "age": age,
        "max_days": programme.max_extract_age_days,
        "week": week,
    }


def open_citizen(
    ctx: WebContext,
    user: User,
    programme_name: str,
    week: str,
    citizen_id: str,
    access: Access,
) -> tuple[ScopedList, dict[str, Any], list[dict[str, Any]]]:
    """One listed citizen in scope: the list, their row and recorded outcomes.

    Raises
    ------
    Forbidden
        The programme is outside the user's scope.
    NotFoundError
        No list, or the citizen is not on it in the user's municipalities.
    """
    programme = _programme(ctx, user, programme_name)
    with ctx.operational() as store:
        run = _run_or_404(store, programme, week)
        list_id = str(run["list_id"])
        scoped = _in_scope(store.read_list(list_id), user)
        match = scoped[scoped["citizen_id"].astype(str) == citizen_id]
        if match.empty:
            raise NotFoundError(NOT_ON_YOUR_LIST.format(list_id=list_id))
        _audit(store, "viewed", user, run, {"rows": 1, "page": "citizen"})
        _log_rows(access, "viewed_citizen", match, run)
        contacts = store.contacts_of(list_id, citizen_id)
    row = {**match.iloc[0].to_dict(), **_table(match, programme)[0]}
    return ScopedList(programme, run, match), row, contacts


def log_shown(access: Access, view: ScopedList, table: list[dict[str, Any]]) -> None:
    """Write one ``viewed_list`` entry per display row shown of a scoped list."""
    access.log(
        "viewed_list",
        [str(row["_citizen_id"]) for row in table],
        programme=view.programme.name,
        week=str(view.run.week),
        list_id=str(view.run.list_id),
    )


def _log_rows(
    access: Access, action: str, rows: pd.DataFrame, run: Mapping[str, Any]
) -> None:
    """Write one access-log entry per citizen in ``rows`` of a stored list run."""
    access.log(
        action,
        rows["citizen_id"].astype(str),
        programme=str(run["programme"]),
        week=str(run["week"]),
        list_id=str(run["list_id"]),
    )


def _audit(
    store: OperationalStore,
    event: str,
    user: User,
    run: Mapping[str, Any],
    counts: Mapping[str, Any],
) -> None:
    """Append one audit event about a list (counts only, never a citizen id)."""
    append_list_event(
        store, event, actor=user.name, run=run, counts={**counts, "via": "web"}
    )


def record_outcome(
    ctx: WebContext,
    user: User,
    programme_name: str,
    week: str,
    citizen_id: str,
    values: Mapping[str, Any],
    access: Access,
) -> RecordResult:
    """Record one outcome for a citizen in scope, validated like ``opspor record``.

    A change that is stored (or was already known) is access-logged as ``changed``.

    Parameters
    ----------
    values : Mapping
        ``outcome``, ``outcome_date``, ``opt_out`` (yes/no), ``note``.

    Returns
    -------
    RecordResult
        Refused entries carry the reason from :mod:`outreach.recording`.
    """
    programme = _programme(ctx, user, programme_name)
    with ctx.operational() as store:
        run = _run_or_404(store, programme, week)
        scoped = _in_scope(store.read_list(str(run["list_id"])), user)
        if citizen_id not in set(scoped["citizen_id"].astype(str)):
            raise NotFoundError(NOT_ON_YOUR_LIST.format(list_id=run["list_id"]))
        entry = {
            "citizen_id": citizen_id,
            "outcome": values.get("outcome", ""),
            "outcome_date": values.get("outcome_date", ""),
            "opt_out": values.get("opt_out", ""),
            "note": values.get("note", ""),
            "recorded_by": user.name,
        }
        request = RecordRequest(
            programme_name,
            week,
            entries=(entry,),
            actor=user.name,
            today=ctx.today(),
            store=store,
        )
        result = run_record(ctx.settings, request)
    if not result.refused:
        access.log(
            "changed",
            [citizen_id],
            programme=programme_name,
            week=week,
            list_id=result.list_id,
        )
    return result


def _scoped_rows(
    ctx: WebContext,
    user: User,
    programme_name: str,
    week: str,
    event: str,
    counts: Mapping[str, Any],
    access: tuple[Access, str],
) -> tuple[Programme, dict[str, Any], pd.DataFrame]:
    """Return the scoped rows of a list, audited as ``event``, access-logged.

    ``access`` is the recorder and the access-log action of the rows.
    """
    programme = _programme(ctx, user, programme_name)
    with ctx.operational() as store:
        run = _run_or_404(store, programme, week)
        rows = _in_scope(store.read_list(str(run["list_id"])), user)
        _audit(store, event, user, run, {**counts, "rows": len(rows)})
    _log_rows(access[0], access[1], rows, run)
    return programme, run, rows


def download_xlsx(
    ctx: WebContext, user: User, programme_name: str, week: str, access: Access
) -> tuple[str, bytes]:
    """Build the Excel file of the scoped list (List, Record sheets); audit the export.

    Returns
    -------
    (str, bytes)
        File name and content.
    """
    programme, run, rows = _scoped_rows(
        ctx,
        user,
        programme_name,
        week,
        "exported",
        {"formats": ["xlsx"], "files": 1},
        (access, "downloaded"),
    )
    with tempfile.TemporaryDirectory(prefix="opspor-web-") as folder:
        paths = export_list(
            rows, run_header(run, programme), programme, Path(folder), ("xlsx",)
        )
        content = paths["xlsx"].read_bytes()
    return f"{programme.name}-{week}.xlsx", content


def stop_sheets(
    ctx: WebContext, user: User, programme_name: str, week: str, access: Access
) -> str:
    """Render the printable stop sheets of the scoped list; audit the view."""
    programme, run, rows = _scoped_rows(
        ctx,
        user,
        programme_name,
        week,
        "viewed",
        {"page": "stop_sheets"},
        (access, "viewed_stop_sheets"),
    )
    return render_stop_sheets(
        display_table(rows, language=programme.reasons_language),
        run_header(run, programme),
        programme,
    )
