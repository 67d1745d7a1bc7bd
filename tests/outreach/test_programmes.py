from __future__ import annotations

import dataclasses
import tomllib
from importlib import resources
from pathlib import Path

import pytest

from features.errors import ConfigError, NotFoundError
from outreach.programmes import Programme, available_programmes, load_programme


def _shipped(name: str) -> dict:
    text = (
        resources.files("outreach")
        .joinpath("programmes", f"{name}.toml")
        .read_text("utf-8")
    )
    return tomllib.loads(text)


def _write(tmp_path: Path, data: dict, name: str = "my_bus") -> Path:
    lines = []
    for key, value in data.items():
        if isinstance(value, dict):
            inner = ", ".join(f'"{k}" = {v}' for k, v in value.items())
            lines.append(f"{key} = {{ {inner} }}")
        elif isinstance(value, bool):
            lines.append(f"{key} = {'true' if value else 'false'}")
        elif isinstance(value, str):
            lines.append(f'{key} = """{value}"""')
        elif isinstance(value, list):
            items = ", ".join(f'"{v}"' for v in value)
            lines.append(f"{key} = [{items}]")
        else:
            lines.append(f"{key} = {value}")
    path = tmp_path / f"{name}.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def test_load_programme_ships_both_programmes() -> None:
    assert available_programmes() == ["diabetes_bus", "smi_somatic_screening"]
    bus = load_programme("diabetes_bus")
    assert bus.municipalities == ("390", "376", "360")
    assert bus.model_name == "diabetes_harm_365d"
    assert sum(bus.capacity_per_area.values()) <= bus.capacity_per_week == 40
    smi = load_programme("smi_somatic_screening")
    assert smi.cohort == "has_smi" and smi.model_name == "smi_somatic_365d"
    assert 0 < smi.holdout_share <= 0.5


def test_load_programme_reads_a_copied_file(tmp_path: Path) -> None:
    data = {**_shipped("diabetes_bus"), "name": "my_bus", "capacity_per_week": 50}
    programme = load_programme(_write(tmp_path, data))
    assert programme.name == "my_bus" and programme.capacity_per_week == 50


def test_load_programme_unknown_name() -> None:
    with pytest.raises(NotFoundError) as error:
        load_programme("no_such_bus")
    assert str(error.value) == (
        "Unknown programme 'no_such_bus'. Available: ['diabetes_bus', "
        "'smi_somatic_screening']."
    )


