"""Entry point of ``opspor monitor``: data, inputs and scores, realised performance.

Resolves the programme's week (its frozen list, else the week's Monday capped at
the extract date) and the model that ranked it, builds the three sections
(:mod:`reports.monitor_data`, :mod:`reports.monitor_inputs`,
:mod:`reports.monitor_outcomes`), writes ``monitoring.html`` and
``monitoring.json`` under ``<output_dir>/reports/<programme>/monitoring/<week>/``
and logs the figures and the JSON to the model version's MLflow run (aggregates
only). The verdict is ``ok`` or ``alert``; the CLI exits 3 on an alert with
``--fail-on-alert``.
"""

from __future__ import annotations

import json
import logging
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from features.db import connect, table_exists
from features.errors import ConfigError, NotFoundError
from features.settings import EngineSettings
from reports.monitor_config import MonitorConfig
from reports.monitor_data import monitor_data
from reports.monitor_flags import Alert
from reports.monitor_inputs import ModelInfo, monitor_inputs
from reports.monitor_outcomes import monitor_performance

__all__ = ["BAD_WEEK", "MonitorResult", "NO_EXTRACT", "read_model_info", "run_monitor"]

log = logging.getLogger(__name__)

NO_EXTRACT = (
    "No extract is loaded (raw.extract_info). Run `opspor load EXTRACT_DIR` first."
)
BAD_WEEK = "The week {week!r} must be an ISO week such as 2026-W48."
SCHEMA = "opspor-monitoring/1"


@dataclass(frozen=True)
class MonitorResult:
    """What ``opspor monitor`` reports back: verdict, alerts and where it wrote."""

    programme: str
    week: str
    as_of_date: date
    extract_date: date
    model_uri: str
    verdict: str
    n_alerts: int
    folder: Path
    html: Path
    json: Path
    alerts: list[dict[str, Any]] = field(default_factory=list)
    logged_to_mlflow: bool = False


def read_model_info(
    settings: EngineSettings, con: duckdb.DuckDBPyConnection, ref: str
) -> tuple[ModelInfo, str]:
    """Read what the monitor needs of a model version; return it and its run id.

    Raises
    ------
    NotFoundError
        No such registered model or version.
    """
    from models.matrix import feature_kinds
    from models.reference import read_feature_reference
    from models.tracking import load_run_text, resolve_model, try_load_run_text

    model = resolve_model(settings, ref)
    spec = tomllib.loads(load_run_text(settings, model.run_id, "spec/spec.toml"))
    fingerprint = json.loads(
        load_run_text(settings, model.run_id, "data/fingerprint.json")
    )
    metrics = try_load_run_text(settings, model.run_id, "evaluation/metrics.json")
    info = ModelInfo(
        model_uri=model.model_uri,
        cohort=str(spec["cohort"]),
        outcome=str(spec["outcome"]),
        kinds=feature_kinds(con, list(spec["features"]), spec=model.name),
        reference=read_feature_reference(settings, model.run_id),
        fit_dates=tuple(date.fromisoformat(d) for d in fingerprint["fit_index_dates"]),
        promised=json.loads(metrics) if metrics else {},
        horizon_days=int(spec.get("horizon_days", 365)),
    )
    return info, model.run_id


def _extract_date(con: duckdb.DuckDBPyConnection) -> date:
    if not table_exists(con, "raw", "extract_info"):
        raise NotFoundError(NO_EXTRACT)
    row = con.execute(
        "select extract_date from raw.extract_info order by loaded_at desc limit 1"
    ).fetchone()
    if row is None:
        raise NotFoundError(NO_EXTRACT)
    extract_date: date = row[0]
    return extract_date


def _week_monday(week: str) -> date:
    try:
        year, number = week.split("-W")
        return date.fromisocalendar(int(year), int(number), 1)
    except ValueError as error:
        raise ConfigError(BAD_WEEK.format(week=week)) from error


def _resolve_week(
    con: duckdb.DuckDBPyConnection, programme: str, week: str | None, extract_date: date
) -> tuple[str, date, str | None, str | None]:
    """Return (week, as-of date, list id, model URI of the list) for the week."""
    if week is None:
        year, number, _ = extract_date.isocalendar()
        week = f"{year}-W{number:02d}"
        if table_exists(con, "outreach", "list_runs"):
            row = con.execute(
                "select max(week) from outreach.list_runs"
                " where programme = $p and status = 'frozen'",
                {"p": programme},
            ).fetchone()
            week = str(row[0]) if row and row[0] else week
    as_of = min(_week_monday(week), extract_date)
    if table_exists(con, "outreach", "list_runs"):
        run = con.execute(
            "select list_id, as_of_date, model_uri from outreach.list_runs"
            " where programme = $p and week = $w and status = 'frozen'",
            {"p": programme, "w": week},
        ).fetchone()
        if run:
            return week, run[1], str(run[0]), str(run[2])
    return week, as_of, None, None


