"""Render a fairness audit as self-contained HTML, a PDF and ``fairness.json``.

Takes the aggregated :class:`~reports.fairness.FairnessAudit` (never a person-level
frame) and writes ``fairness.html`` (jinja2, plots embedded as base64 PNG, no
external requests), ``fairness.pdf`` (matplotlib ``PdfPages``: a summary page,
then the same figures) and ``fairness.json`` into one folder, each file written
atomically. Suppressed cells stay suppressed: they are shown as text and left
out of every plot.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import jinja2
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from features.errors import ConfigError
from features.files import atomic_write_bytes, atomic_write_text
from reports.fairness import MITIGATIONS, FairnessAudit
from reports.render_reach import reach_lines, reach_view

__all__ = [
    "BAD_LANGUAGE",
    "FairnessReportPaths",
    "ReportLanguage",
    "atomic_write_bytes",
    "atomic_write_text",
    "audit_figures",
    "render_fairness_html",
    "template_environment",
    "write_fairness_report",
]

TEMPLATES = Path(__file__).resolve().parent / "templates"
#: Language of the report's summary and flags: Danish then English, or one.
ReportLanguage = Literal["both", "da", "en"]
BAD_LANGUAGE = "The '--lang' option must be 'both', 'da' or 'en'. Got {lang!r} instead."
PERCENT_METRICS = {
    "selection_rate",
    "share_of_cohort",
    "share_of_list",
    "share_of_need",
    "precision_at_k",
    "recall_at_k",
    "false_positive_rate",
    "observed_rate",
    "mean_predicted",
    "calibration_in_the_large",
}
METRIC_NAMES = {
    "selection_rate": "Selection rate",
    "share_of_cohort": "Share of cohort",
    "share_of_list": "Share of list",
    "share_of_need": "Share of need",
    "precision_at_k": "Precision at k",
    "recall_at_k": "Recall at k",
    "false_positive_rate": "False positive rate",
    "observed_rate": "Observed outcome rate",
    "mean_predicted": "Mean predicted risk",
    "calibration_in_the_large": "Observed minus predicted",
    "brier_score_loss": "Brier score",
    "roc_auc_score": "AUROC",
}
_PNG_METADATA = {"Software": None}
_PDF_METADATA = {"Creator": "Opspor", "Producer": "Opspor", "CreationDate": None}


@dataclass(frozen=True)
class FairnessReportPaths:
    """Where one audit was written."""

    folder: Path
    html: Path
    pdf: Path
    json: Path


# --- atomic files -----------------------------------------------------------


# --- formatting -------------------------------------------------------------


def _value(value: float | None, metric: str) -> str:
    """One number as shown to a reader."""
    if value is None:
        return "–"
    if metric in PERCENT_METRICS:
        return f"{100 * value:.1f}%"
    if metric in ("ratio", "roc_auc_score"):
        return f"{value:.2f}"
    return f"{value:.3f}"


def format_cell(cell: Mapping[str, Any] | None, metric: str = "ratio") -> str:
    """Return a figure as 'estimate (low–high)', or 'suppressed'."""
    if not cell:
        return "–"
    if cell.get("suppressed"):
        return "suppressed"
    text = _value(cell.get("estimate"), metric)
    if cell.get("ci_low") is not None and cell.get("ci_high") is not None:
        text += f" ({_value(cell['ci_low'], metric)}–{_value(cell['ci_high'], metric)})"
    return text


def template_environment() -> jinja2.Environment:
    """Return the jinja2 environment of the report templates, with our filters."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["cell"] = format_cell
    env.globals["METRIC_NAMES"] = METRIC_NAMES
    return env


# --- figures ------------------------------------------------------------------


def _shown(
    groups: Mapping[str, Any], pick: Callable[[Mapping[str, Any]], Any]
) -> list[tuple[str, Any]]:
    """(group, cell) pairs that are not suppressed and have an estimate."""
    pairs = []
    for label, group in groups.items():
        cell = pick(group)
        if cell and not cell.get("suppressed") and cell.get("estimate") is not None:
            pairs.append((label, cell))
    return pairs


