"""Meta-tests: imports flow the way data flows, packaging and SQL/YAML pairing hold."""

from __future__ import annotations

import ast
import importlib
import importlib.metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ["synthetic_data", "features", "models", "reports", "outreach"]
# Each package may import only the packages listed for it (data flows one way).
ALLOWED = {
    "synthetic_data": set(),
    "features": set(),
    "models": {"features"},
    "reports": {"features", "models"},
    "outreach": {"features", "models", "reports"},
}


def _our_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found.update(n.split(".")[0] for n in names if n.split(".")[0] in PACKAGES)
    return found


@pytest.mark.parametrize("package", PACKAGES)
def test_imports_follow_data_flow(package: str) -> None:
    bad = []
    for path in sorted((ROOT / package).rglob("*.py")):
        allowed = ALLOWED[package] | {package}
        if path.relative_to(ROOT).as_posix() == "outreach/app/cli/synth.py":
            allowed = allowed | {"synthetic_data"}  # `opspor synth` wires the generator
        for imported in _our_imports(path) - allowed:
            bad.append(f"{path.relative_to(ROOT)} imports {imported}")
    assert bad == []


def test_only_tracking_imports_mlflow() -> None:
    offenders = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            text = path.read_text(encoding="utf-8")
            tree = ast.parse(text)
            for node in ast.walk(tree):
                mods = []
                if isinstance(node, ast.Import):
                    mods = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module:
                    mods = [node.module]
                if any(m.split(".")[0] == "mlflow" for m in mods):
                    offenders.append(str(path.relative_to(ROOT)))
    assert set(offenders) <= {"models/tracking.py"}


def test_top_level_names_belong_only_to_opspor() -> None:
    mapping = importlib.metadata.packages_distributions()
    for name in PACKAGES:
        assert set(mapping.get(name, [])) == {"opspor"}, (name, mapping.get(name))


def test_every_sql_file_has_a_contract() -> None:
    missing = [
        str(sql.relative_to(ROOT))
        for package in PACKAGES
        for sql in (ROOT / package).rglob("*.sql")
        if sql.name != "macros.sql" and not sql.with_suffix(".yml").exists()
    ]
    assert missing == []


@pytest.mark.parametrize("package", PACKAGES)
def test_all_is_declared_and_importable(package: str) -> None:
    module = importlib.import_module(package)
    exported = getattr(module, "__all__", None)
    assert isinstance(exported, list)
    for name in exported:
        assert hasattr(module, name), f"{package}.__all__ names missing {name!r}"


def test_print_only_in_cli() -> None:
    offenders = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Name)
                    and node.func.id == "print"
                ):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []
