"""Report files for reviewers, where ``opspor audit|card|governance-pack`` put them.

Fairness audits land in ``<output_dir>/reports/<programme>/<week or model>/
fairness.{html,json,pdf}``, model cards in ``<output_dir>/reports/models/
<name>@<version>/model_card.{html,md}`` and governance packs in
``<output_dir>/governance/<programme>/<date>/`` and monitoring reports (``opspor
monitor``) in ``<output_dir>/reports/<programme>/monitoring/<week>/
monitoring.{html,json}``. All are aggregates. This
module lists them and resolves a requested file safely (names checked against
patterns, the resolved path kept inside its folder), so the routes never touch
a path built from the URL on their own.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

from features.errors import NotFoundError

__all__ = [
    "MEDIA_TYPES",
    "MONITORING",
    "MONITORING_FILES",
    "MONITOR_SECTIONS",
    "NO_FILE",
    "NO_PROGRAMME",
    "fairness_reports",
    "governance_packs",
    "latest_monitoring",
    "model_cards",
    "monitoring_file",
    "monitoring_weeks",
    "report_file",
]

log = logging.getLogger(__name__)

NO_FILE = "No such report file."
MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".md": "text/plain; charset=utf-8",
    ".json": "application/json",
    ".pdf": "application/pdf",
}
NO_PROGRAMME = "No such programme."
#: The folder of a programme's monitoring reports and the files served from it.
MONITORING = "monitoring"
MONITORING_FILES = ("monitoring.html", "monitoring.json")
#: The sections of ``monitoring.json`` whose alerts the pages count.
MONITOR_SECTIONS = ("data", "inputs", "performance")
_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]*$")
#: A programme's name (``outreach.programmes``) and an ISO week (``opspor monitor``).
_PROGRAMME = re.compile(r"^[a-z][a-z0-9_]*$")
_WEEK = re.compile(r"^[0-9]{4}-W[0-9]{2}$")
_VERDICTS = ("ok", "alert")
_ALERT_FIELDS = ("section", "code", "subject", "message", "value", "threshold")
_MODELS = "models"


def _json(path: Path) -> dict[str, Any]:
    """Read a JSON file as a dict ({} when unreadable)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        log.warning("could not read a report file")
        return {}
    return data if isinstance(data, dict) else {}


def fairness_reports(output_dir: Path) -> list[dict[str, Any]]:
    """Every fairness audit written so far, newest first.

    Parameters
    ----------
    output_dir : Path
        The output root.

    Returns
    -------
    list of dict
        ``programme, scope, model_uri, as_of_date, k, n_cohort, n_selected,
        n_flags, n_breaches, summary, summary_da`` (empty when the audit wrote
        no Danish) and ``flags`` (as in ``fairness.json``).
    """
    found = []
    for path in (output_dir / "reports").glob("*/*/fairness.json"):
        programme, scope = path.parent.parent.name, path.parent.name
        if programme == _MODELS:
            continue
        data = _json(path)
        context = data.get("context") or {}
        flags = data.get("flags") or []
        found.append(
            {
                "programme": programme,
                "scope": scope,
                "model_uri": context.get("model_uri", ""),
                "as_of_date": context.get("as_of_date", ""),
                "k": data.get("k"),
                "n_cohort": data.get("n_cohort"),
                "n_selected": data.get("n_selected"),
                "n_flags": len(flags),
                "n_breaches": sum(1 for f in flags if f.get("severity") == "breach"),
                "summary": list(data.get("summary") or []),
                "summary_da": list(data.get("summary_da") or []),
                "flags": [f for f in flags if isinstance(f, dict)],
                "mtime": path.stat().st_mtime,
            }
        )
    return sorted(found, key=lambda r: (-r["mtime"], r["programme"], r["scope"]))


def model_cards(output_dir: Path) -> list[dict[str, Any]]:
    """Every model card written so far (``name``, ``version``, ``card``)."""
    found = []
    for path in (output_dir / "reports" / _MODELS).glob("*@*/model_card.html"):
        name, _, version = path.parent.name.partition("@")
        found.append({"name": name, "version": version, "card": path.parent.name})
    return sorted(found, key=lambda r: (r["name"], r["version"]))


def governance_packs(output_dir: Path) -> list[dict[str, Any]]:
    """Every governance pack (``programme``, ``day``, ``missing``), newest first."""
    found = []
    for path in (output_dir / "governance").glob("*/*/index.html"):
        manifest = _json(path.parent / "manifest.json")
        found.append(
            {
                "programme": path.parent.parent.name,
                "day": path.parent.name,
                "missing": list(manifest.get("missing") or []),
            }
        )
    return sorted(found, key=lambda r: (r["programme"], r["day"]), reverse=True)


