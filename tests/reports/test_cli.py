"""`opspor audit | card | governance-pack` end to end on a hand-made warehouse."""

from __future__ import annotations

import hashlib
import json
import re
from importlib import resources
from pathlib import Path
from typing import Any

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


@pytest.fixture(scope="module")
def warehouses(frames, make_warehouse, tmp_path_factory) -> dict[str, Path]:
    """One hand-made warehouse per region, shared: the CLI only reads them."""
    folder = tmp_path_factory.mktemp("warehouses")
    paths = {kind: folder / f"{kind}.duckdb" for kind in frames}
    for kind, path in paths.items():
        make_warehouse(path, frames[kind], k=40, programme=PROGRAMME)
    return paths


@pytest.fixture
def warehouse(warehouses, isolated_env):
    return warehouses.__getitem__


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


def _governance_pack(db: Path, *extra: str):
    return _invoke("governance-pack", "--programme", PROGRAMME, "--db", str(db), *extra)


@pytest.fixture(scope="module")
def planted_run(warehouses, fast_config, tmp_path_factory) -> dict[str, Any]:
    """Every command on the planted region, run once into one output root.

    The tests below read these results and files: the audit of a week with and
    without the gate, the audit of a model, a card, and the governance pack
    (twice, for idempotence).
    """
    root = tmp_path_factory.mktemp("planted") / "build"
    db = warehouses["planted"]
    meta = root.parent / "meta.json"
    meta.write_text(
        json.dumps(
            {
                "name": "diabetes_harm_365d",
                "version": "3",
                "metrics": {"roc_auc": {"value": 0.7, "ci_low": 0.6, "ci_high": 0.8}},
            }
        )
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OPSPOR_OUTPUT_DIR", str(root))
        for name in ("OPSPOR_DB", "MLFLOW_TRACKING_URI", "OPSPOR_MLFLOW_URI"):
            patch.delenv(name, raising=False)
        week = ("--week", "2026-W48")
        dated = ("--date", "2026-11-30")
        return {
            "root": root,
            "gated": _audit(db, fast_config, *week, "--fail-on-breach", "--json"),
            "week": _audit(db, fast_config, *week),
            "model": _audit(db, fast_config, "--model", "diabetes_harm_365d@3"),
            "card": _invoke(
                "card", "--model", "diabetes_harm_365d@3", "--metadata", str(meta)
            ),
            "pack": _governance_pack(db, *dated, "--json"),
            "pack_again": _governance_pack(db, *dated),
        }


def test_audit_fail_on_breach_exits_3(planted_run) -> None:
    result = planted_run["gated"]
    assert result.exit_code == 3, result.output
    body = json.loads(result.stdout.strip().splitlines()[-1])
    assert body["error"] == "FairnessBreachError"
    assert body["n_breaches"] >= 1
    folder = planted_run["root"] / "reports" / PROGRAMME / "2026-W48"
    assert sorted(p.name for p in folder.iterdir()) == [
        "fairness.html",
        "fairness.json",
        "fairness.pdf",
    ]


def test_audit_without_fail_on_breach_exits_0(planted_run) -> None:
    result = planted_run["week"]
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


def test_reports_contain_no_citizen_id(planted_run) -> None:
    for step in ("week", "model", "card", "pack"):
        assert planted_run[step].exit_code == 0, planted_run[step].output
    written = [p for p in planted_run["root"].rglob("*") if p.is_file()]
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


def test_governance_pack_bundles_and_hashes(planted_run) -> None:
    for step in ("week", "card"):
        assert planted_run[step].exit_code == 0, planted_run[step].output
    result = planted_run["pack"]
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    folder = planted_run["root"] / "governance" / PROGRAMME / "2026-11-30"
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
    assert planted_run["pack_again"].exit_code == 0
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]


def test_audit_reach_against_flags_a_group_the_reference_reaches_better(
    warehouses, fast_config, isolated_env, tmp_path
) -> None:
    """A model blind to citizens aged 75+, audited against the one that sees them."""
    import shutil

    import duckdb

    db = tmp_path / "reach.duckdb"
    shutil.copy(warehouses["balanced"], db)
    con = duckdb.connect(str(db))
    con.execute(
        "insert into scoring.scores by name select s.citizen_id, s.as_of_date,"
        " 'models:/blind/1' as model_uri, case when a.age_band = '75+' then 0"
        " else s.risk_score end as risk_score, 0 as risk_rank"
        " from scoring.scores s join marts.audit_attributes a"
        " using (citizen_id, as_of_date)"
    )
    con.close()
    result = _audit(
        db,
        fast_config,
        "--model",
        "blind@1",
        "--outcome",
        "diabetes_harm_365d",
        "--k",
        "400",
        "--reach-against",
        "diabetes_harm_365d@3",
        "--json",
    )
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    report = json.loads(Path(body["json"]).read_text(encoding="utf-8"))
    reach = [f for f in report["flags"] if f["metric"] == "recall_at_k_vs_ranking"]
    flagged = {(f["grouping"], f["group"]) for f in reach}
    assert ("age_band", "75+") in flagged
    # Only citizens aged 75+, alone or within an intersection, are reached less.
    assert all(group.endswith("75+") for _, group in flagged)
    assert {f["code"] for f in reach} == {"under_reach"}
    assert all(f["estimate"] == 0.0 for f in reach)
    cells = report["reach_against"]["references"]["diabetes_harm_365d@3"]["age_band"]
    assert {c["group"] for c in cells} >= {"75+"}


def test_audit_prints_each_reach_flag(tmp_path) -> None:
    from datetime import date

    from outreach.app.cli.reports import _render_audit
    from reports.audit import AuditResult

    flag = {
        "code": "under_reach",
        "grouping": "gp_contact_level",
        "group": "none",
        "metric": "recall_at_k_vs_ranking",
        "message": "Citizens with no GP contact ... 0.29 times as likely ...",
    }
    other = {**flag, "code": "calibration_gap", "metric": "calibration_in_the_large"}
    result = AuditResult(
        "smi_somatic_screening", "smi_somatic_365d@1", "models:/smi_somatic_365d/1",
        date(2025, 11, 24), 25, 400, 25, 400, 2, 2, tmp_path, tmp_path / "f.html",
        tmp_path / "f.pdf", tmp_path / "f.json", flags=[flag, other],
    )  # fmt: skip
    lines = _render_audit(result).splitlines()
    assert lines[0].startswith("Audit smi_somatic_screening/smi_somatic_365d@1")
    assert lines[1:] == [
        "  under_reach against a reference ranking (gp_contact_level: none): "
        "Citizens with no GP contact ... 0.29 times as likely ..."
    ]
