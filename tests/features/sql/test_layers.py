"""Meta-tests of features/sql: layering, SQL/contract pairing, headers and reasons."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from features.build import layers
from features.checks import load_contract, sql_stems

SQL_ROOT = Path(__file__).resolve().parents[3] / "features" / "sql"
LAYER_ORDER = {
    "raw": 0,
    "staging": 1,
    "intermediate": 2,
    "timelines": 3,
    "citizen": 4,
    "marts": 5,
    "covariates": 6,
}
#: Name tables any layer may read (features/sql/seeds, loaded before the layers).
SEEDS = "seeds"
_REFERENCE = re.compile(r"\b(?:from|join)\s+([a-z_][a-z0-9_]*(?:\.[a-z_][a-z0-9_]*)?)")
_CTE = re.compile(r"(?:^|,|with)\s*([a-z_][a-z0-9_]*)\s+as\s*\(", re.MULTILINE)


def _feature_sql_files(suffix: str) -> list[Path]:
    """The feature pipeline's files: top level and layer folders (not load/)."""
    folders = [SQL_ROOT, *(SQL_ROOT / layer.folder for layer in layers())]
    return sorted(p for folder in folders for p in folder.glob(f"*{suffix}"))


def _strip_comments(sql: str) -> str:
    return re.sub(r"--[^\n]*", "", sql)


def layering_violations(layer: str, sql: str) -> list[str]:
    """Relations a model of ``layer`` may not read: its own or a later layer, or raw."""
    body = _strip_comments(sql)
    ctes = set(_CTE.findall(body))
    bad = []
    for target in _REFERENCE.findall(body):
        if "." not in target:
            if target not in ctes:
                bad.append(f"{target} (neither a CTE nor schema-qualified)")
            continue
        schema = target.split(".")[0]
        if target == "main.spine" and layer != "staging":
            continue
        if schema == SEEDS:
            continue
        if schema not in LAYER_ORDER or LAYER_ORDER[schema] >= LAYER_ORDER[layer]:
            bad.append(target)
        elif schema == "raw" and layer != "staging":
            bad.append(f"{target} (only staging reads raw)")
    return bad


def _models() -> list[tuple[str, str]]:
    return [
        (layer.folder, stem) for layer in layers() for stem in sql_stems(layer.folder)
    ]


@pytest.mark.parametrize(("layer", "stem"), _models())
def test_view_reads_only_earlier_layers_and_spine(layer: str, stem: str) -> None:
    sql = (SQL_ROOT / layer / f"{stem}.sql").read_text(encoding="utf-8")
    assert layering_violations(layer, sql) == []


def test_layering_violations_flags_same_and_later_layers() -> None:
    sql = (
        "with a as (select * from citizen.feat_x), b as (select * from marts.m)\n"
        "select * from a join b using (k) join raw.citizens as c on true join other"
    )
    assert layering_violations("citizen", sql) == [
        "citizen.feat_x",
        "marts.m",
        "raw.citizens (only staging reads raw)",
        "other (neither a CTE nor schema-qualified)",
    ]


def test_layering_violations_allows_spine_above_staging_only() -> None:
    sql = "select * from main.spine"
    assert layering_violations("intermediate", sql) == []
    assert layering_violations("staging", sql) == ["main.spine"]


def test_every_sql_file_has_a_contract_and_back() -> None:
    sql = {p.with_suffix("") for p in _feature_sql_files(".sql")}
    yml = {
        p.with_suffix("") for p in _feature_sql_files(".yml") if p.name != "project.yml"
    }
    assert sql == yml


@pytest.mark.parametrize("path", _feature_sql_files(".sql"), ids=lambda p: p.stem)
def test_every_sql_file_opens_with_the_three_line_header(path: Path) -> None:
    head = path.read_text(encoding="utf-8").splitlines()[:3]
    assert all(line.startswith("-- ") for line in head)
    assert head[1].startswith("-- Grain:")
    assert head[2].startswith("-- Point in time:")


@pytest.mark.parametrize(("layer", "stem"), _models())
def test_contract_names_its_file(layer: str, stem: str) -> None:
    body = yaml.safe_load(
        (SQL_ROOT / layer / f"{stem}.yml").read_text(encoding="utf-8")
    )
    assert body["name"] == stem
    assert body["description"] and body["point_in_time"]
    assert "grain" in body


def _columns_with_role(role: str) -> list[tuple[str, dict[str, object]]]:
    found = []
    for layer, stem in _models():
        contract = load_contract(f"{layer}/{stem}.yml")
        own = contract.body.get("columns") or []
        found += [(f"{layer}/{stem}", c) for c in own if c.get("role") == role]
    return found


@pytest.mark.parametrize(
    ("model", "column"),
    _columns_with_role("feature"),
    ids=lambda v: str(v.get("name", v)) if isinstance(v, dict) else v,
)
def test_every_feature_has_danish_and_english_reason(model: str, column: dict) -> None:
    for key in ("description", "window", "source_table", "unit"):
        assert column.get(key), f"{model}: {column['name']} lacks {key}"
    reason = column["reason"]
    assert set(reason) == {"da", "en"}
    for template in reason.values():
        assert template.format(value=2.0)
    nullable = "not_null" not in (column.get("tests") or [])
    if nullable:
        assert set(column["reason_missing"]) == {"da", "en"}


def _worded(column: dict[str, object]) -> bool:
    return "reason" in column or "reason_by_value" in column


@pytest.mark.parametrize("role", ["key", "context", "audit"])
def test_keys_context_and_audit_columns_have_no_reason(role: str) -> None:
    assert [c["name"] for _, c in _columns_with_role(role) if _worded(c)] == []


def test_cohort_columns_a_model_ranks_with_have_a_reason() -> None:
    # A cohort flag may carry a reason for the models that use it as a feature
    # (models read every reason from the one feature catalogue); those that do must.
    from models.spec import available_specs, load_spec

    used = {f for name in available_specs() for f in load_spec(name).features}
    cohort = {c["name"]: c for _, c in _columns_with_role("cohort")}
    assert used & set(cohort)
    assert [n for n in sorted(used & set(cohort)) if not _worded(cohort[n])] == []


def test_audit_only_columns_are_never_features() -> None:
    names = {c["name"] for _, c in _columns_with_role("feature")}
    assert names.isdisjoint({"education_level", "origin", "municipality_code"})
    mart = load_contract("marts/scoring_features.yml")
    assert {"education_level", "origin"}.isdisjoint(mart.column_names)


def test_project_layers_are_in_data_flow_order() -> None:
    assert [(x.folder, x.materialized) for x in layers()] == [
        ("staging", "view"),
        ("intermediate", "view"),
        ("timelines", "view"),
        ("citizen", "view"),
        ("marts", "table"),
        ("covariates", "table"),
    ]


def test_windows_in_feature_names_are_sql_literals() -> None:
    """A feature named ..._90d uses the literal 90 in its view's SQL."""
    for layer, stem in _models():
        sql = (SQL_ROOT / layer / f"{stem}.sql").read_text(encoding="utf-8")
        for name in re.findall(r"as\s+([a-z0-9_]+_(\d+)d)\b", sql):
            assert re.search(rf"\b{name[1]}\b(?!d)", sql), f"{stem}: {name[0]}"