def report_file(root: Path, *parts: str) -> Path:
    """Resolve a report file under ``root`` from URL parts, refusing anything else.

    Parameters
    ----------
    root : Path
        ``<output_dir>/reports`` or ``<output_dir>/governance``.
    *parts : str
        Folder and file names; each must match ``^[A-Za-z0-9][A-Za-z0-9_.@-]*$``.

    Returns
    -------
    Path

    Raises
    ------
    NotFoundError
        A bad part, a suffix not in :data:`MEDIA_TYPES`, a path outside ``root``,
        or no such file.
    """
    if not parts or not all(_PART.match(p) and ".." not in p for p in parts):
        raise NotFoundError(NO_FILE)
    path = root.joinpath(*parts).resolve()
    if path.suffix not in MEDIA_TYPES or not path.is_relative_to(root.resolve()):
        raise NotFoundError(NO_FILE)
    if not path.is_file():
        raise NotFoundError(NO_FILE)
    return path


def _object(data: dict[str, Any], key: str) -> dict[str, Any]:
    """Return ``data[key]`` when it is a JSON object, else {}."""
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def _alerts(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the alerts of a ``monitoring.json`` with every field ("" when null)."""
    alerts = data.get("alerts")
    return [
        {key: "" if a.get(key) is None else a[key] for key in _ALERT_FIELDS}
        for a in (alerts if isinstance(alerts, list) else [])
        if isinstance(a, dict)
    ]


def _monitoring_summary(
    programme: str, week: str, data: dict[str, Any]
) -> dict[str, Any]:
    """Return what the pages show of one ``monitoring.json``."""
    context, alerts = _object(data, "context"), _alerts(data)
    verdict = data.get("verdict")
    return {
        "programme": programme,
        "week": week,
        "verdict": verdict if verdict in _VERDICTS else "unknown",
        "as_of_date": context.get("as_of_date", ""),
        "extract_date": context.get("extract_date", ""),
        "model_uri": context.get("model_uri", ""),
        "list_id": context.get("list_id") or "",
        "alerts": alerts,
        "n_alerts": len(alerts),
        "sections": {
            s: sum(1 for a in alerts if a.get("section") == s) for s in MONITOR_SECTIONS
        },
        "n_scored": _object(data, "inputs").get("n_scored"),
        "n_lists": _object(data, "performance").get("n_lists"),
        "n_mature": _object(data, "performance").get("n_mature"),
    }


def monitoring_weeks(output_dir: Path, programme: str) -> list[dict[str, Any]]:
    """Every monitoring report of one programme, newest week first.

    Parameters
    ----------
    output_dir : Path
        The output root.
    programme : str
        The programme's name.

    Returns
    -------
    list of dict
        ``programme, week, verdict ("ok", "alert" or "unknown" when unreadable),
        as_of_date, extract_date, model_uri, list_id, alerts, n_alerts, sections
        (alerts per section), n_scored, n_lists, n_mature``.

    Raises
    ------
    NotFoundError
        The name is not a programme's name.
    """
    if not _PROGRAMME.match(programme):
        raise NotFoundError(NO_PROGRAMME)
    folder = output_dir / "reports" / programme / MONITORING
    found = [
        _monitoring_summary(programme, path.parent.name, _json(path))
        for path in folder.glob("*/monitoring.json")
        if _WEEK.match(path.parent.name)
    ]
    return sorted(found, key=lambda r: str(r["week"]), reverse=True)


def latest_monitoring(output_dir: Path) -> dict[str, dict[str, Any]]:
    """Return the newest monitoring report of each programme that has one."""
    latest = {}
    for folder in (output_dir / "reports").glob(f"*/{MONITORING}"):
        name = folder.parent.name
        weeks = monitoring_weeks(output_dir, name) if _PROGRAMME.match(name) else []
        if weeks:
            latest[name] = weeks[0]
    return dict(sorted(latest.items()))


def monitoring_file(output_dir: Path, programme: str, week: str, name: str) -> Path:
    """Resolve one week's ``monitoring.html`` or ``monitoring.json``, nothing else.

    Parameters
    ----------
    output_dir : Path
        The output root.
    programme, week : str
        The programme's name and the ISO week (``2026-W48``).
    name : str
        One of :data:`MONITORING_FILES`.

    Returns
    -------
    Path

    Raises
    ------
    NotFoundError
        A malformed programme or week, another file name, or no such file.
    """
    valid = _PROGRAMME.match(programme) and _WEEK.match(week)
    if not valid or name not in MONITORING_FILES:
        raise NotFoundError(NO_FILE)
    return report_file(output_dir / "reports", programme, MONITORING, week, name)
