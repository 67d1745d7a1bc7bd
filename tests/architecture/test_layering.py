"""Meta-tests: imports flow the way data flows, packaging and SQL/YAML pairing hold."""

from __future__ import annotations

import ast
import importlib
import importlib.metadata
import re
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
        if not sql.with_suffix(".yml").exists()
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


# --- the application shell (outreach/app) apart from the domain ---------------

APP = ROOT / "outreach" / "app"


def _module_imports(path: Path) -> set[str]:
    """Every absolute module name a file imports (``a.b`` for ``from a.b import c``)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


# The domain writes lists, outcomes and audit events through the operational
# store, the one part of the shell it may import: a leaf that imports nothing
# else of outreach but the users' record (tests/architecture/test_store_layering.py).
DOMAIN_MAY_IMPORT_APP = {"outreach.app.store"}


def test_outreach_domain_never_imports_the_app_shell() -> None:
    bad = []
    for path in sorted((ROOT / "outreach").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if APP in path.parents:
            continue
        allowed = DOMAIN_MAY_IMPORT_APP
        bad += [
            f"{rel} imports {name}"
            for name in sorted(_module_imports(path))
            if (name == "outreach.app" or name.startswith("outreach.app."))
            and not any(name == a or name.startswith(a + ".") for a in allowed)
        ]
    assert bad == []


def test_only_the_app_shell_imports_the_web_framework() -> None:
    web = {"fastapi", "starlette", "uvicorn", "typer", "rich"}
    bad = [
        f"{path.relative_to(ROOT)} imports {name}"
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        if APP not in path.parents
        for name in sorted(_module_imports(path))
        if name.split(".")[0] in web
    ]
    assert bad == []


# Beside ``*.stages``, the CLI may import only parsers of its options into settings
# objects and constants for its help and progress text; the work is in run_<stage>.
CLI_MAY_IMPORT = {
    "features.errors",
    "features.settings",
    "features.load_report.format_report",  # renders the load stage's result
    "features.spine.parse_as_of",
    "features.spine.resolve_as_of_dates",
    "models.spec.load_spec",
    "models.explain.Language",
    "outreach.programmes.load_programme",
    "outreach.exports.EXPORT_FORMATS",
    "outreach.weekly.STEPS",
    "reports.config.FairnessConfig",
    "reports.monitor_config.MonitorConfig",
    "reports.render.ReportLanguage",
    "synthetic_data.generate_extract",  # the leaf: an outside supplier's stand-in
    "synthetic_data.load_profile",
    "synthetic_data.profile.ProfileError",
}


def _imported_names(path: Path) -> set[str]:
    """``module.name`` for every ``from module import name``, ``module`` for imports."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _cli_may_import(name: str) -> bool:
    module = name.rsplit(".", 1)[0]
    return (
        name.split(".")[0] not in PACKAGES
        or name.startswith("outreach.app")
        or module.endswith(".stages")
        or name in CLI_MAY_IMPORT
        or module in CLI_MAY_IMPORT
    )


def test_cli_calls_only_stage_entry_points() -> None:
    bad = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in sorted((APP / "cli").glob("*.py"))
        for name in sorted(_imported_names(path))
        if not _cli_may_import(name)
    ]
    assert bad == []


def test_web_app_records_through_the_stage() -> None:
    names = set().union(*(_imported_names(p) for p in (APP / "web").rglob("*.py")))
    assert "outreach.stages.run_record" in names
    assert "outreach.recording.record_contacts" not in names


STAGE_MODULES = [
    "features.stages",
    "models.stages",
    "reports.stages",
    "outreach.stages",
    "outreach.app.stages",
]


