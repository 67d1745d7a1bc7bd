"""SyntheticProfile: built-in profiles load; bad values fail with the pinned text."""

from __future__ import annotations

import dataclasses
import re
import tomllib
from importlib import resources
from pathlib import Path

import pytest

from synthetic_data import ProfileError, SyntheticProfile, load_profile
from synthetic_data.profile import CONSTRAINTS

PROFILES = ["region_small", "region_demo"]


def _toml_text(name: str) -> str:
    return (resources.files("synthetic_data") / "profiles" / f"{name}.toml").read_text(
        encoding="utf-8"
    )


def _write_variant(tmp_path: Path, old: str, new: str) -> Path:
    text = _toml_text("region_small")
    assert old in text
    path = tmp_path / "x.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize("name", PROFILES)
def test_load_profile_builtin_is_valid(name: str) -> None:
    profile = load_profile(name)
    assert isinstance(profile, SyntheticProfile)
    assert profile.name == name
    assert profile.caller == f"profiles/{name}.toml"


def test_load_profile_sizes_fit_their_use() -> None:
    assert 3_000 <= load_profile("region_small").citizens <= 5_000
    assert 20_000 <= load_profile("region_demo").citizens <= 50_000


@pytest.mark.parametrize("name", PROFILES)
def test_load_profile_has_real_municipalities_with_the_bus_ones(name: str) -> None:
    codes = [m["code"] for m in load_profile(name).municipalities]
    assert 10 <= len(codes) <= 20
    assert {"390", "376", "360"} <= set(codes)


def test_load_profile_overrides_citizens_and_seed() -> None:
    profile = load_profile("region_small", citizens=123, seed=9)
    assert (profile.citizens, profile.seed) == (123, 9)


def test_load_profile_citizens_zero_message() -> None:
    with pytest.raises(ProfileError) as caught:
        load_profile("region_small", citizens=0)
    assert str(caught.value) == (
        "The 'citizens' parameter of profiles/region_small.toml must be an int in "
        "the range [1, inf). Got 0 instead."
    )


def test_load_profile_unknown_name_message() -> None:
    with pytest.raises(ProfileError) as caught:
        load_profile("region_huge")
    assert str(caught.value) == (
        "Unknown profile 'region_huge': expected one of region_demo, region_small "
        "or a path to a .toml file."
    )


def test_from_toml_share_out_of_range_message(tmp_path: Path) -> None:
    path = _write_variant(tmp_path, "female_share = 0.503", "female_share = 1.5")
    with pytest.raises(ProfileError) as caught:
        load_profile(path)
    assert str(caught.value) == (
        f"The 'female_share' parameter of {path} must be a float in the range "
        "[0.0, 1.0]. Got 1.5 instead."
    )


def test_from_toml_bool_knob_message(tmp_path: Path) -> None:
    path = _write_variant(
        tmp_path, "ascertainment_bias = false", 'ascertainment_bias = "yes"'
    )
    with pytest.raises(ProfileError) as caught:
        SyntheticProfile.from_toml(path, caller="profiles/x.toml")
    assert str(caught.value) == (
        "The 'ascertainment_bias' parameter of profiles/x.toml must be an instance "
        "of 'bool'. Got 'yes' instead."
    )


def test_from_toml_missing_parameter_message(tmp_path: Path) -> None:
    path = _write_variant(tmp_path, "no_gp_share = 0.015", "")
    with pytest.raises(ProfileError) as caught:
        SyntheticProfile.from_toml(path, caller="profiles/x.toml")
    assert (
        str(caught.value)
        == "The 'no_gp_share' parameter of profiles/x.toml is missing."
    )


def test_from_toml_unknown_parameter_message(tmp_path: Path) -> None:
    path = _write_variant(
        tmp_path, "no_gp_share = 0.015", "no_gp_share = 0.015\nno_gp = 1"
    )
    with pytest.raises(ProfileError) as caught:
        SyntheticProfile.from_toml(path, caller="profiles/x.toml")
    assert (
        str(caught.value)
        == "The 'no_gp' parameter of profiles/x.toml is not a profile parameter."
    )


def test_from_toml_bad_municipality_code_is_refused(tmp_path: Path) -> None:
    path = _write_variant(tmp_path, 'code = "390"', 'code = "39"')
    with pytest.raises(
        ProfileError, match=r"^The 'municipalities' parameter of .* must be a list"
    ):
        load_profile(path)


def test_from_toml_unreadable_file_message(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("citizens = = 3", encoding="utf-8")
    with pytest.raises(
        ProfileError, match=r"^The profile .*broken.toml cannot be read: "
    ):
        load_profile(path)


def test_replace_revalidates() -> None:
    with pytest.raises(ProfileError, match="'engagement_education_gradient' parameter"):
        dataclasses.replace(
            load_profile("region_small"), engagement_education_gradient=-1.0
        )


def test_replace_engagement_harm_effect_out_of_range_raises() -> None:
    with pytest.raises(ProfileError) as error:
        dataclasses.replace(load_profile("region_small"), engagement_harm_effect=-0.5)
    assert str(error.value) == (
        "The 'engagement_harm_effect' parameter of profiles/region_small.toml must be "
        "a float in the range [0.0, 5.0]. Got -0.5 instead."
    )


@pytest.mark.parametrize("name", PROFILES)
def test_profile_cites_a_source_or_assumption_for_every_figure(name: str) -> None:
    """Every parameter line, or the comment block just above it, carries a comment."""
    lines = _toml_text(name).splitlines()
    uncited = []
    for parameter in CONSTRAINTS:
        at = next(
            i
            for i, line in enumerate(lines)
            if re.match(rf"^\[*[\w.]*{parameter}\b", line)
        )
        context = lines[max(at - 4, 0) : at + 1]
        if not any("#" in line for line in context):
            uncited.append(parameter)
    assert uncited == []


def test_profiles_differ_only_in_documented_ways() -> None:
    small = tomllib.loads(_toml_text("region_small"))
    demo = tomllib.loads(_toml_text("region_demo"))
    differ = {
        (section, key)
        for section in demo
        for key in demo[section]
        if demo[section][key] != small[section][key]
    }
    assert differ == {
        ("extract", "name"),
        ("extract", "source"),
        ("extract", "seed"),
        ("population", "citizens"),
        ("disease", "diabetes_oversampling"),
        ("disease", "smi_prevalence_by_age"),
    }
