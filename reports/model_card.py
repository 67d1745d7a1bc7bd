"""Model cards: what a model version is for, how it was built, how it performs.

Built from a dict of model metadata (the resolved spec, metrics with intervals,
the data fingerprint, features) that :mod:`models.tracking` logged to MLflow,
plus the outcome's contract, the feature catalogue and the latest fairness audit.
Rendered as HTML and Markdown with a TRIPOD+AI checklist table pointing each item
to the section that answers it. Aggregates only.
"""

from __future__ import annotations

import json
import logging
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from features.errors import NotFoundError, OpsporError
from features.settings import EngineSettings
from reports.catalogue import feature_catalogue
from reports.render import atomic_write_text, template_environment

__all__ = [
    "CardResult",
    "ModelCard",
    "ModelCardPaths",
    "TRIPOD_AI",
    "build_model_card",
    "latest_audit",
    "latest_monitoring",
    "make_model_card",
    "read_model_metadata",
    "write_model_card",
]

log = logging.getLogger(__name__)

# TRIPOD+AI (Collins et al., BMJ 2024;385:e078378): the 27 main items, abbreviated,
# each pointed to the card section that answers it, or marked not applicable / not yet.
TRIPOD_AI: tuple[tuple[str, str, str], ...] = (
    (
        "1",
        "Title: development/evaluation of a prediction model, population, outcome",
        "title",
    ),
    ("2", "Abstract", "summary"),
    (
        "3",
        "Background: healthcare context, target population, health inequalities",
        "intended-use",
    ),
    ("4", "Objectives", "intended-use"),
    ("5", "Data: sources, dates of collection", "data"),
    ("6", "Participants: setting, eligibility, treatments", "cohort"),
    ("7", "Data preparation and quality checks", "data"),
    ("8", "Outcome: definition, time of assessment, blinding", "outcome"),
    ("9", "Predictors: definition, measurement, why chosen", "features"),
    ("10", "Sample size", "data"),
    ("11", "Missing data", "model"),
    ("12", "Analytical methods: model type, tuning, internal validation", "model"),
    ("13", "Class imbalance", "model"),
    ("14", "Fairness: methods to address it", "fairness"),
    ("15", "Model output: form and thresholds", "model"),
    ("16", "Training versus evaluation data", "performance"),
    ("17", "Ethical approval", "not yet: to be filled by the data controller"),
    (
        "18",
        "Open science: funding, conflicts, protocol, registration, data and code",
        "not yet: code in this repository; the rest to be filled",
    ),
    ("19", "Patient and public involvement", "not yet"),
    (
        "20",
        "Participants: flow, characteristics, comparison of development and evaluation",
        "data",
    ),
    ("21", "Model development: participants and events in each analysis", "data"),
    ("22", "Model specification", "model"),
    ("23", "Model performance, including in key subgroups", "performance"),
    ("24", "Model updating", "not applicable: no update yet"),
    ("25", "Interpretation", "limitations"),
    ("26", "Limitations", "limitations"),
    ("27", "Usability in the context of current care", "intended-use"),
)


@dataclass(frozen=True)
class ModelCard:
    """One model version's card, section by section (all aggregates)."""

    name: str
    version: str
    model_uri: str
    sections: dict[str, Any]
    tripod: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready card."""
        return {
            "name": self.name,
            "version": self.version,
            "model_uri": self.model_uri,
            "sections": self.sections,
            "tripod": self.tripod,
        }


@dataclass(frozen=True)
class ModelCardPaths:
    """Where a card was written."""

    folder: Path
    html: Path
    markdown: Path


# --- reading ------------------------------------------------------------------


def read_model_metadata(settings: EngineSettings, ref: str) -> dict[str, Any]:
    """Read a registered version's spec, metrics and fingerprint from MLflow.

    Parameters
    ----------
    settings : EngineSettings
        Where the MLflow store is.
    ref : str
        ``NAME@VERSION`` or ``NAME@ALIAS``.

    Returns
    -------
    dict
        ``name, version, model_uri, run_id, spec, metrics, fingerprint, tags``.

    Raises
    ------
    NotFoundError
        No such registered model or version.
    """
    from models.tracking import load_run_text, resolve_model, version_tags

    model = resolve_model(settings, ref)

    def text(artifact: str) -> str:
        return load_run_text(settings, model.run_id, artifact)

    return {
        "name": model.name,
        "version": model.version,
        "model_uri": model.model_uri,
        "run_id": model.run_id,
        "spec": tomllib.loads(text("spec/spec.toml")),
        "metrics": json.loads(text("evaluation/metrics.json")),
        "fingerprint": json.loads(text("data/fingerprint.json")),
        "tags": version_tags(settings, model.name, model.version),
    }


def latest_audit(output_dir: Path, *, name: str, version: str) -> dict[str, Any] | None:
    """Return the newest ``fairness.json`` of ``NAME@VERSION`` (any programme)."""
    found = sorted(
        (output_dir / "reports").glob(f"*/{name}@{version}/fairness.json"),
        key=lambda p: p.stat().st_mtime,
    )
    if not found:
        return None
    data: dict[str, Any] = json.loads(found[-1].read_text(encoding="utf-8"))
    data["_path"] = str(found[-1])
    return data


def _outcome_contract(outcome: str) -> dict[str, Any]:
    """Return the outcome's YAML contract (empty when unknown)."""
    from models.outcomes import outcome_contract

    try:
        return dict(outcome_contract(outcome))
    except OpsporError:
        log.info(
            "No outcome contract for %s; the card's outcome section stays empty",
            outcome,
        )
        return {}


