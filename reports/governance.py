"""The governance pack: everything a programme needs signed off, in one folder.

``opspor governance-pack --programme P`` gathers into
``<output_dir>/governance/<programme>/<date>/`` the model card, the latest
fairness audit, the feature catalogue with each feature's purpose, a summary of
the outreach audit log (counts read by SQL; ``reports`` never imports
``outreach``) and a data-protection note, plus ``index.html`` and
``manifest.json`` with the sha256 of every file. The folder is built aside and
swapped into place, so a reader never sees half a pack.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from features.db import connect, table_exists
from features.errors import NotFoundError
from features.settings import EngineSettings
from reports.catalogue import feature_catalogue, render_catalogue_markdown
from reports.config import FairnessConfig
from reports.frame import run_report_sql
from reports.model_card import (
    build_model_card,
    latest_audit,
    read_model_metadata,
    write_model_card,
)
from reports.render import atomic_write_text, template_environment
from reports.suppression import complementary_suppression

__all__ = ["GovernancePack", "build_governance_pack", "summarise_audit_log"]

log = logging.getLogger(__name__)

FAIRNESS_FILES = ("fairness.html", "fairness.pdf", "fairness.json")


@dataclass(frozen=True)
class GovernancePack:
    """Result of :func:`build_governance_pack`."""

    programme: str
    folder: Path
    index: Path
    manifest: Path
    files: dict[str, str] = field(default_factory=dict)  # relative path -> sha256
    missing: list[str] = field(default_factory=list)


_LOG_COUNTS = ("n_events", "n_weeks", "n_lists", "n_actors")


def summarise_audit_log(
    settings: EngineSettings, *, programme: str, min_cell_size: int = 10
) -> list[dict[str, Any]]:
    """Event counts of ``outreach.audit_log`` for one programme (empty if no log yet).

    Parameters
    ----------
    settings : EngineSettings
        Where the warehouse is.
    programme : str
    min_cell_size : int
        An event counted fewer times has its counts suppressed (null), and so
        has the next rarest event beside a lone suppressed one (complementary
        suppression: the log's total would otherwise give it away).

    Returns
    -------
    list of dict
        ``event, n_events, n_weeks, n_lists, n_actors, first_at, last_at,
        suppressed``.
    """
    if not settings.warehouse.exists():
        return []
    con = connect(settings.warehouse, read_only=True)
    try:
        if not table_exists(con, "outreach", "audit_log"):
            return []
        frame = run_report_sql(con, "audit_log_summary", programme=programme)
    finally:
        con.close()
    rows = frame.to_dict(orient="records")
    events = [int(r["n_events"]) for r in rows]
    hidden = complementary_suppression(
        events, [n < min_cell_size for n in events]
    ).tolist()
    return [
        {
            **{
                k: None
                if hide and k in _LOG_COUNTS
                else (str(v) if k.endswith("_at") else v)
                for k, v in row.items()
            },
            "suppressed": bool(hide),
        }
        for row, hide in zip(rows, hidden, strict=True)
    ]


def _latest_audit_folder(output_dir: Path, programme: str) -> Path | None:
    """Return the newest audit folder of a programme (by its fairness.json)."""
    found = sorted(
        (output_dir / "reports" / programme).glob("*/fairness.json"),
        key=lambda p: p.stat().st_mtime,
    )
    return found[-1].parent if found else None


def _model_card(settings: EngineSettings, model: str | None, folder: Path) -> bool:
    """Copy the newest card of the model, else build one; False if neither works."""
    if not model:
        return False
    name = model.split("@")[0]
    cards = sorted(
        (settings.output_dir / "reports" / "models").glob(f"{name}@*/model_card.html"),
        key=lambda p: p.stat().st_mtime,
    )
    if cards:
        for suffix in ("html", "md"):
            source = cards[-1].with_suffix(f".{suffix}")
            if source.exists():
                shutil.copy2(source, folder / f"model_card.{suffix}")
        return True
    try:
        metadata = read_model_metadata(settings, model)
    except NotFoundError:
        log.warning("No model card and no registered model for %s", model)
        return False
    audit = latest_audit(
        settings.output_dir, name=metadata["name"], version=metadata["version"]
    )
    write_model_card(build_model_card(metadata, audit=audit), folder)
    return True


def _fairness(settings: EngineSettings, programme: str, folder: Path) -> str | None:
    """Copy the latest audit into ``fairness/``; return its scope name."""
    source = _latest_audit_folder(settings.output_dir, programme)
    if source is None:
        return None
    (folder / "fairness").mkdir()
    for name in FAIRNESS_FILES:
        if (source / name).exists():
            shutil.copy2(source / name, folder / "fairness" / name)
    return source.name


def _sha256(path: Path) -> str:
    """Hex sha256 of a file."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_notes(
    folder: Path,
    programme: Mapping[str, Any],
    audit_log: Sequence[Mapping[str, Any]],
    day: date,
) -> None:
    """Feature catalogue, audit-log summary and data-protection note."""
    env = template_environment().overlay(autoescape=False)
    atomic_write_text(
        folder / "feature_catalogue.md", render_catalogue_markdown(feature_catalogue())
    )
    atomic_write_text(
        folder / "audit_log_summary.json",
        json.dumps(list(audit_log), indent=2, default=str) + "\n",
    )
    atomic_write_text(
        folder / "audit_log_summary.md",
        env.get_template("audit_log_summary.md.j2").render(
            programme=programme, rows=audit_log
        ),
    )
    atomic_write_text(
        folder / "data_protection.md",
        env.get_template("data_protection.md.j2").render(programme=programme, day=day),
    )


