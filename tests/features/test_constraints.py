"""features.constraints: each rule's bounds, its text, and the one message template."""

from __future__ import annotations

import re
from dataclasses import FrozenInstanceError

import pytest

from features.constraints import (
    BAD_PARAMETER,
    Rule,
    check_parameter,
    float_range,
    int_range,
    is_int,
    list_of,
    one_of,
    str_matching,
)
from features.errors import ConfigError


def test_rule_is_frozen_and_prints_its_text() -> None:
    rule = Rule("a bool", lambda v: isinstance(v, bool))
    assert str(rule) == "a bool"
    with pytest.raises(FrozenInstanceError):
        rule.text = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0, True), (-3, True), (True, False), (False, False), (1.0, False), ("1", False)],
)
def test_is_int_bool_is_not_an_int(value: object, expected: bool) -> None:
    assert is_int(value) is expected


def test_int_range_unbounded_above() -> None:
    rule = int_range(1)
    assert rule.text == "an int in the range [1, inf)"
    assert rule.ok(1) and rule.ok(10**9)
    assert not rule.ok(0)
    assert not rule.ok(True)
    assert not rule.ok(2.0)


def test_int_range_closed_both_ends() -> None:
    rule = int_range(1, 10)
    assert rule.text == "an int in the range [1, 10]"
    assert rule.ok(1) and rule.ok(10)
    assert not rule.ok(0) and not rule.ok(11)


def test_float_range_closed_by_default_and_takes_ints() -> None:
    rule = float_range(0.0, 0.5)
    assert rule.text == "a float in the range [0.0, 0.5]"
    assert rule.ok(0.0) and rule.ok(0.5) and rule.ok(0)
    assert not rule.ok(0.51) and not rule.ok(-0.01)
    assert not rule.ok(False)
    assert not rule.ok("0.1")


@pytest.mark.parametrize(
    ("closed_low", "closed_high", "text", "low_ok", "high_ok"),
    [
        (True, False, "a float in the range [0.05, 0.9)", True, False),
        (False, True, "a float in the range (0.05, 0.9]", False, True),
        (False, False, "a float in the range (0.05, 0.9)", False, False),
    ],
)
def test_float_range_open_bounds(
    closed_low: bool, closed_high: bool, text: str, low_ok: bool, high_ok: bool
) -> None:
    rule = float_range(0.05, 0.9, closed_low=closed_low, closed_high=closed_high)
    assert rule.text == text
    assert rule.ok(0.05) is low_ok
    assert rule.ok(0.9) is high_ok
    assert rule.ok(0.5)


def test_one_of_lists_options_in_the_given_order() -> None:
    rule = one_of(("sigmoid", "isotonic"))
    assert rule.text == "a str among ['sigmoid', 'isotonic']"
    assert rule.ok("isotonic")
    assert not rule.ok("Isotonic") and not rule.ok(None) and not rule.ok(["sigmoid"])


def test_str_matching_names_its_pattern() -> None:
    rule = str_matching(re.compile(r"^[a-z][a-z0-9_]*$"))
    assert rule.text == "a str matching ^[a-z][a-z0-9_]*$"
    assert rule.ok("has_smi")
    assert not rule.ok("Has_smi") and not rule.ok("1x") and not rule.ok(1)


def test_list_of_options_unique_and_empty() -> None:
    rule = list_of("a list of kinds", options=("a", "b"))
    assert rule.text == "a list of kinds"
    assert rule.ok([]) and rule.ok(["a", "b"]) and rule.ok(("b",))
    assert not rule.ok(["a", "a"])
    assert not rule.ok(["c"])
    assert not rule.ok("a")
    assert not rule.ok([["a"]])


def test_list_of_pattern_and_non_empty() -> None:
    rule = list_of("codes", pattern=re.compile(r"^[0-9]{3}$"), non_empty=True)
    assert rule.ok(["101", "253"])
    assert not rule.ok([])
    assert not rule.ok(["10"])
    assert not rule.ok([101])


def test_check_parameter_passes_a_valid_value() -> None:
    check_parameter(int_range(1), name="k", value=3, caller="x.toml")


class TestErrorMessages:
    def test_check_parameter_message_is_pinned(self) -> None:
        with pytest.raises(ConfigError) as error:
            check_parameter(int_range(1), name="capacity", value=0, caller="x.toml")
        assert str(error.value) == (
            "The 'capacity' parameter of x.toml must be an int in the range [1, inf). "
            "Got 0 instead."
        )

    def test_check_parameter_bool_is_refused_as_an_int(self) -> None:
        with pytest.raises(ConfigError) as error:
            check_parameter(int_range(1, 10), name="n", value=True, caller="Spec")
        assert str(error.value) == (
            "The 'n' parameter of Spec must be an int in the range [1, 10]. "
            "Got True instead."
        )

    def test_check_parameter_one_of_message_is_reproducible(self) -> None:
        with pytest.raises(ConfigError) as error:
            check_parameter(
                one_of(("da", "en")), name="language", value="de", caller="p.toml"
            )
        assert str(error.value) == (
            "The 'language' parameter of p.toml must be a str among ['da', 'en']. "
            "Got 'de' instead."
        )

    def test_bad_parameter_template_formats_a_rule(self) -> None:
        text = BAD_PARAMETER.format(
            name="x", caller="C", rule=float_range(0.0, 1.0), value=2.0
        )
        assert text == (
            "The 'x' parameter of C must be a float in the range [0.0, 1.0]. "
            "Got 2.0 instead."
        )
