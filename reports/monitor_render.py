"""Render the monitor: figures (PNG), ``monitoring.html`` and ``monitoring.json``.

Takes the assembled report (aggregates only, suppressed cells already null) and
draws its figures with matplotlib on the Agg canvas; the HTML embeds them as
base64 PNG, so it is one self-contained file with no external requests.
"""

from __future__ import annotations

import base64
import io
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from features.files import atomic_write_text
from reports.render import template_environment

__all__ = ["clean_json", "monitor_figures", "write_monitor_report"]

_PNG_METADATA = {"Software": None}


def clean_json(value: Any) -> Any:
    """Return ``value`` with NaN and infinities as None, floats to 6 places."""
    if isinstance(value, float):
        return None if not math.isfinite(value) else round(value, 6)
    if isinstance(value, Mapping):
        return {str(k): clean_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_json(v) for v in value]
    return value


def _figure(height: float = 3.2) -> Figure:
    fig = Figure(figsize=(7.5, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, metadata=_PNG_METADATA)
    return buffer.getvalue()


def _volume_figure(data: Mapping[str, Any]) -> Figure:
    fig = _figure()
    ax = fig.add_subplot()
    for table, v in data["tables"].items():
        typical = v["typical_per_month"] or 1.0
        ax.plot(
            [m[:7] for m in v["months"]],
            [n / typical for n in v["volume"]],
            label=table,
        )
    ax.axhline(1.0, color="grey", linewidth=0.8)
    ax.set_ylabel("rows / typical month")
    ax.set_title("Monthly volume per table, relative to its typical month")
    ax.tick_params(axis="x", labelrotation=60, labelsize=7)
    ax.legend(fontsize=7)
    return fig


def _psi_figure(inputs: Mapping[str, Any], max_psi: float) -> Figure:
    items = [
        (n, f["psi"]) for n, f in inputs["features"].items() if f["psi"] is not None
    ]
    fig = _figure(max(2.5, 0.18 * len(items) + 1))
    ax = fig.add_subplot()
    ax.barh([n for n, _ in items], [p for _, p in items], color="#4a7ab0")
    ax.axvline(max_psi, color="#b04a4a", linestyle="--", label=f"alert above {max_psi}")
    ax.set_xlabel("population stability index against training")
    ax.tick_params(axis="y", labelsize=6)
    ax.invert_yaxis()
    ax.legend(fontsize=7)
    return fig


def _score_figure(inputs: Mapping[str, Any]) -> Figure:
    fig = _figure()
    ax = fig.add_subplot()
    scores = inputs["scores"]
    if not scores["bins"]:
        ax.set_title(f"Nothing scored as of {inputs['as_of_date']}")
        return fig
    x = [i / 10 + 0.05 for i in range(10)]
    ax.bar(
        [v - 0.02 for v in x],
        scores["first_bins"],
        width=0.04,
        label=f"first scored ({scores['first_scored']})",
    )
    ax.bar(
        [v + 0.02 for v in x],
        scores["bins"],
        width=0.04,
        label=f"as of {inputs['as_of_date']}",
    )
    ax.set_xlabel("risk score")
    ax.set_ylabel("share of the cohort")
    ax.legend(fontsize=7)
    return fig


def _precision_figure(performance: Mapping[str, Any]) -> Figure:
    fig = _figure()
    ax = fig.add_subplot()
    weeks = performance.get("realised", {}).get("weeks", {})
    shown = [
        (w, c["precision_at_k"])
        for w, c in weeks.items()
        if not c["precision_at_k"]["suppressed"]
    ]
    if shown:
        ax.errorbar(
            [w for w, _ in shown],
            [c["estimate"] for _, c in shown],
            yerr=[
                [c["estimate"] - c["ci_low"] for _, c in shown],
                [c["ci_high"] - c["estimate"] for _, c in shown],
            ],
            fmt="o",
            label="realised precision@k of the list",
        )
    promised = performance["promised"].get("precision_at_capacity")
    if promised and promised.get("value") is not None:
        ax.axhline(
            promised["value"],
            color="grey",
            linestyle="--",
            label="promised at training",
        )
    ax.set_ylim(0, 1)
    ax.set_ylabel("precision@k")
    ax.tick_params(axis="x", labelrotation=60, labelsize=7)
    ax.legend(fontsize=7)
    return fig


def monitor_figures(report: Mapping[str, Any]) -> dict[str, bytes]:
    """Draw the report's figures; return ``file name -> PNG bytes``."""
    figures = {
        "volume.png": _volume_figure(report["data"]),
        "feature_psi.png": _psi_figure(report["inputs"], report["settings"]["max_psi"]),
        "scores.png": _score_figure(report["inputs"]),
    }
    if report["performance"].get("realised"):
        figures["precision.png"] = _precision_figure(report["performance"])
    return {name: _png(fig) for name, fig in figures.items()}


def write_monitor_report(
    report: Mapping[str, Any], figures: Mapping[str, bytes], folder: Path
) -> tuple[Path, Path]:
    """Write ``monitoring.html`` and ``monitoring.json`` atomically; return both."""
    data = clean_json(report)
    images = {n: base64.b64encode(b).decode("ascii") for n, b in figures.items()}
    html = (
        template_environment()
        .get_template("monitoring.html.j2")
        .render(report=data, images=images)
    )
    html_path = atomic_write_text(folder / "monitoring.html", html)
    text = json.dumps(data, ensure_ascii=False, indent=2)
    return html_path, atomic_write_text(folder / "monitoring.json", text)
