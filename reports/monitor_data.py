"""The data section of the monitor: loads, volumes, quarantine, code mix, lab values.

Reads ``raw.load_reports`` (every load's report, over time) and the loaded
``raw.*`` event tables, and returns aggregates only: counts per month, shares,
medians over at least ``min_monthly_rows`` values. Alerts (see
:class:`reports.monitor_flags.Alert`) are raised for a table whose recent monthly
volume falls below its typical level, a lab analyte whose values shift (a unit
change), a code system or NPU code that disappears, and a load that quarantines
too many rows.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import duckdb

from features.coverage import COVERAGE_TABLES, monthly_volume
from features.db import table_exists
from reports.drift import last_full_months, month_series, shares, volume_drop
from reports.monitor_config import MonitorConfig
from reports.monitor_flags import Alert

__all__ = ["monitor_data"]

VOLUME_MESSAGE = (
    "{table}: {recent:.0f} rows a month in the last {n} full months, {drop:.0%} below "
    "the typical {typical:.0f}"
)
LAB_MESSAGE = (
    "lab_results {code}: median value {recent:.3g} in the last {n} full months against "
    "{typical:.3g} before ({ratio:.2f}×) - a unit change?"
)
CODE_MESSAGE = (
    "{table}: {column} {code} held {share:.1%} of rows before and none in the last "
    "{n} full months"
)
QUARANTINE_MESSAGE = (
    "{table}: {rate:.1%} of rows quarantined in the latest load ({reasons})"
)


def monitor_data(
    con: duckdb.DuckDBPyConnection, *, extract_date: date, config: MonitorConfig
) -> tuple[dict[str, Any], list[Alert]]:
    """Build the data section and its alerts.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The warehouse (read only is enough).
    extract_date : date
        The loaded extract's date; its month is partial and left out.
    config : MonitorConfig
        Windows and thresholds.

    Returns
    -------
    (dict, list of Alert)
        ``{"loads", "tables", "code_mix", "lab_values"}`` and the alerts.
    """
    loads = _loads(con)
    tables = {
        t: _volume(con, t, c, extract_date, config) for t, c in COVERAGE_TABLES.items()
    }
    mix = {
        "diagnoses.code_system": _code_mix(
            con, "diagnoses", "code_system", extract_date, config
        ),
        "lab_results.npu_code": _code_mix(
            con, "lab_results", "npu_code", extract_date, config
        ),
    }
    labs = _lab_values(con, extract_date, config)
    alerts = [
        *_volume_alerts(tables, config),
        *_code_alerts(mix, config),
        *_lab_alerts(labs, config),
        *_quarantine_alerts(loads[-1:] if loads else [], config),
    ]
    return {
        "loads": loads,
        "tables": tables,
        "code_mix": mix,
        "lab_values": labs,
    }, alerts


# --- loads -------------------------------------------------------------------


def _loads(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Every stored load report, oldest first, reduced to rates and coverage."""
    if not table_exists(con, "raw", "load_reports"):
        return []
    rows = con.execute(
        "select loaded_at, status, report::varchar from raw.load_reports"
        " order by loaded_at"
    ).fetchall()
    return [
        _load(loaded_at, status, json.loads(text)) for loaded_at, status, text in rows
    ]


def _load(loaded_at: Any, status: str, report: dict[str, Any]) -> dict[str, Any]:
    tables = {}
    for name, c in report.get("tables", {}).items():
        read = int(c.get("read", 0))
        reasons = c.get("quarantine_reasons", {})
        tables[name] = {
            "read": read,
            "loaded": int(c.get("loaded", 0)),
            "quarantined": int(c.get("quarantined", 0)),
            "quarantine_rate": c.get("quarantined", 0) / read if read else 0.0,
            "quarantine_reasons": {r: n / read for r, n in reasons.items()}
            if read
            else {},
        }
    coverage = {t: c.get("from") for t, c in (report.get("coverage") or {}).items()}
    return {
        "loaded_at": str(loaded_at),
        "status": status,
        "extract_date": report.get("extract_date"),
        "extract_hash": (report.get("extract_hash") or "")[:12],
        "tables": tables,
        "coverage": coverage,
    }


def _quarantine_alerts(
    loads: list[dict[str, Any]], config: MonitorConfig
) -> list[Alert]:
    alerts = []
    for load in loads:
        for table, c in load["tables"].items():
            if c["quarantine_rate"] > config.max_quarantine_rate:
                reasons = ", ".join(
                    f"{r} {s:.1%}" for r, s in c["quarantine_reasons"].items()
                )
                alerts.append(
                    Alert(
                        "quarantine_rate",
                        "data",
                        table,
                        QUARANTINE_MESSAGE.format(
                            table=table, rate=c["quarantine_rate"], reasons=reasons
                        ),
                        c["quarantine_rate"],
                        config.max_quarantine_rate,
                    )
                )
    return alerts


# --- volume ------------------------------------------------------------------