def _ref(model_uri: str) -> str:
    """``models:/NAME/VERSION`` → ``NAME@VERSION``; anything else unchanged."""
    if model_uri.startswith("models:/"):
        name, version = model_uri.removeprefix("models:/").split("/")
        return f"{name}@{version}"
    return model_uri


def run_monitor(
    settings: EngineSettings,
    *,
    programme: str,
    model: str,
    week: str | None = None,
    municipalities: Sequence[str] = (),
    config: MonitorConfig | None = None,
    log_to_mlflow: bool = True,
) -> MonitorResult:
    """Monitor one programme's week: build every section, write and log the report.

    Parameters
    ----------
    settings : EngineSettings
        Warehouse, MLflow store and output root.
    programme : str
        The programme's name.
    model : str
        The model to watch when the week has no list (``NAME@ALIAS``); a frozen
        list's own model wins.
    week : str, optional
        ISO week; default the programme's latest list, else the extract's week.
    municipalities : sequence of str, optional
        The programme's municipalities (the cohort for recall@k and calibration).
    config : MonitorConfig, optional
        Default: the packaged ``reports/monitoring.toml``.
    log_to_mlflow : bool, default True
        Log figures and ``monitoring.json`` to the model version's run.

    Returns
    -------
    MonitorResult

    Raises
    ------
    NotFoundError
        No extract loaded, or the model is not registered.
    ConfigError
        A malformed week.
    """
    from reports.monitor_render import monitor_figures, write_monitor_report

    config = config or MonitorConfig.from_toml()
    con = connect(settings.warehouse)
    try:
        extract_date = _extract_date(con)
        week, as_of, list_id, list_model = _resolve_week(
            con, programme, week, extract_date
        )
        info, run_id = read_model_info(settings, con, _ref(list_model or model))
        data, data_alerts = monitor_data(con, extract_date=extract_date, config=config)
        inputs, input_alerts = monitor_inputs(
            con, info, as_of=as_of, list_id=list_id, config=config
        )
        performance, perf_alerts = monitor_performance(
            con,
            info,
            programme=programme,
            extract_date=extract_date,
            config=config,
            municipalities=municipalities,
        )
    finally:
        con.close()
    alerts = [*data_alerts, *input_alerts, *perf_alerts]
    report = _report(
        programme,
        week,
        as_of,
        extract_date,
        info.model_uri,
        list_id,
        config,
        {"data": data, "inputs": inputs, "performance": performance},
        alerts,
    )
    figures = monitor_figures(report)
    folder = settings.output_dir / "reports" / programme / "monitoring" / week
    paths = write_monitor_report(report, figures, folder)
    logged = log_to_mlflow and _log(settings, run_id, report, figures, programme, week)
    return MonitorResult(
        programme=programme,
        week=week,
        as_of_date=as_of,
        extract_date=extract_date,
        model_uri=info.model_uri,
        verdict=report["verdict"],
        n_alerts=len(alerts),
        folder=folder,
        html=paths[0],
        json=paths[1],
        alerts=[a.as_dict() for a in alerts],
        logged_to_mlflow=logged,
    )


def _report(
    programme: str,
    week: str,
    as_of: date,
    extract_date: date,
    model_uri: str,
    list_id: str | None,
    config: MonitorConfig,
    sections: dict[str, Any],
    alerts: list[Alert],
) -> dict[str, Any]:
    """Assemble ``monitoring.json`` (aggregates only)."""
    return {
        "schema": SCHEMA,
        "context": {
            "programme": programme,
            "week": week,
            "as_of_date": as_of.isoformat(),
            "extract_date": extract_date.isoformat(),
            "model_uri": model_uri,
            "list_id": list_id,
        },
        "verdict": "alert" if alerts else "ok",
        "alerts": [a.as_dict() for a in alerts],
        "settings": config.as_dict(),
        **sections,
    }


def _log(
    settings: EngineSettings,
    run_id: str,
    report: dict[str, Any],
    figures: dict[str, bytes],
    programme: str,
    week: str,
) -> bool:
    """Log the figures and ``monitoring.json`` to the model's run (aggregates only)."""
    from models.tracking import log_run_figures, log_run_text

    folder = f"monitoring/{programme}/{week}"
    text = json.dumps(report, default=str, indent=1)
    log_run_text(settings, run_id, text, f"{folder}/monitoring.json")
    log_run_figures(settings, run_id, figures, folder)
    return True
