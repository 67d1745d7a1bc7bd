"""Meta-tests: the operational store is one sub-package the domain writes through.

``outreach.app.store`` imports nothing else of ``outreach`` (bar the users module,
for the ``User`` record its PostgreSQL table returns), so the domain modules that
write lists, outcomes and audit events can import it without a cycle; it is the
only place that imports SQLAlchemy; and the pre-migration modules and schema
files are gone for good.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STORE = ROOT / "outreach" / "app" / "store"
PACKAGES = ["synthetic_data", "features", "models", "reports", "outreach"]
USERS_MODULES = {"outreach.web.users", "outreach.app.users"}
GONE = ("outreach.opstore", "outreach.store ", "opstore_postgres.sql", '"schema.sql"')


def _modules(path: Path) -> set[str]:
    """Every absolute module a file imports (also inside functions)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return found


def test_store_imports_no_other_outreach_module() -> None:
    bad = [
        f"{path.relative_to(ROOT)} imports {module}"
        for path in sorted(STORE.rglob("*.py"))
        for module in _modules(path)
        if module.startswith("outreach")
        and not module.startswith("outreach.app.store")
        and module not in USERS_MODULES
    ]
    assert bad == []


def test_only_the_store_imports_sqlalchemy() -> None:
    importers = {
        str(path.relative_to(ROOT))
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        if any(m.split(".")[0] == "sqlalchemy" for m in _modules(path))
    }
    assert importers and all(p.startswith("outreach/app/store/") for p in importers)


def test_nothing_refers_to_the_old_store_modules() -> None:
    paths = [p for d in (*PACKAGES, "tests", "bench") for p in (ROOT / d).rglob("*.py")]
    bad = [
        f"{path.relative_to(ROOT)}: {needle}"
        for path in paths
        if path != Path(__file__).resolve()
        for needle in GONE
        if needle in path.read_text(encoding="utf-8")
    ]
    assert bad == []
