"""MonitorConfig: packaged TOML, validation with the one message template."""

from __future__ import annotations

from pathlib import Path

import pytest

from features.errors import ConfigError
from reports.monitor_config import MonitorConfig


def test_from_toml_packaged_defaults() -> None:
    config = MonitorConfig.from_toml()
    assert config.max_volume_drop == 0.30
    assert config.max_psi == 0.25
    assert config.recent_months == 3 and config.typical_months == 12


class TestErrorMessages:
    def test_bad_threshold(self, tmp_path: Path) -> None:
        path = tmp_path / "m.toml"
        path.write_text("[thresholds]\nmax_volume_drop = 1.5\n", encoding="utf-8")
        with pytest.raises(ConfigError) as info:
            MonitorConfig.from_toml(path)
        assert str(info.value) == (
            f"The 'thresholds.max_volume_drop' parameter of {path} must be a float in "
            "the range (0.0, 1.0]. Got 1.5 instead."
        )

    def test_unknown_key(self, tmp_path: Path) -> None:
        path = tmp_path / "m.toml"
        path.write_text("max_psy = 0.2\n", encoding="utf-8")
        with pytest.raises(
            ConfigError, match=r"has the unknown setting\(s\) \['max_psy'\]"
        ):
            MonitorConfig.from_toml(path)

    def test_override_validated(self) -> None:
        with pytest.raises(ConfigError, match="'recent_months' parameter"):
            MonitorConfig.from_toml().with_overrides(recent_months=0)


def test_packaged_calendar_features_name_their_reason() -> None:
    config = MonitorConfig.from_toml()
    for feature in ("history_days_lab_results", "diabetes_duration_years"):
        assert config.calendar_reason(feature), feature
    assert config.calendar_reason("hba1c_last_mmol_mol") is None


def test_calendar_feature_without_a_reason_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "m.toml"
    path.write_text('[calendar_features]\nx = ""\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        MonitorConfig.from_toml(path)
    assert str(info.value) == (
        f"{path}: [calendar_features] maps a feature name or pattern to the reason "
        "its drift raises no alert; 'x' has ''."
    )
