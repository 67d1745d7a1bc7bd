"""`opspor audit | card | governance-pack` end to end on a hand-made warehouse."""

from __future__ import annotations

import hashlib
import json
import re
from importlib import resources
from pathlib import Path

import pytest
from typer.testing import CliRunner

from outreach.app.cli import app

PROGRAMME = "diabetes_bus"


@pytest.fixture(scope="module")
def fast_config(tmp_path_factory) -> Path:
    text = resources.files("reports").joinpath("fairness.toml").read_text("utf-8")
    path = tmp_path_factory.mktemp("cfg") / "fairness.toml"
    path.write_text(
        re.sub(r"(?m)^n_bootstrap = \d+", "n_bootstrap = 120", text), encoding="utf-8"
    )
    return path


@pytest.fixture(scope="module")
def frames(simulate):
    return {
        "planted": simulate(2000, seed=21, planted=True),
        "balanced": simulate(2000, seed=22),
    }


@pytest.fixture
def warehouse(frames, make_warehouse, tmp_path, isolated_env):
    def build(kind: str) -> Path:
        path = tmp_path / f"{kind}.duckdb"
        make_warehouse(path, frames[kind], k=40, programme=PROGRAMME)
        return path

    return build


def _invoke(*args: str):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def _audit(db: Path, config: Path, *extra: str):
    return _invoke(
        "audit",
        "--programme",
        PROGRAMME,
        "--db",
        str(db),
        "--config",
        str(config),
        *extra,
    )


def test_audit_fail_on_breach_exits_3(warehouse, fast_config, isolated_env) -> None:
    db = warehouse("planted")
    result = _audit(db, fast_config, "--week", "2026-W48", "--fail-on-breach", "--json")
    assert result.exit_code == 3, result.output
    body = json.loads(result.stdout.strip().splitlines()[-1])
    assert body["error"] == "FairnessBreachError"
    assert body["n_breaches"] >= 1
    folder = isolated_env / "reports" / PROGRAMME / "2026-W48"
    assert sorted(p.name for p in folder.iterdir()) == [
        "fairness.html",
        "fairness.json",
        "fairness.pdf",
    ]


def test_audit_without_fail_on_breach_exits_0(
    warehouse, fast_config, isolated_env
) -> None:
    result = _audit(warehouse("planted"), fast_config, "--week", "2026-W48")
    assert result.exit_code == 0, result.output
    assert "breach(es)" in result.stdout


def test_audit_balanced_region_passes_the_gate(
    warehouse, fast_config, isolated_env
) -> None:
    result = _audit(
        warehouse("balanced"),
        fast_config,
        "--model",
        "diabetes_harm_365d@3",
        "--fail-on-breach",
        "--json",
    )
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["n_flags"] == 0 and body["scope"] == "diabetes_harm_365d@3"
    assert body["n_observed"] > 0  # labels.diabetes_harm_365d joined at the scored date


def test_audit_needs_week_or_model(warehouse, fast_config, isolated_env) -> None:
    result = _audit(warehouse("balanced"), fast_config)
    assert result.exit_code == 2
    assert (
        "ConfigError: Give exactly one of --week or --model (got neither)."
        in " ".join(result.output.split())
    )


def test_audit_unknown_week_exits_1(warehouse, fast_config, isolated_env) -> None:
    result = _audit(warehouse("balanced"), fast_config, "--week", "2031-W01")
    assert result.exit_code == 1
    assert (
        "NotFoundError: No list for programme 'diabetes_bus' and week '2031-W01'"
        in " ".join(result.output.split())
    )


def test_reports_contain_no_citizen_id(
    warehouse, fast_config, frames, isolated_env, tmp_path
) -> None:
    db = warehouse("planted")
    assert _audit(db, fast_config, "--week", "2026-W48").exit_code == 0
    assert _audit(db, fast_config, "--model", "diabetes_harm_365d@3").exit_code == 0
    meta = tmp_path / "meta.json"
    meta.write_text(
        json.dumps(
            {
                "name": "diabetes_harm_365d",
                "version": "3",
                "metrics": {"roc_auc": {"value": 0.7, "ci_low": 0.6, "ci_high": 0.8}},
            }
        )
    )
    assert (
        _invoke(
            "card", "--model", "diabetes_harm_365d@3", "--metadata", str(meta)
        ).exit_code
        == 0
    )
    assert (
        _invoke("governance-pack", "--programme", PROGRAMME, "--db", str(db)).exit_code
        == 0
    )
    written = [p for p in isolated_env.rglob("*") if p.is_file()]
    assert len(written) >= 10
    ids = re.compile(rb"PSEUDO-\d{7}")
    for path in written:
        assert not ids.search(path.read_bytes()), path


def test_card_writes_html_and_markdown_with_tripod(
    fast_config, isolated_env, tmp_path
) -> None:
    meta = tmp_path / "meta.json"
    meta.write_text(
        json.dumps(
            {
                "name": "diabetes_harm_365d",
                "version": "7",
                "features": ["n_no_shows_365d"],
                "fingerprint": {"extract_hash": "abc", "extract_date": "2026-11-23"},
            }
        )
    )
    result = _invoke(
        "card", "--model", "diabetes_harm_365d@7", "--metadata", str(meta), "--json"
    )
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    markdown = Path(body["markdown"]).read_text(encoding="utf-8")
    assert "## TRIPOD+AI checklist" in markdown and "| 27 | Usability" in markdown
    assert (
        "missed appointments in the last year" in markdown
    )  # purpose from the catalogue
    assert "abc" in markdown and body["fairness_audit"] is None
    html = Path(body["html"]).read_text(encoding="utf-8")
    assert "http://" not in html and "https://" not in html


def test_card_missing_metadata_file_exits_1(isolated_env, tmp_path) -> None:
    result = _invoke(
        "card", "--model", "x@1", "--metadata", str(tmp_path / "nope.json")
    )
    assert result.exit_code == 1
    assert f"NotFoundError: No such file: {tmp_path / 'nope.json'}." in " ".join(
        result.output.split()
    )


def test_governance_pack_bundles_and_hashes(
    warehouse, fast_config, isolated_env, tmp_path
) -> None:
    db = warehouse("planted")
    assert _audit(db, fast_config, "--week", "2026-W48").exit_code == 0
    meta = tmp_path / "meta.json"
    meta.write_text(json.dumps({"name": "diabetes_harm_365d", "version": "3"}))
    card = _invoke("card", "--model", "diabetes_harm_365d@3", "--metadata", str(meta))
    assert card.exit_code == 0
    result = _invoke(
        "governance-pack",
        "--programme",
        PROGRAMME,
        "--db",
        str(db),
        "--date",
        "2026-11-30",
        "--json",
    )
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    folder = isolated_env / "governance" / PROGRAMME / "2026-11-30"
    assert Path(body["folder"]) == folder
    assert body["missing"] == []
    names = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert {
        "index.html",
        "manifest.json",
        "model_card.html",
        "model_card.md",
        "feature_catalogue.md",
        "data_protection.md",
        "audit_log_summary.md",
        "fairness/fairness.html",
        "fairness/fairness.json",
    } <= names
    manifest = json.loads((folder / "manifest.json").read_text())
    for rel, digest in manifest["files"].items():
        assert hashlib.sha256((folder / rel).read_bytes()).hexdigest() == digest
    assert "[Legal basis" in (folder / "data_protection.md").read_text()
    again = _invoke(
        "governance-pack",
        "--programme",
        PROGRAMME,
        "--db",
        str(db),
        "--date",
        "2026-11-30",
    )
    assert again.exit_code == 0
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]