class TestErrorMessages:
    def test_capacity_zero_message_is_pinned(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        data = {
            **_shipped("diabetes_bus"),
            "capacity_per_week": 0,
            "capacity_per_area": {},
        }
        path = _write(tmp_path, data, name="diabetes_bus")
        with pytest.raises(ConfigError) as error:
            Programme.from_toml(path, caller="outreach/programmes/diabetes_bus.toml")
        assert str(error.value) == (
            "The 'capacity_per_week' parameter of "
            "outreach/programmes/diabetes_bus.toml "
            "must be an int in the range [1, inf). Got 0 instead."
        )

    def test_area_capacities_over_total(self) -> None:
        with pytest.raises(ConfigError) as error:
            Programme.from_mapping(
                {
                    **_shipped("diabetes_bus"),
                    "capacity_per_area": {"390": 20, "376": 20, "360": 20},
                },
                caller="outreach/programmes/diabetes_bus.toml",
            )
        assert str(error.value) == (
            "The per-area capacities of outreach/programmes/diabetes_bus.toml add "
            "up to 60, "
            "more than capacity_per_week = 40."
        )

    def test_area_outside_municipalities(self) -> None:
        with pytest.raises(ConfigError) as error:
            Programme.from_mapping(
                {**_shipped("diabetes_bus"), "capacity_per_area": {"101": 5}},
                caller="x.toml",
            )
        assert str(error.value) == (
            "The 'capacity_per_area' parameter of x.toml names municipality '101', "
            "which is not in 'municipalities'."
        )

    def test_audit_only_column_refused(self) -> None:
        base = Programme.from_mapping(_shipped("diabetes_bus"), caller="x.toml")
        with pytest.raises(ConfigError) as error:
            dataclasses.replace(base, columns=("rank", "education_level"))
        assert str(error.value) == (
            "The 'columns' parameter of x.toml names 'education_level': "
            "education level and origin are used to audit, not to list."
        )

    def test_holdout_share_range(self) -> None:
        with pytest.raises(ConfigError) as error:
            Programme.from_mapping(
                {**_shipped("diabetes_bus"), "holdout_share": 0.9}, caller="x.toml"
            )
        assert str(error.value) == (
            "The 'holdout_share' parameter of x.toml must be a float in the range "
            "[0.0, 0.5]. "
            "Got 0.9 instead."
        )

    def test_unknown_key(self) -> None:
        with pytest.raises(ConfigError) as error:
            Programme.from_mapping(
                {**_shipped("diabetes_bus"), "capacity": 3}, caller="x.toml"
            )
        assert str(error.value).startswith(
            "x.toml has unknown parameter(s) ['capacity']; allowed: ["
        )

    def test_missing_required(self) -> None:
        data = {k: v for k, v in _shipped("diabetes_bus").items() if k != "model_name"}
        with pytest.raises(ConfigError) as error:
            Programme.from_mapping(data, caller="x.toml")
        assert (
            str(error.value)
            == "The 'model_name' parameter of x.toml is required but missing."
        )

    def test_bool_is_not_an_int(self) -> None:
        with pytest.raises(ConfigError) as error:
            Programme.from_mapping(
                {**_shipped("diabetes_bus"), "reasons_per_citizen": True},
                caller="x.toml",
            )
        assert str(error.value) == (
            "The 'reasons_per_citizen' parameter of x.toml must be an int in the "
            "range [1, 10]. "
            "Got True instead."
        )

    def test_name_must_match_file(self, tmp_path: Path) -> None:
        path = _write(tmp_path, _shipped("diabetes_bus"), name="other")
        with pytest.raises(ConfigError) as error:
            Programme.from_toml(path)
        assert (
            str(error.value)
            == f"The 'name' parameter of {path} must match its file name 'other'."
        )

    def test_unknown_cohort_lists_flags_in_order(self) -> None:
        with pytest.raises(ConfigError) as error:
            Programme.from_mapping(
                {**_shipped("diabetes_bus"), "cohort": "has_flu"}, caller="x.toml"
            )
        assert str(error.value) == (
            "The 'cohort' parameter of x.toml must be a str among ['has_diabetes', "
            "'has_smi', 'has_copd', 'has_heart_disease', 'has_cancer', "
            "'has_chronic_back_pain']. Got 'has_flu' instead."
        )

    def test_unknown_reasons_language(self) -> None:
        with pytest.raises(ConfigError) as error:
            Programme.from_mapping(
                {**_shipped("diabetes_bus"), "reasons_language": "de"}, caller="x.toml"
            )
        assert str(error.value) == (
            "The 'reasons_language' parameter of x.toml must be a str among "
            "['da', 'en']. Got 'de' instead."
        )

    def test_empty_columns_refused(self) -> None:
        with pytest.raises(ConfigError) as error:
            Programme.from_mapping(
                {**_shipped("diabetes_bus"), "columns": []}, caller="x.toml"
            )
        assert str(error.value) == (
            "The 'columns' parameter of x.toml must be a non-empty list of columns "
            "among ['rank', 'citizen_id', 'area', 'stop', 'preferred_language', "
            "'risk_band', 'reasons', 'last_contact']. Got [] instead."
        )

    def test_unknown_relevant_control(self) -> None:
        with pytest.raises(ConfigError) as error:
            Programme.from_mapping(
                {**_shipped("diabetes_bus"), "relevant_controls": ["dentist"]},
                caller="x.toml",
            )
        assert str(error.value) == (
            "The 'relevant_controls' parameter of x.toml must be a list of appointment "
            "kinds among ['diabetes_annual_control', 'diabetes_control', "
            "'eye_screening', 'foot_examination', 'copd_control', "
            "'heart_outpatient', 'psychiatric_outpatient', 'gp_consultation', "
            "'rehabilitation']. Got ['dentist'] instead."
        )


class TestReachAgainst:
    def test_smi_programme_names_the_gp_journal(self) -> None:
        smi = load_programme("smi_somatic_screening")
        assert smi.reach_against == ("smi_somatic_365d_gp@champion",)
        assert load_programme("diabetes_bus").reach_against == ()

    @pytest.mark.parametrize(
        "refs",
        [
            ["no_such_model@champion"],
            ["smi_somatic_365d_gp@"],
            ["diabetes_harm_365d@1", "diabetes_harm_365d@1"],
            "x@1",
        ],
    )
    def test_unknown_or_malformed_reference_names_the_file(
        self, tmp_path: Path, refs: object
    ) -> None:
        data = {**_shipped("diabetes_bus"), "reach_against": refs}
        with pytest.raises(ConfigError) as error:
            Programme.from_mapping(data, caller="outreach/programmes/diabetes_bus.toml")
        assert str(error.value).startswith(
            "The 'reach_against' parameter of outreach/programmes/diabetes_bus.toml "
            "must be a list of unique model references NAME[@ALIAS or @VERSION] "
            "whose NAME is a spec in models/specs/ (diabetes_acute_harm_365d, "
        )
        assert str(error.value).endswith(f"Got {refs!r} instead.")

    def test_a_version_or_bare_name_is_accepted(self) -> None:
        data = {
            **_shipped("diabetes_bus"),
            "reach_against": ["diabetes_harm_365d_rule@2", "diabetes_acute_harm_365d"],
        }
        programme = Programme.from_mapping(data, caller="x.toml")
        assert programme.reach_against == (
            "diabetes_harm_365d_rule@2",
            "diabetes_acute_harm_365d",
        )


@pytest.mark.parametrize(
    ("given", "used"),
    [((), ("smi_somatic_365d_gp@champion",)), (("other@2",), ("other@2",))],
)
def test_audit_uses_the_programme_references_unless_given(
    monkeypatch: pytest.MonkeyPatch, given: tuple[str, ...], used: tuple[str, ...]
) -> None:
    from features.settings import EngineSettings
    from reports import stages

    seen: dict[str, object] = {}
    monkeypatch.setattr(stages.audit, "run_audit", lambda _s, **kw: seen.update(kw))
    request = stages.AuditRequest(
        load_programme("smi_somatic_screening"),
        model="smi_somatic_365d@1",
        reach_against=given,
    )
    stages.run_audit(EngineSettings(), request)
    assert seen["reach_against"] == used
    assert seen["programme"] == "smi_somatic_screening"