@pytest.mark.parametrize("module_name", STAGE_MODULES)
def test_every_stage_has_one_entry_shape(module_name: str) -> None:
    import dataclasses
    import inspect

    module = importlib.import_module(module_name)
    runs = [n for n in module.__all__ if n.startswith("run_")]
    assert runs, module_name
    for name in runs:
        signature = inspect.signature(getattr(module, name))
        params = signature.parameters
        assert list(params) == ["settings", "request"], name
        assert params["settings"].annotation == "EngineSettings", name
        request = getattr(module, params["request"].annotation)
        assert request.__name__.endswith("Request"), name
        assert dataclasses.is_dataclass(request), name
        assert request.__dataclass_params__.frozen, name
        assert str(signature.return_annotation).endswith("Result"), name


# --- the environment is read in one place ------------------------------------

# Writes are allowed where named: they configure a library or a child process
# from settings already read, they read nothing.
ENV_WRITES = {
    "models/tracking.py": "turns off MLflow's progress bars (its own variable)",
    "outreach/app/web/app.py": "hands the settings to uvicorn's worker processes",
}


def _env_uses(tree: ast.AST) -> list[tuple[int, bool]]:
    """(line, is_write) of every os.environ / getenv reference in a module."""
    parents = {
        child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)
    }
    uses = []
    for node in ast.walk(tree):
        name = (
            node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", None)
        )
        if name not in ("environ", "getenv", "environb", "putenv"):
            continue
        parent = parents.get(node)
        write = (
            isinstance(parent, ast.Subscript) and isinstance(parent.ctx, ast.Store)
        ) or (isinstance(parent, ast.Attribute) and parent.attr == "setdefault")
        uses.append((node.lineno, write))
    return uses


def test_environment_is_read_only_in_engine_settings() -> None:
    reads, writes = [], set()
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if rel == "features/settings.py":
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for line, write in _env_uses(tree):
                if write:
                    writes.add(rel)
                else:
                    reads.append(f"{rel}:{line}")
    assert reads == []
    assert writes == set(ENV_WRITES)


def test_engine_settings_reads_the_environment() -> None:
    tree = ast.parse((ROOT / "features" / "settings.py").read_text(encoding="utf-8"))
    assert [w for _, w in _env_uses(tree)] == [False]


# --- which operational tables the reports read ---------------------------------

# reports/ never imports outreach, but its SQL reads tables the outreach stage
# writes. Each one is named here with the reason, so a new dependency is a choice.
REPORTS_MAY_READ = {
    "lists": "the frozen list: who was selected (audit of a week, monitoring)",
    "holdouts": "the randomised hold-out beside each list (monitoring's comparison)",
    "current_contacts": "recorded outcomes (none corrected or retracted since) for"
    " the early signals of monitoring",
    "list_runs": "which week, as-of date and model each list was built with",
    "audit_log": "counts of events for the governance pack's audit-log summary",
}
_READS = re.compile(r"\b(?:from|join)\s+outreach\.([a-z_]+)", re.IGNORECASE)
_EXISTS = re.compile(r"table_exists\(\s*\w+\s*,\s*\"outreach\"\s*,\s*\"([a-z_]+)\"")


def _outreach_tables_read(path: Path) -> set[str]:
    text = path.read_text(encoding="utf-8")
    return set(_READS.findall(text)) | set(_EXISTS.findall(text))


def test_reports_read_only_the_named_outreach_tables() -> None:
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / "reports").rglob("*")):
        if path.suffix in (".sql", ".py"):
            for table in _outreach_tables_read(path):
                found.setdefault(table, set()).add(path.relative_to(ROOT).as_posix())
    assert set(found) - set(REPORTS_MAY_READ) == set(), found
    assert set(REPORTS_MAY_READ) - set(found) == set(), "an allowed table is unused"
    sql_reads = {
        t for t, files in found.items() if any(f.endswith(".sql") for f in files)
    }
    assert sql_reads, "reports/sql reads outreach tables today; the check must see them"


def test_models_and_features_sql_never_read_outreach_tables() -> None:
    bad = [
        f"{path.relative_to(ROOT)} reads outreach.{table}"
        for package in ("features", "models")
        for path in sorted((ROOT / package).rglob("*.sql"))
        for table in sorted(_outreach_tables_read(path))
    ]
    assert bad == []