# --- building -----------------------------------------------------------------


def _metric_rows(metrics: Mapping[str, Any], split: str = "") -> list[dict[str, Any]]:
    """Flatten ``metric -> {value, ci_low, ci_high}`` (optionally nested by split)."""
    rows: list[dict[str, Any]] = []
    for key, value in metrics.items():
        if isinstance(value, Mapping) and ({"value", "estimate"} & set(value)):
            estimate = value.get("estimate", value.get("value"))
            rows.append(
                {
                    "split": split or "test",
                    "metric": key,
                    "estimate": estimate,
                    "ci_low": value.get("ci_low"),
                    "ci_high": value.get("ci_high"),
                }
            )
        elif isinstance(value, Mapping):
            rows += _metric_rows(value, key)
        elif isinstance(value, int | float):
            rows.append(
                {
                    "split": split or "test",
                    "metric": key,
                    "estimate": value,
                    "ci_low": None,
                    "ci_high": None,
                }
            )
    return rows


def _features(
    metadata: Mapping[str, Any], spec: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """Feature rows: the metadata's own descriptions, else the catalogue's."""
    given = metadata.get("features")
    if given and all(isinstance(f, Mapping) for f in given):
        return [dict(f) for f in given]
    names = list(given or spec.get("features", []))
    return feature_catalogue(names)


def _intended_use(
    metadata: Mapping[str, Any], spec: Mapping[str, Any], outcome: Mapping[str, Any]
) -> dict[str, Any]:
    """Purpose, users and uses that are out of scope."""
    horizon = spec.get("horizon_days", "the horizon")
    return {
        "purpose": metadata.get("intended_use")
        or (
            f"Rank citizens in the {spec.get('cohort', 'programme')} cohort by their "
            "risk of "
            f"{spec.get('outcome', 'the outcome')} within {horizon} days, so that an "
            "outreach "
            "team with a fixed weekly capacity contacts first those most likely to be "
            "slipping "
            "out of care."
        ),
        "users": "Outreach coordinators and crews in municipalities and regions; "
        "their managers; "
        "the data protection officer and the clinical lead who sign it off.",
        "not_for": "Diagnosis or treatment decisions; "
        "deciding anyone's right to a service; "
        "withholding care from citizens who are not listed; use outside the cohort "
        "and region it was built on without a new audit.",
        "context": " ".join(str(outcome.get("why", "")).split()),
    }


def _fairness(audit: Mapping[str, Any] | None) -> dict[str, Any]:
    """Return the audit's five sentences and flags, or a note that there is none."""
    if not audit:
        return {
            "available": False,
            "summary": [],
            "flags": [],
            "path": None,
            "note": "No fairness audit has been run for this version yet: "
            "run `opspor audit --model`.",
        }
    flags = audit.get("flags", [])
    return {
        "available": True,
        "summary": list(audit.get("summary", [])),
        "flags": [
            {
                "code": f["code"],
                "grouping": f["grouping"],
                "group": f["group"],
                "message": f["message"],
                "severity": f.get("severity", ""),
            }
            for f in flags
        ],
        "n_breaches": sum(1 for f in flags if f.get("severity") == "breach"),
        "path": audit.get("_path"),
        "note": "",
    }


def _limitations(
    audit: Mapping[str, Any] | None, fingerprint: Mapping[str, Any]
) -> list[str]:
    """Plain-language limitations; label problems from the audit when it found any."""
    items = [
        "Built and evaluated on a synthetic region unless the data section names a "
        "delivered "
        "extract: figures show that the pipeline works, not how a real region will "
        "fare.",
        "The outcome is what the journals record. Groups that are screened or seen "
        "less often "
        "have fewer complications recorded, so the model may under-rank them (see the "
        "label "
        "check of the fairness audit).",
        "Risk is estimated for the cohort and period of the data; a new region, a new "
        "coding "
        "practice or a change in care needs a new validation and audit.",
        "Education and origin are never features, but features such as GP contact and "
        "missed "
        "appointments are related to them; the audit measures what that does.",
    ]
    labels = [
        f
        for f in (audit or {}).get("flags", [])
        if f.get("code") == "label_ascertainment"
    ]
    if labels:
        items.append(
            f"The latest audit warned that the outcome may be under-recorded in "
            f"{len(labels)} group(s), e.g.: {labels[0]['message']}"
        )
    elif sight := _label_sight(audit):
        # No flag is not a clean bill: say how large a recording gap it could see.
        items.append(f"From the latest audit: {sight}")
    return items


def _label_sight(audit: Mapping[str, Any] | None) -> str | None:
    """Return the audit summary's sentence on what the label check could see."""
    return next(
        (
            line
            for line in (audit or {}).get("summary", [])
            if isinstance(line, str) and line.startswith("The label check")
        ),
        None,
    )


def latest_monitoring(output_dir: Path, *, model_uri: str) -> dict[str, Any] | None:
    """Return the newest ``monitoring.json`` of a model version (any programme)."""
    found = sorted(
        (output_dir / "reports").glob("*/monitoring/*/monitoring.json"),
        key=lambda p: p.stat().st_mtime,
    )
    for path in reversed(found):
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        if data.get("context", {}).get("model_uri") == model_uri:
            return {**data, "_path": str(path)}
    return None


def _monitoring(report: Mapping[str, Any] | None) -> dict[str, Any]:
    """Return the card's monitoring section: the latest verdict and its alerts."""
    if report is None:
        return {"available": False, "note": "This version has not been monitored yet."}
    context = report.get("context", {})
    return {
        "available": True,
        "programme": context.get("programme"),
        "week": context.get("week"),
        "verdict": report.get("verdict"),
        "alerts": [a["message"] for a in report.get("alerts", [])],
        "path": report.get("_path"),
    }


def build_model_card(
    metadata: Mapping[str, Any],
    *,
    audit: Mapping[str, Any] | None = None,
    outcome_contract: Mapping[str, Any] | None = None,
    monitoring: Mapping[str, Any] | None = None,
) -> ModelCard:
    """Assemble the card of one registered model version.

    Parameters
    ----------
    metadata : Mapping
        ``name``, ``version`` and optionally ``model_uri``, ``spec`` (resolved
        ModelSpec as a dict), ``metrics`` (metric -> {value|estimate, ci_low,
        ci_high}, optionally nested by split), ``fingerprint`` (extract hash,
        dates, row counts), ``features`` (names or dicts with descriptions),
        ``intended_use``.
    audit : Mapping, optional
        A ``fairness.json`` of this version.
    outcome_contract : Mapping, optional
        The outcome's YAML contract; read from :mod:`models.outcomes` when omitted.
    monitoring : Mapping, optional
        The latest ``monitoring.json`` of this version (``opspor monitor``).

    Returns
    -------
    ModelCard
    """
    spec = dict(metadata.get("spec", {}))
    name, version = str(metadata["name"]), str(metadata["version"])
    outcome = dict(
        outcome_contract
        if outcome_contract is not None
        else _outcome_contract(str(spec.get("outcome", name)))
    )
    fingerprint = dict(metadata.get("fingerprint", {}))
    sections = {
        "title": f"{name} version {version}: risk of {spec.get('outcome', name)}",
        "intended-use": _intended_use(metadata, spec, outcome),
        "cohort": {
            "cohort": spec.get("cohort", outcome.get("cohort", "")),
            "rule": " ".join(str(outcome.get("cohort_rule", "")).split()),
        },
        "outcome": {
            k: " ".join(str(outcome.get(k, "")).split())
            for k in ("description", "time_at_risk", "censoring", "why")
        },
        "data": {"fingerprint": fingerprint},
        "features": _features(metadata, spec),
        "model": {k: v for k, v in spec.items() if k not in ("features",)},
        "performance": _metric_rows(metadata.get("metrics", {})),
        "fairness": _fairness(audit),
        "monitoring": _monitoring(monitoring),
        "limitations": _limitations(audit, fingerprint),
    }
    sections["summary"] = _summary(sections, spec)
    return ModelCard(
        name,
        version,
        str(metadata.get("model_uri", f"models:/{name}/{version}")),
        sections,
        _tripod(sections),
    )


def _summary(sections: Mapping[str, Any], spec: Mapping[str, Any]) -> str:
    """Return a three-sentence abstract of the card."""
    perf = {
        r["metric"]: r for r in sections["performance"] if r["split"] in ("test", "")
    }
    auc = perf.get("roc_auc") or perf.get("roc_auc_score") or perf.get("auroc")
    auc_text = (
        f"AUROC {auc['estimate']:.2f} on held-out data"
        if auc and auc["estimate"] is not None
        else "performance below"
    )
    fairness = sections["fairness"]
    fair_text = (
        f"the latest fairness audit raised {len(fairness['flags'])} flag(s), "
        f"{fairness['n_breaches']} of them breaches"
        if fairness["available"]
        else "no fairness audit has been run yet"
    )
    return (
        f"{sections['title']}. Estimator {spec.get('estimator', 'unknown')} on "
        f"{len(sections['features'])} features; {auc_text}; {fair_text}. "
        "For ranking an outreach list, never for clinical decisions."
    )


def _tripod(sections: Mapping[str, Any]) -> list[dict[str, str]]:
    """Return the TRIPOD+AI table: item, topic, where answered."""
    rows = []
    for item, topic, where in TRIPOD_AI:
        answered = where in sections
        rows.append(
            {
                "item": item,
                "topic": topic,
                "where": where,
                "anchor": f"#{where}" if answered else "",
            }
        )
    return rows


# --- writing ------------------------------------------------------------------


def write_model_card(card: ModelCard, folder: Path) -> ModelCardPaths:
    """Write ``model_card.html`` and ``model_card.md`` into ``folder`` (atomically).

    Parameters
    ----------
    card : ModelCard
    folder : Path
        ``<output_dir>/reports/models/<name>@<version>/``.

    Returns
    -------
    ModelCardPaths
    """
    env = template_environment()
    context = {"card": card.to_dict(), "s": card.sections}
    html = env.get_template("model_card.html.j2").render(**context)
    markdown = _markdown(env, context)
    paths = ModelCardPaths(folder, folder / "model_card.html", folder / "model_card.md")
    atomic_write_text(paths.html, html)
    atomic_write_text(paths.markdown, markdown)
    return paths


def _markdown(env: Any, context: Mapping[str, Any]) -> str:
    """Return the Markdown card (the same template data, no autoescaping)."""
    md_env = env.overlay(autoescape=False)
    return str(md_env.get_template("model_card.md.j2").render(**context))


@dataclass(frozen=True)
class CardResult:
    """What ``opspor card`` reports back."""

    name: str
    version: str
    model_uri: str
    html: Path
    markdown: Path
    fairness_audit: str | None


def make_model_card(
    settings: EngineSettings,
    ref: str,
    *,
    metadata_path: Path | None = None,
    audit_path: Path | None = None,
) -> CardResult:
    """Build and write the card of ``NAME@VERSION`` (entry of ``opspor card``).

    Parameters
    ----------
    settings : EngineSettings
        Output root and MLflow store.
    ref : str
        ``NAME@VERSION`` or ``NAME@ALIAS``; ignored for reading when ``metadata_path``
        is given.
    metadata_path : Path, optional
        A JSON file with the metadata dict, instead of reading MLflow.
    audit_path : Path, optional
        A ``fairness.json``; default: the newest audit of this version.

    Returns
    -------
    CardResult

    Raises
    ------
    NotFoundError
        The model, version or a given file does not exist.
    """
    if metadata_path is not None:
        metadata = _read_json(metadata_path)
    else:
        metadata = read_model_metadata(settings, ref)
    name, version = str(metadata["name"]), str(metadata["version"])
    audit = (
        _read_json(audit_path)
        if audit_path is not None
        else latest_audit(settings.output_dir, name=name, version=version)
    )
    if audit is not None and audit_path is not None:
        audit["_path"] = str(audit_path)
    uri = str(metadata.get("model_uri", f"models:/{name}/{version}"))
    monitoring = latest_monitoring(settings.output_dir, model_uri=uri)
    card = build_model_card(metadata, audit=audit, monitoring=monitoring)
    paths = write_model_card(
        card, settings.output_dir / "reports" / "models" / f"{name}@{version}"
    )
    return CardResult(
        name,
        version,
        card.model_uri,
        paths.html,
        paths.markdown,
        None if audit is None else audit.get("_path"),
    )


NO_FILE = "No such file: {path}."


def _read_json(path: Path) -> dict[str, Any]:
    """Return a JSON object from a file; NotFoundError when it does not exist."""
    if not Path(path).is_file():
        raise NotFoundError(NO_FILE.format(path=path))
    data: dict[str, Any] = json.loads(Path(path).read_text(encoding="utf-8"))
    return data
