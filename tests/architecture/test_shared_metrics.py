"""Meta-tests: one metrics module, and the fairness package's one-way imports."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: reports.fairness modules in the order the audit runs; each imports only earlier.
FAIRNESS_ORDER = [
    "result",
    "groups",
    "narrative",
    "narrative_da",
    "compute",
    "cells",
    "flags",
    "pipeline",
]
#: Calls that mean resampling or a ranking metric written again.
METRIC_CALLS = {"default_rng", "multinomial", "reduceat"}


def _fairness_imports(path: Path) -> set[str]:
    """Names of the reports.fairness modules a file imports."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.ImportFrom) or node.module is None:
            continue
        if node.module == "reports.fairness":
            found.update(a.name for a in node.names if a.name in FAIRNESS_ORDER)
        elif node.module.startswith("reports.fairness."):
            found.add(node.module.rsplit(".", 1)[1])
    return found


def test_fairness_modules_import_only_those_before_them() -> None:
    folder = ROOT / "reports" / "fairness"
    modules = sorted(p.stem for p in folder.glob("*.py") if p.stem != "__init__")
    assert sorted(FAIRNESS_ORDER) == modules
    bad = [
        f"{name} imports {other}"
        for i, name in enumerate(FAIRNESS_ORDER)
        for other in _fairness_imports(folder / f"{name}.py")
        if FAIRNESS_ORDER.index(other) >= i
    ]
    assert bad == []


def _metric_calls(path: Path) -> set[str]:
    """Names of METRIC_CALLS called in a file (``x.default_rng(...)`` and alike)."""
    return {
        node.func.attr
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in METRIC_CALLS
    }


def test_bootstrap_and_auroc_live_only_in_models_metrics() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}: {sorted(_metric_calls(path))}"
        for package in ("models", "reports")
        for path in sorted((ROOT / package).rglob("*.py"))
        if path != ROOT / "models" / "metrics.py" and _metric_calls(path)
    ]
    assert offenders == []
