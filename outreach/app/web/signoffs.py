"""Reviewers' sign-offs of governance packs: who, when (UTC), the hash, a comment.

Where they are kept, and why: a JSON-lines file *beside* the pack folder,
``<output_dir>/governance/<programme>/<day>.signoffs.jsonl``, not in the
operational store. A pack is a set of files in ``output_dir`` and its hash is
read from those files, so the record of who signed which hash belongs with
them (copied, backed up and archived together) and needs no schema migration.
It sits outside the pack's folder because ``opspor governance-pack`` rebuilds a
day's pack by swapping the whole folder: a sign-off must outlive that, and then
shows as stale, since the rebuilt pack has another hash. The file is only ever
appended to: under an exclusive lock the old lines are kept byte for byte, one
line is added and the whole is written through a temp file and ``os.replace``
(:func:`features.files.atomic_write`), so a reader never sees half a line.

The pack's hash is computed the way the pack hashes itself: the sha256 of every
file (what ``manifest.json`` lists), then one sha256 over that path -> digest
map. ``index.html``, ``manifest.json`` and the ``signoffs.html`` written here
are left out: they describe the pack, and adding a sign-off must not make the
pack look changed. Each sign-off also rewrites ``signoffs.html`` in the pack and
links it from the pack's ``index.html``.
"""

from __future__ import annotations

import fcntl
import hashlib
import html
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from features.contract import holds_cpr
from features.errors import ConfigError, NotFoundError
from features.files import atomic_write_bytes, atomic_write_text

__all__ = [
    "COMMENT_HAS_CPR",
    "COMMENT_TOO_LONG",
    "MAX_COMMENT_CHARS",
    "NO_PACK",
    "PACK_CHANGED",
    "SIGNOFFS_PAGE",
    "comment_problem",
    "pack_files",
    "pack_folder",
    "pack_hash",
    "read_signoffs",
    "record_signoff",
]

MAX_COMMENT_CHARS = 1000
COMMENT_TOO_LONG = "too_long"
COMMENT_HAS_CPR = "has_cpr"
NO_PACK = "No such governance pack."
PACK_CHANGED = "The pack's files changed since it was shown; open it again."
#: The page in the pack that lists its sign-offs (linked from ``index.html``).
SIGNOFFS_PAGE = "signoffs.html"
_NOT_HASHED = frozenset({"index.html", "manifest.json", SIGNOFFS_PAGE})
_PROGRAMME = re.compile(r"^[a-z][a-z0-9_]*$")
_DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_LINK = f'<p class="signoffs"><a href="{SIGNOFFS_PAGE}">Sign-offs</a></p>\n'


def pack_folder(output_dir: Path, programme: str, day: str) -> Path:
    """Return a governance pack's folder, refusing malformed names and missing packs.

    Raises
    ------
    NotFoundError
        ``programme`` or ``day`` is malformed, or the folder has no pack.
    """
    if not (_PROGRAMME.match(programme) and _DAY.match(day)):
        raise NotFoundError(NO_PACK)
    folder = output_dir / "governance" / programme / day
    if (
        not (folder / "index.html").is_file()
        or not (folder / "manifest.json").is_file()
    ):
        raise NotFoundError(NO_PACK)
    return folder


def _sha256(path: Path) -> str:
    """Return the hex sha256 of a file."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def pack_files(folder: Path) -> dict[str, str]:
    """Return relative path -> sha256 of the pack's own files (as its manifest)."""
    return {
        p.relative_to(folder).as_posix(): _sha256(p)
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.relative_to(folder).as_posix() not in _NOT_HASHED
    }


