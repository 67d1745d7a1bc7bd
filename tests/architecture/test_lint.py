"""The five packages stay ruff-clean; their SQL files stay short and lintable."""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_packages_pass_ruff() -> None:
    here = str(Path(sys.executable).parent)
    ruff = shutil.which("ruff", path=here) or shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed (it comes with the dev extra)")
    result = subprocess.run(
        [ruff, "check", "synthetic_data", "features", "models", "outreach", "reports"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout




def test_sql_files_are_at_most_80_lines() -> None:
    too_long = {
        str(sql.relative_to(ROOT)): len(sql.read_text(encoding="utf-8").splitlines())
        for package in ("synthetic_data", "features", "models", "outreach", "reports")
        for sql in (ROOT / package).rglob("*.sql")
    }
    assert {path: n for path, n in too_long.items() if n > 80} == {}


def _bound_parameters(sql: str) -> set[str]:
    """The ``$name`` parameters a SQL text binds (comments left out)."""
    return set(re.findall(r"\$([a-z_][a-z0-9_]*)", re.sub(r"--[^\n]*", "", sql)))


def test_sqlfluff_placeholders_cover_every_bound_parameter() -> None:
    """A parameter missing from .sqlfluff would be linted as a bare column name."""
    config = configparser.ConfigParser()
    config.read(ROOT / ".sqlfluff", encoding="utf-8")
    placeholders = set(config["sqlfluff:templater:placeholder"]) - {"param_style"}
    used = {
        name
        for package in ("features", "models", "outreach", "reports")
        for sql in (ROOT / package).rglob("*.sql")
        for name in _bound_parameters(sql.read_text(encoding="utf-8"))
    }
    assert used == placeholders


def test_bound_parameters_ignore_comments() -> None:
    sql = "-- reads $as_of\nselect * from t where d = $week and x = '$'"
    assert _bound_parameters(sql) == {"week"}
