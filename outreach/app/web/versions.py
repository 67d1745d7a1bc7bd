"""What a registered model version logged to MLflow, grouped for the data pages.

:func:`read_version` reads one version's metrics (``evaluation/metrics.json``:
each with the bootstrap interval :mod:`models.validate` computed), the k they were
taken at (``evaluation/test_predictions_summary.json``), its data fingerprint and
the figures of its run, all through :mod:`models.tracking` (the one module that
imports mlflow). :func:`group_metrics` turns the flat metric names into tables
(at each k, discrimination, calibration) and :func:`compare_versions` sets two
versions side by side with the difference of their point estimates. No paired
interval of a difference is logged by training, so none is computed here: the
pages say so. :func:`artifact_of` decides which of a run's files the app may send
(figures and the aggregate evaluation files, nothing else). Aggregates only.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from features.errors import NotFoundError
from features.settings import EngineSettings

__all__ = [
    "AGGREGATE_FILES",
    "ARTIFACT_MEDIA_TYPES",
    "NO_ARTIFACT",
    "NO_REGISTRY",
    "VersionView",
    "artifact_of",
    "compare_versions",
    "group_metrics",
    "read_version",
    "registered_versions",
    "run_files",
]

NO_ARTIFACT = "No such figure or aggregate file of this model version."
NO_REGISTRY = "No model registry yet; train a model with `opspor train` first."
#: What may be sent of a run: figures anywhere, and these aggregate files.
ARTIFACT_MEDIA_TYPES = {".png": "image/png", ".json": "application/json"}
AGGREGATE_FILES = (
    "evaluation/metrics.json",
    "evaluation/test_predictions_summary.json",
)
_AT_K = re.compile(r"^(precision|recall|lift)_at_([a-z0-9_]+)$")
_AT_K_ORDER = ("precision", "recall", "lift")
#: Metrics outside the at-k tables, by group, in the order they are shown.
_GROUPS = (
    ("discrimination", ("roc_auc", "average_precision")),
    ("calibration", ("calibration_intercept", "calibration_slope", "brier_score")),
    ("base_rate", ("prevalence",)),
)
_MONITORING = "monitoring"
_ARTIFACT_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]*$")


@dataclass(frozen=True)
class VersionView:
    """One registered version as the pages show it (aggregates only)."""

    name: str
    version: str
    run_id: str
    metrics: dict[str, dict[str, float | None]]
    ks: dict[str, int]
    fingerprint: dict[str, Any]
    summary: dict[str, Any]
    #: Every file the run logged (paths relative to the run's root).
    files: list[str] = field(default_factory=list)

    @property
    def figures(self) -> list[str]:
        """The run's PNG figures (calibration, precision@k, SHAP summary, ...).

        Of the figures ``opspor monitor`` adds each week
        (``monitoring/<programme>/<week>/``), only each programme's latest week.
        """
        pngs = [f for f in self.files if PurePosixPath(f).suffix == ".png"]
        latest: dict[str, str] = {}
        for path in pngs:
            parts = path.split("/")
            if parts[0] == _MONITORING and len(parts) == 4:
                latest[parts[1]] = max(latest.get(parts[1], ""), parts[2])
        return [p for p in pngs if _shown(p.split("/"), latest)]

    @property
    def groups(self) -> list[dict[str, Any]]:
        """The metrics as grouped tables (see :func:`group_metrics`)."""
        return group_metrics(self.metrics, self.ks)


def _shown(parts: Sequence[str], latest: Mapping[str, str]) -> bool:
    """Tell whether a figure is shown: not a monitoring figure of an older week."""
    if parts[0] != _MONITORING or len(parts) != 4:
        return True
    return latest.get(parts[1]) == parts[2]


def _estimate(raw: Any) -> dict[str, float | None]:
    """Return ``{"value", "ci_low", "ci_high"}``, non-finite or missing as None."""
    raw = raw if isinstance(raw, Mapping) else {"value": raw}
    out: dict[str, float | None] = {}
    for key in ("value", "ci_low", "ci_high"):
        value = raw.get(key)
        finite = isinstance(value, int | float) and math.isfinite(value)
        out[key] = float(value) if finite else None
    return out


def _share(k_name: str) -> str | None:
    """Return the cohort share of a k name (``0_5pct`` -> ``0.5``), else None."""
    if not k_name.endswith("pct"):
        return None
    return k_name.removesuffix("pct").replace("_", ".")


def _at_k_groups(
    metrics: Mapping[str, Mapping[str, float | None]], ks: Mapping[str, int]
) -> list[dict[str, Any]]:
    """One table per k name (capacity first), precision, recall and lift in it."""
    names = {m.group(2) for m in map(_AT_K.match, metrics) if m}
    ordered = sorted(names, key=lambda n: (n != "capacity", ks.get(n, 0), n))
    groups = []
    for k_name in ordered:
        rows = [
            {"metric": kind, **metrics[f"{kind}_at_{k_name}"]}
            for kind in _AT_K_ORDER
            if f"{kind}_at_{k_name}" in metrics
        ]
        groups.append(
            {
                "group": "at_k",
                "k_name": k_name,
                "share": _share(k_name),
                "k": ks.get(k_name),
                "rows": rows,
            }
        )
    return groups


def group_metrics(
    metrics: Mapping[str, Any], ks: Mapping[str, int]
) -> list[dict[str, Any]]:
    """Group a version's logged metrics into the tables the pages show.

    Parameters
    ----------
    metrics : Mapping
        ``metric -> {"value", "ci_low", "ci_high"}`` as training logged it.
    ks : Mapping
        ``k name -> k`` (``capacity``, ``1pct``, ...) from the test summary.

    Returns
    -------
    list of dict
        ``group`` (``at_k``, ``discrimination``, ``calibration``, ``base_rate`` or
        ``other``), ``k_name``, ``share`` (the cohort share in %, None for
        ``capacity``) and ``k`` for an at-k table, and ``rows`` of
        ``metric, value, ci_low, ci_high`` (None where not finite).
    """
    clean = {str(n): _estimate(v) for n, v in metrics.items()}
    groups = _at_k_groups(clean, ks)
    placed = {f"{r['metric']}_at_{g['k_name']}" for g in groups for r in g["rows"]}
    for group, names in _GROUPS:
        rows = [{"metric": n, **clean[n]} for n in names if n in clean]
        placed |= set(names)
        if rows:
            groups.append({"group": group, "rows": rows})
    rest = [{"metric": n, **clean[n]} for n in sorted(clean) if n not in placed]
    if rest:
        groups.append({"group": "other", "rows": rest})
    return groups


def _json_object(text: str | None) -> dict[str, Any]:
    """Parse a JSON object ({} when absent or not an object)."""
    try:
        data = json.loads(text) if text else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _ks(summary: Mapping[str, Any]) -> dict[str, int]:
    """Return the ``k`` map of a test summary, integers only."""
    raw = summary.get("k")
    if not isinstance(raw, Mapping):
        return {}
    return {str(n): int(k) for n, k in raw.items() if isinstance(k, int)}


def _check_registry(settings: EngineSettings) -> None:
    """Raise NotFoundError when the embedded store was never created.

    Opening it would create it (and run MLflow's migrations) on a page view.
    """
    embedded = not settings.mlflow_uri
    if embedded and not (settings.output_dir / "mlflow.db").is_file():
        raise NotFoundError(NO_REGISTRY)


def registered_versions(settings: EngineSettings, name: str) -> list[str]:
    """Return the registered versions of a model, newest first.

    Raises
    ------
    NotFoundError
        There is no model registry yet.
    """
    from models.tracking import list_versions

    _check_registry(settings)
    return list_versions(settings, name)


def read_version(settings: EngineSettings, name: str, version: str) -> VersionView:
    """Read what one registered version logged: metrics, k, fingerprint, figures.

    Parameters
    ----------
    settings : EngineSettings
        Where the MLflow store is.
    name, version : str
        The registered model and its version (or alias).

    Returns
    -------
    VersionView

    Raises
    ------
    NotFoundError
        No such registered model or version.
    """
    from models import tracking

    _check_registry(settings)
    ref = tracking.resolve_model(settings, f"{name}@{version}")
    text = tracking.try_load_run_text
    summary = _json_object(
        text(settings, ref.run_id, "evaluation/test_predictions_summary.json")
    )
    return VersionView(
        name=ref.name,
        version=ref.version,
        run_id=ref.run_id,
        metrics=_json_object(text(settings, ref.run_id, "evaluation/metrics.json")),
        ks=_ks(summary),
        fingerprint=_json_object(text(settings, ref.run_id, "data/fingerprint.json")),
        summary=summary,
        files=tracking.list_run_artifacts(settings, ref.run_id),
    )


def _difference(a: Mapping[str, Any], b: Mapping[str, Any]) -> float | None:
    """``b - a`` of the point estimates, or None when either is missing."""
    if a.get("value") is None or b.get("value") is None:
        return None
    return float(b["value"]) - float(a["value"])


def _same_data(a: VersionView, b: VersionView) -> dict[str, bool]:
    """Whether both versions were tested on the same extract, date and k."""
    keys = ("extract_hash", "test_index_date")
    return {
        "same_extract_and_date": all(
            a.fingerprint.get(k) and a.fingerprint.get(k) == b.fingerprint.get(k)
            for k in keys
        ),
        "same_k": a.ks.get("capacity") == b.ks.get("capacity"),
    }


def compare_versions(a: VersionView, b: VersionView) -> dict[str, Any]:
    """Set two versions' metrics side by side, grouped, with ``b - a``.

    Parameters
    ----------
    a, b : VersionView
        The two versions (``b`` is usually the newer one).

    Returns
    -------
    dict
        ``groups`` (as :func:`group_metrics`, each row holding ``a``, ``b`` and
        ``difference``; ``k_a``/``k_b`` on at-k tables), ``same_extract_and_date``
        and ``same_k``. A metric logged by only one version shows with the
        other side empty. No paired interval of the difference is logged, so
        there is none here.
    """
    names = list(dict.fromkeys([*a.metrics, *b.metrics]))
    ks = {**b.ks, **a.ks}
    empty = {"value": None, "ci_low": None, "ci_high": None}
    groups = group_metrics({n: a.metrics.get(n, b.metrics.get(n)) for n in names}, ks)
    for group in groups:
        k_name = group.get("k_name")
        if k_name is not None:
            group.update(k_a=a.ks.get(k_name), k_b=b.ks.get(k_name))
        for row in group["rows"]:
            name = _metric_key(group, row["metric"])
            row["a"] = _estimate(a.metrics[name]) if name in a.metrics else empty
            row["b"] = _estimate(b.metrics[name]) if name in b.metrics else empty
            row["difference"] = _difference(row["a"], row["b"])
    return {"groups": groups, **_same_data(a, b)}


def _metric_key(group: Mapping[str, Any], metric: str) -> str:
    """Return the logged name of a row's metric (``precision_at_capacity``)."""
    k_name = group.get("k_name")
    return f"{metric}_at_{k_name}" if k_name is not None else metric


def run_files(
    settings: EngineSettings, name: str, version: str
) -> tuple[str, list[str]]:
    """Return a version's run id and every file its run logged.

    Raises
    ------
    NotFoundError
        No registry, or no such registered model or version.
    """
    from models import tracking

    _check_registry(settings)
    run_id = tracking.resolve_model(settings, f"{name}@{version}").run_id
    return run_id, tracking.list_run_artifacts(settings, run_id)


def artifact_of(files: Sequence[str], path: str) -> str:
    """Check that ``path`` is a figure or aggregate file a version's run logged.

    Parameters
    ----------
    files : sequence of str
        Every file the run logged (:func:`run_files`).
    path : str
        The artifact path from the URL.

    Returns
    -------
    str
        ``path``, now known to be one of the run's PNG figures or one of
        :data:`AGGREGATE_FILES`.

    Raises
    ------
    NotFoundError
        A malformed path, a file of another kind, or one the run did not log.
    """
    parts = path.split("/")
    if not all(_ARTIFACT_PART.match(p) and ".." not in p for p in parts):
        raise NotFoundError(NO_ARTIFACT)
    allowed = PurePosixPath(path).suffix == ".png" or path in AGGREGATE_FILES
    if allowed and path in files:
        return path
    raise NotFoundError(NO_ARTIFACT)
