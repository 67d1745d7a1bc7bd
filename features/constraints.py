"""Parameter constraints: the one set of rules behind every settings object.

Settings objects further down the data flow (:class:`models.spec.ModelSpec`,
:class:`outreach.programmes.Programme`, :class:`reports.config.FairnessConfig`)
declare a table ``name -> Rule`` (scikit-learn's ``_parameter_constraints``) built
from these helpers, and check each value with :func:`check_parameter` when they
are built. A bad value therefore fails at load with the one template
:data:`BAD_PARAMETER`, whose text the tests pin. Rule texts are deterministic:
choices print as a list in the order given, never as a set.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeGuard

from features.errors import ConfigError

__all__ = [
    "BAD_PARAMETER",
    "Rule",
    "check_parameter",
    "float_range",
    "int_range",
    "is_int",
    "list_of",
    "one_of",
    "str_matching",
]

BAD_PARAMETER = (
    "The {name!r} parameter of {caller} must be {rule}. Got {value!r} instead."
)


@dataclass(frozen=True)
class Rule:
    """One constraint: its text in messages and its check.

    Parameters
    ----------
    text : str
        What a valid value is, as it reads after "must be" in :data:`BAD_PARAMETER`.
    ok : callable
        Predicate that is true for a valid value.
    """

    text: str
    ok: Callable[[Any], bool]

    def __str__(self) -> str:
        return self.text


def is_int(value: Any) -> TypeGuard[int]:
    """Tell whether ``value`` is an int (a bool is not, although Python says so).

    Parameters
    ----------
    value : Any
        The value to test.

    Returns
    -------
    bool
        True for an ``int`` that is not a ``bool``.
    """
    return isinstance(value, int) and not isinstance(value, bool)


def int_range(low: int, high: int | None = None) -> Rule:
    """Build the rule "an int in the range [low, high]".

    Parameters
    ----------
    low : int
        Smallest allowed value (included).
    high : int or None, default None
        Largest allowed value (included); ``None`` means no upper bound,
        written ``inf)``.

    Returns
    -------
    Rule
    """
    top = "inf)" if high is None else f"{high}]"
    return Rule(
        f"an int in the range [{low}, {top}",
        lambda v: is_int(v) and v >= low and (high is None or v <= high),
    )


def float_range(
    low: float, high: float, *, closed_low: bool = True, closed_high: bool = True
) -> Rule:
    """Build the rule "a float in the range [low, high]"; an int is accepted too.

    Parameters
    ----------
    low, high : float
        The bounds.
    closed_low, closed_high : bool, default True
        Whether each bound is allowed; an open bound is written ``(`` or ``)``.

    Returns
    -------
    Rule
    """
    left = "[" if closed_low else "("
    right = "]" if closed_high else ")"

    def ok(v: Any) -> bool:
        if not isinstance(v, int | float) or isinstance(v, bool):
            return False
        above = low <= v if closed_low else low < v
        below = v <= high if closed_high else v < high
        return above and below

    return Rule(f"a float in the range {left}{low}, {high}{right}", ok)


def one_of(options: Sequence[str]) -> Rule:
    """Build the rule "a str among [...]", listing the options in the order given.

    Parameters
    ----------
    options : sequence of str
        The allowed values.

    Returns
    -------
    Rule
    """
    allowed = tuple(options)
    return Rule(
        f"a str among {list(allowed)}", lambda v: isinstance(v, str) and v in allowed
    )


def str_matching(pattern: re.Pattern[str]) -> Rule:
    """Build the rule "a str matching <pattern>".

    Parameters
    ----------
    pattern : re.Pattern
        Compiled pattern the whole value must match from its start.

    Returns
    -------
    Rule
    """
    return Rule(
        f"a str matching {pattern.pattern}",
        lambda v: isinstance(v, str) and pattern.match(v) is not None,
    )


def list_of(
    text: str,
    *,
    options: Sequence[str] | None = None,
    pattern: re.Pattern[str] | None = None,
    non_empty: bool = False,
) -> Rule:
    """Build a rule for a list (or tuple) of unique strs.

    Parameters
    ----------
    text : str
        The rule's text in messages (say what the items are).
    options : sequence of str, optional
        When given, every item must be one of them.
    pattern : re.Pattern, optional
        When given, every item must match it.
    non_empty : bool, default False
        Whether an empty list is refused.

    Returns
    -------
    Rule
    """
    allowed = None if options is None else tuple(options)

    def ok(v: Any) -> bool:
        if not isinstance(v, list | tuple) or (non_empty and not v):
            return False
        if not all(isinstance(x, str) for x in v) or len(set(v)) != len(v):
            return False
        return all(
            (allowed is None or x in allowed)
            and (pattern is None or pattern.match(x) is not None)
            for x in v
        )

    return Rule(text, ok)


def check_parameter(rule: Rule, *, name: str, value: Any, caller: str) -> None:
    """Raise the pinned ConfigError when ``value`` breaks ``rule``.

    Parameters
    ----------
    rule : Rule
        The constraint of the parameter.
    name : str
        The parameter's name, as the user wrote it.
    value : Any
        The value to check.
    caller : str
        Who is asking (a file path or a class name), named in the message.

    Raises
    ------
    ConfigError
        ``rule.ok(value)`` is false; the message is :data:`BAD_PARAMETER`.
    """
    if not rule.ok(value):
        raise ConfigError(
            BAD_PARAMETER.format(name=name, caller=caller, rule=rule.text, value=value)
        )