def _errors(cells: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """Asymmetric error bars from cells (zero where the interval is missing)."""
    est = np.array([c["estimate"] for c in cells], dtype=float)
    low = np.array(
        [c["ci_low"] if c["ci_low"] is not None else c["estimate"] for c in cells]
    )
    high = np.array(
        [c["ci_high"] if c["ci_high"] is not None else c["estimate"] for c in cells]
    )
    return np.vstack([np.clip(est - low, 0, None), np.clip(high - est, 0, None)])


def _figure(height: float = 3.6) -> Figure:
    """Return a new figure on the Agg canvas (no pyplot, no global state)."""
    fig = Figure(figsize=(7.5, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _legend(ax: Any) -> None:
    """Add a legend when something is labelled (every group may be suppressed)."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7)


def _ratio_figure(audit: FairnessAudit, metric: str, title: str) -> Figure:
    """Forest plot: each group's ratio to its reference, every plain grouping."""
    rows: list[tuple[str, Mapping[str, Any]]] = []
    for name, grouping in audit.groupings.items():
        if len(grouping["columns"]) != 1:
            continue
        for label, group in grouping["groups"].items():
            cell = (
                group["metrics"].get(metric, {}).get("ratio")
                if metric in group["metrics"]
                else None
            )
            if cell and cell.get("estimate") is not None:
                rows.append((f"{name}: {label}", {**cell, "suppressed": False}))
    fig = _figure(max(3.0, 0.22 * len(rows) + 1.2))
    ax = fig.add_subplot()
    if rows:
        y = np.arange(len(rows))[::-1]
        cells = [c for _, c in rows]
        ax.errorbar(
            [c["estimate"] for c in cells], y, xerr=_errors(cells), fmt="o", ms=4
        )
        ax.set_yticks(y, [label for label, _ in rows], fontsize=7)
    ax.axvline(1.0, color="grey", lw=1)
    ax.axvline(
        audit.settings.get("min_recall_ratio", 0.8), color="tab:red", lw=1, ls="--"
    )
    ax.set_xlabel("ratio to the reference group (1 = equal)")
    ax.set_title(title, fontsize=10)
    return fig


def _shares_figure(audit: FairnessAudit, grouping: str) -> Figure:
    """Share of the cohort, the list and the need, per group."""
    groups = audit.groupings[grouping]["groups"]
    metrics = ["share_of_cohort", "share_of_list", "share_of_need"]
    labels = [lb for lb, g in groups.items() if not g["suppressed"]]
    fig = _figure()
    ax = fig.add_subplot()
    x = np.arange(len(labels))
    for i, metric in enumerate(metrics):
        values = [groups[lb]["metrics"][metric]["estimate"] for lb in labels]
        heights = [np.nan if v is None else 100 * v for v in values]
        ax.bar(x + (i - 1) * 0.27, heights, width=0.27, label=METRIC_NAMES[metric])
    ax.set_xticks(x, labels, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("%")
    ax.legend(fontsize=8)
    ax.set_title(f"Share of cohort, list and need by {grouping}", fontsize=10)
    return fig


def _calibration_figure(audit: FairnessAudit, grouping: str) -> Figure:
    """Observed against predicted risk by risk bin, one line per group."""
    fig = _figure()
    ax = fig.add_subplot()
    for label, group in audit.groupings[grouping]["groups"].items():
        points = [
            (b["mean_predicted"]["estimate"], b["observed_rate"]["estimate"])
            for b in group["calibration"]
            if not b["observed_rate"]["suppressed"]
            and b["mean_predicted"]["estimate"] is not None
        ]
        if points:
            xs, ys = zip(*points, strict=True)
            ax.plot(xs, ys, marker="o", ms=3, label=label)
    ax.plot([0, 1], [0, 1], color="grey", lw=1, ls="--")
    ax.set_xlabel("mean predicted risk")
    ax.set_ylabel("observed outcome rate")
    _legend(ax)
    ax.set_title(f"Calibration within groups ({grouping}), by risk decile", fontsize=10)
    return fig


def _curve_figure(audit: FairnessAudit, grouping: str) -> Figure:
    """Recall over capacity k, one line per group."""
    fig = _figure()
    ax = fig.add_subplot()
    for label, group in audit.groupings[grouping]["groups"].items():
        points = [
            (k, point["recall_at_k"]["estimate"])
            for k, point in zip(audit.curve_k, group["curve"], strict=True)
            if point["recall_at_k"]["estimate"] is not None
        ]
        if points:
            ks, values = zip(*points, strict=True)
            ax.plot(ks, [100 * v for v in values], marker="o", ms=3, label=label)
    ax.axvline(audit.k, color="grey", lw=1, ls=":")
    ax.set_xscale("log")
    ax.set_xlabel("capacity k (log scale)")
    ax.set_ylabel("recall at k, %")
    _legend(ax)
    ax.set_title(
        f"How much of each group's need the list reaches as k grows ({grouping})",
        fontsize=10,
    )
    return fig


def _mitigation_figure(audit: FairnessAudit) -> Figure:
    """Precision at k against the lowest recall ratio, per re-ranking strategy."""
    fig = _figure(3.0)
    ax = fig.add_subplot()
    for name, row in audit.mitigation["strategies"].items():
        precision = row["precision_at_k"]["estimate"]
        ratio = row["min_recall_ratio"]
        if precision is not None and ratio is not None:
            ax.scatter([ratio], [100 * precision])
            ax.annotate(name.replace("_", " "), (ratio, 100 * precision), fontsize=8)
    ax.set_xlabel("lowest recall ratio to the reference group")
    ax.set_ylabel("precision at k, %")
    ax.set_title("What re-ranking would cost (shown, not applied)", fontsize=10)
    return fig


def audit_figures(audit: FairnessAudit) -> list[tuple[str, Figure]]:
    """Every figure of the report, titled, in reading order.

    Parameters
    ----------
    audit : FairnessAudit

    Returns
    -------
    list of (str, Figure)
    """
    main = (
        "education_level"
        if "education_level" in audit.groupings
        else next(iter(audit.groupings))
    )
    split = audit.mitigation.get("grouping", main)
    return [
        (
            "Recall at k: ratio to the reference group",
            _ratio_figure(
                audit,
                "recall_at_k",
                "Among citizens who had the outcome: chance of being on the list",
            ),
        ),
        ("Share of cohort, list and need", _shares_figure(audit, main)),
        ("Calibration within groups", _calibration_figure(audit, split)),
        ("Recall over capacity", _curve_figure(audit, split)),
        ("Re-ranking comparison", _mitigation_figure(audit)),
    ]


def _png(fig: Figure) -> str:
    """Return a figure as a base64 PNG data string."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, metadata=_PNG_METADATA)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


# --- writers ------------------------------------------------------------------


def _label_rows(audit: FairnessAudit) -> list[dict[str, Any]]:
    """Rows of the label-check table for every plain grouping."""
    rows = []
    for name, grouping in audit.groupings.items():
        if len(grouping["columns"]) != 1:
            continue
        for label, group in grouping["groups"].items():
            rows.append({"grouping": name, "group": label, "group_data": group})
    return rows


def render_fairness_html(
    audit: FairnessAudit,
    figures: Sequence[tuple[str, Figure]],
    *,
    lang: ReportLanguage = "both",
) -> str:
    """Return the report as one self-contained HTML page.

    Parameters
    ----------
    audit : FairnessAudit
    figures : sequence of (str, Figure)
        From :func:`audit_figures`.
    lang : {"both", "da", "en"}
        Language of the summary and flag messages: Danish first then English
        (``both``, the default), or one of them.

    Returns
    -------
    str
    """
    template = template_environment().get_template("fairness.html.j2")
    indicators = sorted(
        {key for row in _label_rows(audit) for key in row["group_data"]["care_gap"]}
    )
    alternatives = sorted(
        {
            key
            for row in _label_rows(audit)
            for key in row["group_data"]["alternative_outcomes"]
        }
    )
    data = audit.to_dict()
    return template.render(
        audit=data,
        languages=_languages(lang),
        reach=reach_view(data, _languages(lang)),
        figures=[(title, _png(fig)) for title, fig in figures],
        label_rows=_label_rows(audit),
        indicators=indicators,
        has_label_check=any(
            row["group_data"].get("label_ascertainment") is not None
            for row in _label_rows(audit)
        ),
        alternatives=alternatives,
        mitigations=MITIGATIONS,
        on_list=[
            "share_of_cohort",
            "share_of_list",
            "share_of_need",
            "selection_rate",
            "recall_at_k",
            "precision_at_k",
            "false_positive_rate",
        ],
        risk=[
            "observed_rate",
            "mean_predicted",
            "calibration_in_the_large",
            "brier_score_loss",
            "roc_auc_score",
        ],
    )


def _languages(lang: ReportLanguage) -> list[str]:
    """Return the languages to show, in order; refuse an unknown one."""
    if lang not in ("both", "da", "en"):
        raise ConfigError(BAD_LANGUAGE.format(lang=lang))
    return ["da", "en"] if lang == "both" else [lang]


def _text_page(audit: FairnessAudit, lang: ReportLanguage = "both") -> Figure:
    """First PDF page: the summary sentences and the flags in plain words."""
    import textwrap

    fig = Figure(figsize=(8.27, 11.69))
    FigureCanvasAgg(fig)
    languages = _languages(lang)
    lines = ["Fairness audit", ""]
    for language in languages:
        summary = audit.summary_da if language == "da" else audit.summary
        for sentence in summary:
            lines += textwrap.wrap(sentence, 95) + [""]
    lines += [f"Flags ({len(audit.flags)}):", ""]
    for flag in audit.flags[: 25 // len(languages)]:
        for language in languages:
            message = flag.message_da if language == "da" else flag.message
            lines += textwrap.wrap(f"[{flag.severity}] {message}", 95)
    if len(audit.flags) > 25:
        lines.append(f"... and {len(audit.flags) - 25} more in fairness.json")
    fig.text(0.06, 0.96, "\n".join(lines), va="top", family="monospace", fontsize=7.5)
    return fig


def _lines_pages(lines: Sequence[str], per_page: int = 100) -> list[Figure]:
    """PDF pages of plain text lines, wrapped (the reach-against tables)."""
    import textwrap

    wrapped = [w for line in lines for w in (textwrap.wrap(line, 110) or [""])]
    pages = []
    for start in range(0, len(wrapped), per_page):
        fig = Figure(figsize=(8.27, 11.69))
        FigureCanvasAgg(fig)
        text = "\n".join(wrapped[start : start + per_page])
        fig.text(0.04, 0.97, text, va="top", family="monospace", fontsize=6)
        pages.append(fig)
    return pages


def _pdf_bytes(
    audit: FairnessAudit,
    figures: Sequence[tuple[str, Figure]],
    lang: ReportLanguage = "both",
) -> bytes:
    """Return the PDF: summary page, the reach-against tables, then every figure."""
    buffer = io.BytesIO()
    reach = reach_view(audit.to_dict(), _languages(lang))
    with PdfPages(buffer, metadata=_PDF_METADATA) as pdf:
        pdf.savefig(_text_page(audit, lang))
        for page in _lines_pages(reach_lines(reach) if reach else []):
            pdf.savefig(page)
        for _, fig in figures:
            pdf.savefig(fig)
    return buffer.getvalue()


def write_fairness_report(
    audit: FairnessAudit, folder: Path, *, lang: ReportLanguage = "both"
) -> FairnessReportPaths:
    """Write ``fairness.html``, ``fairness.pdf`` and ``fairness.json`` into ``folder``.

    Parameters
    ----------
    audit : FairnessAudit
        Aggregates only.
    folder : Path
        ``<output_dir>/reports/<programme>/<week or model>/``; created.
    lang : {"both", "da", "en"}
        Language of the HTML and PDF summary and flags (``fairness.json``
        always holds both).

    Returns
    -------
    FairnessReportPaths

    Raises
    ------
    ConfigError
        An unknown language.
    """
    figures = audit_figures(audit)
    payload = json.dumps(audit.to_dict(), indent=2, ensure_ascii=False, allow_nan=False)
    paths = FairnessReportPaths(
        folder=folder,
        html=folder / "fairness.html",
        pdf=folder / "fairness.pdf",
        json=folder / "fairness.json",
    )
    html = render_fairness_html(audit, figures, lang=lang)
    atomic_write_text(paths.json, payload + "\n")
    atomic_write_text(paths.html, html)
    atomic_write_bytes(paths.pdf, _pdf_bytes(audit, figures, lang))
    return paths
