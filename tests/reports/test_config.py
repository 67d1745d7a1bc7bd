"""FairnessConfig: packaged defaults load; bad values fail with the pinned message."""

from __future__ import annotations

from pathlib import Path

import pytest

from features.errors import ConfigError
from reports.config import FairnessConfig


def test_from_toml_packaged_defaults() -> None:
    config = FairnessConfig.from_toml()
    names = [g.name for g in config.groupings]
    assert names[:2] == ["education_level", "education_split"]
    assert {
        "sex",
        "age_band",
        "origin",
        "living_situation",
        "has_smi",
        "gp_contact_level",
        "municipality_code",
        "education_x_sex",
        "education_x_age_band",
    } <= set(names)
    assert config.min_cell_size == 10
    assert config.grouping("education_level").reference == "long_tertiary"
    assert config.grouping("education_split").reference == "medium or long"
    assert config.grouping("gp_contact_level").flag == "gp_contact_bias"
    assert config.grouping("education_split").value_map["basic"] == "none or short"


def test_grouping_describe_uses_labels() -> None:
    config = FairnessConfig.from_toml()
    assert (
        config.grouping("education_level").describe("basic") == "with basic education"
    )
    assert config.grouping("age_band").describe("60-74") == "aged 60-74"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "fairness.toml"
    path.write_text(text, encoding="utf-8")
    return path


GROUPS = '[groupings.education_split]\ncolumn = "education_level"\n'


class TestErrorMessages:
    def test_min_cell_size_zero(self) -> None:
        with pytest.raises(ConfigError) as error:
            FairnessConfig.from_toml().with_overrides(min_cell_size=0)
        assert str(error.value) == (
            "The 'min_cell_size' parameter of reports/fairness.toml must be an int in "
            "the "
            "range [1, inf). Got 0 instead."
        )

    def test_ratio_threshold_out_of_range(self, tmp_path: Path) -> None:
        path = _write(tmp_path, "[thresholds]\nmin_recall_ratio = 1.5\n" + GROUPS)
        with pytest.raises(ConfigError) as error:
            FairnessConfig.from_toml(path)
        assert str(error.value) == (
            f"The 'thresholds.min_recall_ratio' parameter of {path} must be a float "
            "in the "
            "range (0.0, 1.0]. Got 1.5 instead."
        )

    def test_unknown_flag_adjustment(self, tmp_path: Path) -> None:
        path = _write(tmp_path, 'flag_adjustment = "holm"\n' + GROUPS)
        with pytest.raises(ConfigError) as error:
            FairnessConfig.from_toml(path)
        assert str(error.value) == (
            f"The 'flag_adjustment' parameter of {path} must be a str among "
            "['bonferroni', 'none']. Got 'holm' instead."
        )

    def test_unknown_metric(self, tmp_path: Path) -> None:
        path = _write(tmp_path, 'metrics = ["accuracy"]\n' + GROUPS)
        with pytest.raises(
            ConfigError, match="The 'metrics' parameter of .* Got 'accuracy' instead."
        ):
            FairnessConfig.from_toml(path)

    def test_confidence_open_at_both_ends(self) -> None:
        with pytest.raises(ConfigError) as error:
            FairnessConfig.from_toml().with_overrides(confidence=1.0)
        assert str(error.value) == (
            "The 'confidence' parameter of reports/fairness.toml must be a float in "
            "the range (0.0, 1.0). Got 1.0 instead."
        )

    def test_unknown_mitigation_grouping(self) -> None:
        with pytest.raises(ConfigError) as error:
            FairnessConfig.from_toml().with_overrides(mitigation_grouping="nope")
        assert str(error.value) == (
            "The 'mitigation_grouping' parameter of reports/fairness.toml must be the "
            "name of a grouping. Got 'nope' instead."
        )

    def test_unknown_severity_code(self) -> None:
        with pytest.raises(ConfigError) as error:
            FairnessConfig.from_toml().with_overrides(severity={"late": "breach"})
        assert str(error.value) == (
            "The 'severity' parameter of reports/fairness.toml must be a list of "
            "values among {'under_reach', 'gp_contact_bias', 'calibration_gap', "
            "'label_ascertainment'}. Got 'late' instead."
        )

    def test_not_flagged_names_an_unknown_grouping(self) -> None:
        with pytest.raises(ConfigError) as error:
            FairnessConfig.from_toml().with_overrides(
                ascertainment_not_flagged=("gp_contact",)
            )
        assert str(error.value) == (
            "The 'label_ascertainment.not_flagged' parameter of reports/fairness.toml "
            "must be a list of grouping names. Got 'gp_contact' instead."
        )

    def test_label_margin_must_be_below_one(self) -> None:
        with pytest.raises(ConfigError) as error:
            FairnessConfig.from_toml().with_overrides(ascertainment_margin=1.0)
        assert str(error.value) == (
            "The 'label_ascertainment.margin' parameter of reports/fairness.toml must "
            "be a float in the range [0.0, 1.0). Got 1.0 instead."
        )

    def test_intersection_of_unknown_grouping(self, tmp_path: Path) -> None:
        path = _write(
            tmp_path, GROUPS + '[groupings.x]\nof = ["education_split", "sex"]\n'
        )
        with pytest.raises(ConfigError) as error:
            FairnessConfig.from_toml(path)
        assert str(error.value) == (
            f"The grouping 'x' of {path} is built of 'sex', which is not a grouping "
            "defined before it."
        )

    def test_label_lookback_days_is_refused_with_what_replaced_it(
        self, tmp_path: Path
    ) -> None:
        path = _write(tmp_path, "[label_ascertainment]\nlookback_days = 730\n" + GROUPS)
        with pytest.raises(ConfigError) as error:
            FairnessConfig.from_toml(path)
        assert str(error.value) == (
            f"The 'lookback_days' setting in [label_ascertainment] of {path} is no "
            "longer read: the label check counts first records over the whole "
            "covered history of diagnoses and hospital contacts, from "
            "'washout_days' after its start. Remove it."
        )

    def test_label_section_refuses_an_unknown_setting(self, tmp_path: Path) -> None:
        path = _write(tmp_path, "[label_ascertainment]\nwashout_day = 30\n" + GROUPS)
        with pytest.raises(ConfigError) as error:
            FairnessConfig.from_toml(path)
        assert str(error.value) == (
            f"The 'washout_day' setting in [label_ascertainment] of {path} is not a "
            "known setting; known: margin, washout_days, not_flagged."
        )

    def test_label_section_reads_its_known_settings(self, tmp_path: Path) -> None:
        path = _write(
            tmp_path,
            "[label_ascertainment]\nmargin = 0.3\nwashout_days = 30\n" + GROUPS,
        )
        config = FairnessConfig.from_toml(path)
        assert (config.ascertainment_margin, config.ascertainment_washout_days) == (
            0.3,
            30,
        )
