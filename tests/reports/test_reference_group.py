"""Which group each group is compared with, and when the audit warns about it."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from reports.config import Grouping
from reports.fairness.cells import reference_index


def _grouping(reference: str) -> Grouping:
    return Grouping(
        name="has_smi", column="has_smi", reference=reference, phrase="{group}"
    )


def test_absent_reference_among_several_groups_warns(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="reports.fairness.cells"):
        refs = reference_index(_grouping("no"), ["a", "b"], np.array([3.0, 7.0]))
    assert refs == [1, 1]
    assert "Reference group of has_smi absent" in caplog.text


def test_a_single_group_is_not_warned_about(caplog: pytest.LogCaptureFixture) -> None:
    """An SMI cohort is all has_smi = yes: nothing to compare, nothing to warn about."""
    with caplog.at_level(logging.WARNING, logger="reports.fairness.cells"):
        refs = reference_index(_grouping("no"), ["yes"], np.array([1277.0]))
    assert refs == [0]
    assert caplog.text == ""


def test_present_reference_is_used() -> None:
    refs = reference_index(_grouping("b"), ["a", "b", "c"], np.array([9.0, 1.0, 2.0]))
    assert refs == [1, 1, 1]