def pack_hash(folder: Path) -> str:
    """Return one sha256 over the pack's path -> sha256 map (sorted JSON)."""
    text = json.dumps(pack_files(folder), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def comment_problem(comment: str) -> str | None:
    """Return why a comment may not be kept (too long, CPR-shaped), or None."""
    if len(comment) > MAX_COMMENT_CHARS:
        return COMMENT_TOO_LONG
    if holds_cpr(comment):
        return COMMENT_HAS_CPR
    return None


def _log_path(folder: Path) -> Path:
    """Return the JSON-lines file beside the pack folder."""
    return folder.parent / f"{folder.name}.signoffs.jsonl"


def _read_lines(path: Path) -> list[dict[str, Any]]:
    """Return the records of a sign-off file (none when it does not exist)."""
    if not path.is_file():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def read_signoffs(folder: Path) -> list[dict[str, Any]]:
    """Return the pack's sign-offs, oldest first, each with ``stale`` set.

    A sign-off is stale when its ``pack_hash`` is not the pack's hash now.
    """
    current = pack_hash(folder)
    return [
        {**record, "stale": record.get("pack_hash") != current}
        for record in _read_lines(_log_path(folder))
    ]


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``<path>.lock`` (one writer at a time)."""
    with open(path.with_name(path.name + ".lock"), "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def record_signoff(
    folder: Path, *, actor: str, at: datetime, comment: str, seen_hash: str
) -> dict[str, Any]:
    """Append one sign-off of the pack in ``folder``; return the record.

    Parameters
    ----------
    folder : Path
        The pack (from :func:`pack_folder`).
    actor : str
        The reviewer's user name.
    at : datetime
        When, in UTC.
    comment : str
        Free text, checked by :func:`comment_problem`.
    seen_hash : str
        The hash the reviewer was shown: a pack that changed since is refused.

    Raises
    ------
    ConfigError
        The comment is refused (the message is :data:`COMMENT_TOO_LONG` or
        :data:`COMMENT_HAS_CPR`) or the pack changed (:data:`PACK_CHANGED`).
    """
    problem = comment_problem(comment)
    if problem is not None:
        raise ConfigError(problem)
    path = _log_path(folder)
    with _locked(path):
        current = pack_hash(folder)
        if seen_hash != current:
            raise ConfigError(PACK_CHANGED)
        record = {
            "programme": folder.parent.name,
            "day": folder.name,
            "actor": actor,
            "at": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "pack_hash": current,
            "comment": comment.strip(),
        }
        old = path.read_bytes() if path.is_file() else b""
        line = json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n"
        atomic_write_bytes(path, old + line.encode("utf-8"))
        _write_pack_page(folder, current)
    return record


def _write_pack_page(folder: Path, current: str) -> None:
    """Write ``signoffs.html`` into the pack and link it from ``index.html``."""
    rows = "".join(
        "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>\n".format(
            *(
                html.escape(str(r.get(k, "")))
                for k in ("actor", "at", "pack_hash", "comment")
            ),
            "current" if r.get("pack_hash") == current else "stale",
        )
        for r in _read_lines(_log_path(folder))
    )
    atomic_write_text(
        folder / SIGNOFFS_PAGE,
        '<!DOCTYPE html>\n<html lang="en">\n<head><meta charset="utf-8">'
        f"<title>Sign-offs – {html.escape(folder.parent.name)} – {folder.name}</title>"
        "</head>\n<body>\n<h1>Sign-offs</h1>\n"
        f"<p>Pack hash at the latest sign-off: <code>{current}</code>. A stale "
        "sign-off was given to files that had changed by then; the app's page of "
        "the pack tells the state now.</p>\n<table>\n<tr><th>Reviewer</th>"
        "<th>At (UTC)</th><th>Pack hash</th><th>Comment</th><th>State</th></tr>\n"
        f'{rows}</table>\n<p><a href="index.html">Back to the pack</a></p>\n'
        "</body>\n</html>\n",
    )
    index = folder / "index.html"
    text = index.read_text(encoding="utf-8")
    if _LINK not in text and "</body>" in text:
        atomic_write_text(index, text.replace("</body>", _LINK + "</body>", 1))
