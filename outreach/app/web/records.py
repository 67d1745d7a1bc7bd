"""A coordinator's changes to what was recorded: sheets, corrections, opt-outs.

Scope checks over the outreach functions, as :mod:`outreach.app.web.scoped`
does for lists: an uploaded record sheet is checked by
:func:`outreach.recording.check_record_file` and committed through
:func:`outreach.stages.run_record` (all or nothing), both narrowed to
the coordinator's municipalities; corrections and retractions go through
:mod:`outreach.corrections`, the opt-out register through
:mod:`outreach.opt_outs`. A programme outside the scope answers 403, a citizen
outside it 404, exactly like one who is not listed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import duckdb
import pandas as pd

from features.errors import ConfigError, NotFoundError
from outreach.app.access_log import recorded_pseudonyms
from outreach.app.store import OperationalStore
from outreach.app.users import User
from outreach.app.web.context import WebContext
from outreach.app.web.scoped import (
    NOT_ON_YOUR_LIST,
    _in_scope,
    _programme,
    _run_or_404,
)
from outreach.app.web.uploads import Upload, UploadStore, check_sheet, sha256_of
from outreach.corrections import ChangeResult, correct_contact, retract_contact
from outreach.list_audit import append_event
from outreach.opt_outs import OptOutResult, add_opt_out, withdraw_opt_out
from outreach.recording import RecordResult, check_record_file, explain_refusal
from outreach.stages import RecordRequest, run_record

__all__ = [
    "LIST_CHANGED",
    "NOT_YOUR_CITIZEN",
    "CommitResult",
    "OptOutRegister",
    "SheetPreview",
    "add_to_register",
    "change_outcome",
    "commit_upload",
    "opt_out_register",
    "preview_upload",
    "scoped_run",
    "upload_citizens",
    "upload_sheet",
    "withdraw_from_register",
]

LIST_CHANGED = "The list was generated again after this upload; upload the sheet again."
NOT_YOUR_CITIZEN = "No citizen {citizen_id!r} in your municipalities."
_AREAS_OF = """
select citizen_id, min(municipality_code) as area
from raw.citizens
where citizen_id in (select unnest(cast($ids as varchar[])))
group by citizen_id
"""


@dataclass(frozen=True)
class SheetPreview:
    """An upload's rows as checked now: what would be recorded and what not."""

    upload: Upload
    rows: list[dict[str, Any]]
    n_blank: int
    n_refused: int


@dataclass(frozen=True)
class CommitResult:
    """A commit: the recording's result, or None when it was committed before."""

    upload: Upload
    result: RecordResult | None


def _uploads(ctx: WebContext) -> UploadStore:
    """Return the app's upload folder."""
    return UploadStore(ctx.settings.output_dir / "web-uploads")


def scoped_run(
    ctx: WebContext, store: OperationalStore, user: User, programme: str, week: str
) -> dict[str, Any]:
    """Return the frozen run of a programme in scope (403/404 as for the list)."""
    return _run_or_404(store, _programme(ctx, user, programme), week)


def upload_sheet(
    ctx: WebContext,
    user: User,
    programme: str,
    week: str,
    file: tuple[str, bytes],
) -> Upload:
    """Keep an uploaded record sheet for its preview.

    Parameters
    ----------
    file : (str, bytes)
        The name the browser sent and the content.

    Raises
    ------
    ConfigError
        Too large, or not an ``.xlsx``/``.csv`` sheet.
    """
    filename, content = file
    suffix = check_sheet(filename, content)
    with ctx.operational() as store:
        run = scoped_run(ctx, store, user, programme, week)
    uploads = _uploads(ctx)
    upload = uploads.new(
        user=user.name,
        programme=programme,
        week=week,
        list_id=str(run["list_id"]),
        suffix=suffix,
        sha256=sha256_of(content),
        uploaded_at=ctx.clock().isoformat(),
    )
    return uploads.save(upload, content)


