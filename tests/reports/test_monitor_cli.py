"""`opspor monitor` errors: one line `ErrorType: message`, the error's exit code."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from outreach.app.cli import app
from reports.monitor import NO_EXTRACT

runner = CliRunner()


class TestErrorMessages:
    def test_monitor_without_an_extract(self, isolated_env: Path) -> None:
        result = runner.invoke(app, ["monitor", "--programme", "diabetes_bus"])
        assert result.exit_code == 1
        assert result.stderr.strip() == f"NotFoundError: {NO_EXTRACT}"

    def test_monitor_bad_config(self, isolated_env: Path, tmp_path: Path) -> None:
        path = tmp_path / "m.toml"
        path.write_text("[thresholds]\nmax_psi = -1\n", encoding="utf-8")
        result = runner.invoke(
            app, ["monitor", "--programme", "diabetes_bus", "--config", str(path)]
        )
        assert result.exit_code == 2
        assert result.stderr.strip() == (
            f"ConfigError: The 'thresholds.max_psi' parameter of {path} must be a "
            "float in the range (0.0, 10.0]. Got -1 instead."
        )