def _finish(
    folder: Path,
    programme: Mapping[str, Any],
    day: date,
    missing: list[str],
    audit_scope: str | None,
) -> dict[str, str]:
    """Hash every file, write manifest.json and index.html; return the hashes."""
    files = {
        str(p.relative_to(folder)): _sha256(p)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }
    manifest = {
        "programme": programme.get("name"),
        "date": str(day),
        "files": files,
        "missing": missing,
        "fairness_audit": audit_scope,
    }
    atomic_write_text(folder / "manifest.json", json.dumps(manifest, indent=2) + "\n")
    index = (
        template_environment()
        .get_template("governance_index.html.j2")
        .render(
            programme=programme,
            day=day,
            files=files,
            missing=missing,
            audit_scope=audit_scope,
        )
    )
    atomic_write_text(folder / "index.html", index)
    return files


def _swap_in(staging: Path, target: Path) -> None:
    """Move a finished folder into place, replacing an older pack of the same day."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        old = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.old."))
        os.replace(target, old / target.name)
        os.replace(staging, target)
        shutil.rmtree(old)
    else:
        os.replace(staging, target)


def build_governance_pack(
    settings: EngineSettings,
    *,
    programme: Mapping[str, Any],
    model: str | None = None,
    day: date | None = None,
) -> GovernancePack:
    """Bundle card, audit, catalogue, audit-log summary and data-protection note.

    Parameters
    ----------
    settings : EngineSettings
        Output root and warehouse.
    programme : Mapping
        The programme's settings as a dict (``name``, ``title``, ``description``,
        ``capacity_per_week``, ``municipalities``, ``columns``, ``model_name``, ...).
    model : str, optional
        ``NAME@VERSION`` or ``NAME@ALIAS`` whose card goes in (default: the
        programme's ``model_name``).
    day : date, optional
        Date of the pack folder (default today).

    Returns
    -------
    GovernancePack
        ``missing`` lists parts that do not exist yet (e.g. no audit has been run).
    """
    day = day or date.today()
    name = str(programme["name"])
    target = settings.output_dir / "governance" / name / str(day)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{day}.tmp."))
    try:
        missing = []
        if not _model_card(settings, model or programme.get("model_name"), staging):
            missing.append("model_card")
        audit_scope = _fairness(settings, name, staging)
        if audit_scope is None:
            missing.append("fairness_audit")
        _write_notes(
            staging,
            programme,
            summarise_audit_log(
                settings,
                programme=name,
                min_cell_size=FairnessConfig.from_toml().min_cell_size,
            ),
            day,
        )
        files = _finish(staging, programme, day, missing, audit_scope)
        _swap_in(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    log.info(
        "Governance pack for %s: %d files, missing %s",
        name,
        len(files),
        missing or "none",
    )
    return GovernancePack(
        name, target, target / "index.html", target / "manifest.json", files, missing
    )