def _volume(
    con: duckdb.DuckDBPyConnection,
    table: str,
    column: str,
    extract_date: date,
    config: MonitorConfig,
) -> dict[str, Any]:
    volume = monthly_volume(con, f"raw.{table}", column, extract_date)
    months = last_full_months(
        extract_date, config.recent_months + config.typical_months
    )
    recent, typical, drop = volume_drop(
        volume,
        extract_date,
        recent_months=config.recent_months,
        typical_months=config.typical_months,
    )
    return {
        "months": [m.isoformat() for m in months],
        "volume": month_series(volume, months),
        "recent_per_month": recent,
        "typical_per_month": typical,
        "drop": drop,
    }


def _volume_alerts(tables: dict[str, Any], config: MonitorConfig) -> list[Alert]:
    return [
        Alert(
            "volume_drop",
            "data",
            table,
            VOLUME_MESSAGE.format(
                table=table,
                recent=v["recent_per_month"],
                n=config.recent_months,
                drop=v["drop"],
                typical=v["typical_per_month"],
            ),
            v["drop"],
            config.max_volume_drop,
        )
        for table, v in tables.items()
        if v["typical_per_month"] >= config.min_monthly_rows
        and v["drop"] >= config.max_volume_drop
    ]


# --- code mix ----------------------------------------------------------------


def _code_mix(
    con: duckdb.DuckDBPyConnection,
    table: str,
    column: str,
    extract_date: date,
    config: MonitorConfig,
) -> dict[str, Any]:
    """Rows per code value and month over the monitored window; shares by window."""
    months = last_full_months(
        extract_date, config.recent_months + config.typical_months
    )
    date_column = COVERAGE_TABLES[table]
    rows = con.execute(
        f"select {column}, date_trunc('month', {date_column})::date, count(*)"
        f" from raw.{table} where {date_column} >= $start and {date_column} < $end"
        " group by all order by 1, 2",
        {"start": months[0], "end": _month_after(months[-1])},
    ).fetchall()
    per_code: dict[str, list[tuple[date, int]]] = {}
    for code, month, n in rows:
        per_code.setdefault(str(code), []).append((month, int(n)))
    series = {c: month_series(v, months) for c, v in per_code.items()}
    split = config.typical_months
    typical = shares({c: sum(s[:split]) for c, s in series.items()})
    recent = shares({c: sum(s[split:]) for c, s in series.items()})
    return {
        "months": [m.isoformat() for m in months],
        "volume": series,
        "typical_share": typical,
        "recent_share": {c: recent.get(c, 0.0) for c in series},
    }


def _month_after(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def _code_alerts(mix: dict[str, Any], config: MonitorConfig) -> list[Alert]:
    alerts = []
    for key, m in mix.items():
        table, column = key.split(".")
        total_recent = sum(
            sum(s[config.typical_months :]) for s in m["volume"].values()
        )
        for code, share in m["typical_share"].items():
            if (
                share >= config.min_code_share
                and m["recent_share"][code] == 0
                and total_recent
            ):
                alerts.append(
                    Alert(
                        "code_system_lost" if column == "code_system" else "code_lost",
                        "data",
                        f"{table}.{code}",
                        CODE_MESSAGE.format(
                            table=table,
                            column=column,
                            code=code,
                            share=share,
                            n=config.recent_months,
                        ),
                        0.0,
                        config.min_code_share,
                    )
                )
    return alerts


# --- lab values --------------------------------------------------------------


def _lab_values(
    con: duckdb.DuckDBPyConnection, extract_date: date, config: MonitorConfig
) -> dict[str, Any]:
    """Per NPU code: the median value by month and in the recent / typical windows."""
    months = last_full_months(
        extract_date, config.recent_months + config.typical_months
    )
    split = months[config.typical_months]
    rows = con.execute(
        "select npu_code, sample_date >= $split as recent, count(value), median(value)"
        " from raw.lab_results where sample_date >= $start and sample_date < $end"
        " and value is not null group by all order by 1, 2",
        {"split": split, "start": months[0], "end": _month_after(months[-1])},
    ).fetchall()
    labs: dict[str, Any] = {}
    for code, recent, n, median in rows:
        entry = labs.setdefault(
            str(code),
            {
                "n_typical": 0,
                "typical_median": None,
                "n_recent": 0,
                "recent_median": None,
            },
        )
        window = "recent" if recent else "typical"
        entry[f"n_{window}"] = int(n)
        entry[f"{window}_median"] = float(median)
    for entry in labs.values():
        a, b = entry["recent_median"], entry["typical_median"]
        entry["ratio"] = a / b if a is not None and b else None
    return labs


def _lab_alerts(labs: dict[str, Any], config: MonitorConfig) -> list[Alert]:
    alerts = []
    enough = config.min_monthly_rows
    for code, e in labs.items():
        ratio = e["ratio"]
        if ratio is None or e["n_recent"] < enough or e["n_typical"] < enough:
            continue
        if ratio > config.max_median_ratio or ratio < 1 / config.max_median_ratio:
            alerts.append(
                Alert(
                    "lab_value_shift",
                    "data",
                    f"lab_results.{code}",
                    LAB_MESSAGE.format(
                        code=code,
                        recent=e["recent_median"],
                        n=config.recent_months,
                        typical=e["typical_median"],
                        ratio=ratio,
                    ),
                    ratio,
                    config.max_median_ratio,
                )
            )
    return alerts