def _load(ctx: WebContext, user: User, programme: str, week: str, token: str) -> Upload:
    """Return the user's upload for this list (404 for anyone else's)."""
    return _uploads(ctx).load(token, user=user.name, programme=programme, week=week)


def preview_upload(
    ctx: WebContext, user: User, programme: str, week: str, token: str
) -> SheetPreview:
    """Check an upload's rows against the list in the user's municipalities.

    Raises
    ------
    ConfigError
        The file cannot be read as a record sheet.
    NotFoundError
        No such upload of this user for this list.
    """
    upload = _load(ctx, user, programme, week, token)
    if upload.committed_at is not None:
        return SheetPreview(upload, [], 0, 0)
    with ctx.operational() as store:
        scoped_run(ctx, store, user, programme, week)
        check = check_record_file(
            store,
            _uploads(ctx).file_of(upload),
            programme=programme,
            week=week,
            actor=user.name,
            today=ctx.today(),
            areas=user.municipalities,
        )
    rows = [_shown(n, values, parsed) for n, values, parsed in check.rows]
    shown = [r for r in rows if r["status"] != "blank"]
    return SheetPreview(upload, shown, len(rows) - len(shown), len(check.refused))


def _shown(number: int, values: Mapping[str, Any], parsed: Any) -> dict[str, Any]:
    """One row as the preview shows it: its values and its status."""
    row = {
        "row": number,
        "citizen_id": _cell(values.get("citizen_id")).lstrip("'"),
        "outcome": _cell(values.get("outcome")).lower(),
        "outcome_date": _cell(values.get("outcome_date"))[:10],
        "opt_out": _cell(values.get("opt_out")),
        "note": _cell(values.get("note")),
    }
    if parsed is None:
        return {**row, "status": "blank"}
    if isinstance(parsed, dict):
        return {**row, "status": "ok", "outcome_date": parsed["outcome_date"]}
    code, column, fields = explain_refusal(parsed)
    return {**row, "status": "refused", "code": code, "column": column,
            "fields": fields, "reason": parsed}  # fmt: skip


def _cell(value: Any) -> str:
    """Return a cell as text ('' for empty)."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    return str(value).strip()


def commit_upload(
    ctx: WebContext, user: User, programme: str, week: str, token: str
) -> CommitResult:
    """Record an upload all or nothing; committing it again writes nothing.

    Raises
    ------
    ConfigError
        The list was generated again since the upload.
    NotFoundError
        No such upload of this user for this list.
    """
    upload = _load(ctx, user, programme, week, token)
    if upload.committed_at is not None:
        return CommitResult(upload, None)
    uploads = _uploads(ctx)
    with ctx.operational() as store:
        run = scoped_run(ctx, store, user, programme, week)
        if str(run["list_id"]) != upload.list_id:
            raise ConfigError(LIST_CHANGED)
        request = RecordRequest(
            programme,
            week,
            file=uploads.file_of(upload),
            actor=user.name,
            today=ctx.today(),
            store=store,
            areas=tuple(user.municipalities),
            source="web-upload",
        )
        result = run_record(ctx.settings, request)
    if result.refused:
        return CommitResult(upload, result)
    counts = {"recorded": result.n_recorded, "duplicates": result.n_duplicates}
    return CommitResult(uploads.mark_committed(upload, counts, ctx.clock()), result)


def upload_citizens(
    ctx: WebContext, user: User, programme: str, week: str, token: str
) -> list[str]:
    """Return the pseudonyms an uncommitted upload gives an outcome (access log).

    Read before the commit, which removes the file.
    """
    upload = _load(ctx, user, programme, week, token)
    if upload.committed_at is not None:
        return []
    return recorded_pseudonyms(_uploads(ctx).file_of(upload), ())


def change_outcome(
    ctx: WebContext,
    user: User,
    where: tuple[str, str, str, str],
    action: str,
    values: Mapping[str, Any],
) -> ChangeResult:
    """Correct or retract one recorded outcome of a citizen in scope.

    Parameters
    ----------
    where : (str, str, str, str)
        Programme, week, citizen id and contact id.
    action : {"correct", "retract"}
        What to do.
    values : Mapping
        ``reason`` and, to correct, ``outcome``, ``outcome_date``, ``note``.

    Raises
    ------
    NotFoundError
        The citizen is not on the list in scope, or the contact is not theirs.
    """
    programme, week, citizen_id, contact_id = where
    with ctx.operational() as store:
        run = scoped_run(ctx, store, user, programme, week)
        listed = set(
            _in_scope(store.read_list(str(run["list_id"])), user)["citizen_id"]
        )
        if citizen_id not in listed:
            raise NotFoundError(NOT_ON_YOUR_LIST.format(list_id=run["list_id"]))
        reason = str(values.get("reason", ""))
        if action == "retract":
            return retract_contact(
                store, run, citizen_id, contact_id, reason=reason, actor=user.name
            )
        return correct_contact(
            store,
            run,
            citizen_id,
            contact_id,
            values=values,
            reason=reason,
            actor=user.name,
            today=ctx.today(),
            listed=listed,
        )


@dataclass(frozen=True)
class OptOutRegister:
    """The opt-out register and its withdrawals in a coordinator's municipalities."""

    current: list[dict[str, Any]]
    withdrawn: list[dict[str, Any]]


