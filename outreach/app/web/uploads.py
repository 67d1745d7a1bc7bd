"""Uploaded record sheets kept between their preview and their commit.

A coordinator uploads a filled-in record sheet, sees each row checked, then
commits it with a second POST naming the upload's token. The file waits under
``<output_dir>/web-uploads/`` (folder 0700, files 0600: it holds pseudonyms
and outcomes, as the exported list does) beside a small JSON record of who
uploaded it for which list. A committed upload's file is deleted and its record
kept as committed, so committing it again writes nothing; uploads older than
:data:`KEEP_HOURS` are removed when the next one arrives.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import time
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from features.errors import ConfigError, NotFoundError

__all__ = [
    "KEEP_HOURS",
    "MAX_UPLOAD_BYTES",
    "NOT_A_SHEET",
    "TOO_LARGE",
    "Upload",
    "UploadStore",
    "check_sheet",
    "sha256_of",
]

#: The largest record sheet accepted: a week's list is a few hundred rows.
MAX_UPLOAD_BYTES = 2 * 1024 * 1024
KEEP_HOURS = 24
NOT_A_SHEET = "Upload the record sheet as .xlsx (the downloaded Excel file) or .csv."
TOO_LARGE = "The file is larger than {limit} MB."
UNKNOWN_UPLOAD = "No upload {token!r} of yours for this list."
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
_XLSX_MAGIC = b"PK\x03\x04"


@dataclass(frozen=True)
class Upload:
    """One uploaded sheet: who, for which list, and whether it was committed."""

    token: str
    user: str
    programme: str
    week: str
    list_id: str
    suffix: str
    sha256: str
    uploaded_at: str
    committed_at: str | None = None
    counts: dict[str, Any] | None = None


def check_sheet(filename: str, content: bytes) -> str:
    """Return the sheet's suffix (``.xlsx`` or ``.csv``) or raise ConfigError.

    Parameters
    ----------
    filename : str
        The name the browser sent (only its suffix is used).
    content : bytes
        The file, at most :data:`MAX_UPLOAD_BYTES` (+1 to detect more).

    Raises
    ------
    ConfigError
        :data:`TOO_LARGE`, or :data:`NOT_A_SHEET` for another suffix, an
        ``.xlsx`` that is not a zip file or a ``.csv`` that is not UTF-8 text.
    """
    if len(content) > MAX_UPLOAD_BYTES:
        raise ConfigError(TOO_LARGE.format(limit=MAX_UPLOAD_BYTES // (1024 * 1024)))
    suffix = Path(filename or "").suffix.lower()
    if suffix == ".xlsx" and content.startswith(_XLSX_MAGIC):
        return suffix
    if suffix == ".csv" and _is_text(content):
        return suffix
    raise ConfigError(NOT_A_SHEET)


def _is_text(content: bytes) -> bool:
    """Return True for UTF-8 text without NUL bytes."""
    try:
        return "\x00" not in content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return False


class UploadStore:
    """Uploaded sheets of one app under ``root`` (created 0700 on first use).

    Parameters
    ----------
    root : Path
        The folder, e.g. ``<output_dir>/web-uploads``.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def save(self, upload: Upload, content: bytes) -> Upload:
        """Keep a new upload's file and record (files 0600); drop expired ones."""
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._expire()
        _write_private(self._file(upload), content)
        self._write_record(upload)
        return upload

    def new(self, **fields: Any) -> Upload:
        """Return an upload record with a fresh token."""
        return Upload(token=secrets.token_urlsafe(24), **fields)

    def load(self, token: str, *, user: str, programme: str, week: str) -> Upload:
        """Return the user's upload for this list (NotFoundError otherwise)."""
        path = self._record_path(token)
        if not path.exists():
            raise NotFoundError(UNKNOWN_UPLOAD.format(token=token))
        upload = Upload(**json.loads(path.read_text("utf-8")))
        if (upload.user, upload.programme, upload.week) != (user, programme, week):
            raise NotFoundError(UNKNOWN_UPLOAD.format(token=token))
        return upload

    def file_of(self, upload: Upload) -> Path:
        """Return the path of an uncommitted upload's file."""
        return self._file(upload)

    def mark_committed(
        self, upload: Upload, counts: dict[str, Any], now: datetime
    ) -> Upload:
        """Delete the file, keep the record as committed with its counts."""
        done = replace(upload, committed_at=now.isoformat(), counts=counts)
        self._write_record(done)
        self._file(upload).unlink(missing_ok=True)
        return done

    def _record_path(self, token: str) -> Path:
        """Return the record's path; a token of another shape is unknown."""
        if not _TOKEN.match(token):
            raise NotFoundError(UNKNOWN_UPLOAD.format(token=token))
        return self.root / f"{token}.json"

    def _file(self, upload: Upload) -> Path:
        return self._record_path(upload.token).with_suffix(upload.suffix)

    def _write_record(self, upload: Upload) -> None:
        content = json.dumps(asdict(upload), sort_keys=True).encode("utf-8")
        _write_private(self._record_path(upload.token), content)

    def _expire(self) -> None:
        """Remove uploads (files and records) older than :data:`KEEP_HOURS`."""
        limit = time.time() - KEEP_HOURS * 3600
        for path in self.root.iterdir():
            if path.is_file() and path.stat().st_mtime < limit:
                path.unlink(missing_ok=True)


def _write_private(path: Path, content: bytes) -> None:
    """Write a file readable by its owner only, atomically."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(content)
    os.replace(tmp, path)


def sha256_of(content: bytes) -> str:
    """Return the hex SHA-256 of an upload (kept in its record)."""
    return hashlib.sha256(content).hexdigest()