def _areas_of(ctx: WebContext, ids: list[str]) -> dict[str, str]:
    """Return citizen id -> municipality code in the loaded extract (absent: unknown).

    Without a loaded extract nobody is in scope: the register shows nothing and
    no opt-out can be added or withdrawn here.
    """
    if not ids:
        return {}
    try:
        with ctx.warehouse.connection() as con:
            rows = con.execute(_AREAS_OF, {"ids": ids}).fetchall()
    except (NotFoundError, duckdb.CatalogException):  # no warehouse or no extract
        return {}
    return {str(citizen): str(area) for citizen, area in rows}


def _mine(
    ctx: WebContext, user: User, rows: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Only the rows of citizens living in the user's municipalities."""
    areas = _areas_of(ctx, sorted({str(r["citizen_id"]) for r in rows}))
    return [
        {**r, "area": areas[str(r["citizen_id"])]}
        for r in rows
        if areas.get(str(r["citizen_id"])) in user.municipalities
    ]


def opt_out_register(ctx: WebContext, user: User) -> OptOutRegister:
    """Return the register in the user's municipalities; audit the view (counts)."""
    with ctx.operational() as store:
        current, withdrawn = store.opt_out_register(), store.opt_out_withdrawals()
    register = OptOutRegister(_mine(ctx, user, current), _mine(ctx, user, withdrawn))
    with ctx.operational() as store:
        append_event(
            None,
            "viewed",
            store=store,
            actor=user.name,
            counts={"page": "opt_outs", "rows": len(register.current), "via": "web"},
        )
    return register


def _check_citizen(ctx: WebContext, user: User, citizen_id: str) -> None:
    """404 unless the citizen lives in one of the user's municipalities."""
    if _areas_of(ctx, [citizen_id]).get(citizen_id) not in user.municipalities:
        raise NotFoundError(NOT_YOUR_CITIZEN.format(citizen_id=citizen_id))


def add_to_register(
    ctx: WebContext, user: User, citizen_id: str, reason: str
) -> OptOutResult:
    """Add a citizen in the user's municipalities to the opt-out register."""
    _check_citizen(ctx, user, citizen_id)
    with ctx.operational() as store:
        return add_opt_out(
            store, citizen_id, reason=reason, actor=user.name, today=ctx.today()
        )


def withdraw_from_register(
    ctx: WebContext, user: User, citizen_id: str, reason: str
) -> OptOutResult:
    """Withdraw the opt-out of a citizen in the user's municipalities."""
    _check_citizen(ctx, user, citizen_id)
    with ctx.operational() as store:
        return withdraw_opt_out(store, citizen_id, reason=reason, actor=user.name)
