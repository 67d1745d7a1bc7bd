"""The shared metrics: bootstrap, top-k and weighted AUROC, against scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from models.metrics import (
    auroc_presorted,
    average_precision_presorted,
    bootstrap_counts,
    percentile_interval,
    tie_starts,
    top_k,
    top_k_events,
    weighted_auroc,
)

TOL = 1e-9


def _sorted(score: np.ndarray, y: np.ndarray, weights: np.ndarray):
    order = np.argsort(score, kind="stable")
    return y[order], weights[:, order], tie_starts(score[order])


def test_weighted_auroc_matches_sklearn_with_ties_and_weights() -> None:
    rng = np.random.default_rng(3)
    score = rng.integers(0, 5, 300) / 5.0  # many ties
    y = (rng.random(300) < 0.3).astype(float)
    weights = rng.integers(0, 3, size=(2, 300)).astype(float)
    got = weighted_auroc(score, y, weights)
    for row, value in zip(weights, got, strict=True):
        assert value == pytest.approx(
            roc_auc_score(y, score, sample_weight=row), abs=TOL
        )


def test_auroc_presorted_equals_weighted_auroc() -> None:
    rng = np.random.default_rng(4)
    score = rng.integers(0, 7, 200) / 7.0
    y = (rng.random(200) < 0.4).astype(float)
    weights = rng.integers(0, 3, size=(3, 200)).astype(float)
    assert np.array_equal(
        auroc_presorted(*_sorted(score, y, weights)), weighted_auroc(score, y, weights)
    )


def test_weighted_auroc_undefined_without_both_outcomes() -> None:
    score = np.array([0.1, 0.5, 0.9])
    assert np.isnan(weighted_auroc(score, np.ones(3), np.ones((1, 3))))[0]
    assert np.isnan(weighted_auroc(score[:0], np.ones(0), np.ones((2, 0)))).all()


def test_average_precision_matches_sklearn_with_weights() -> None:
    rng = np.random.default_rng(5)
    score = rng.random(300).round(2)  # some ties
    y = (rng.random(300) < score).astype(float)
    weights = rng.integers(0, 3, size=(2, 300)).astype(float)
    got = average_precision_presorted(*_sorted(score, y, weights))
    for row, value in zip(weights, got, strict=True):
        expected = average_precision_score(y, score, sample_weight=row)
        assert value == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("sampler", ["indices", "multinomial"])
def test_bootstrap_counts_same_seed_same_draws(sampler) -> None:
    draws = {
        seed: np.vstack(
            list(bootstrap_counts(50, n_bootstrap=130, seed=seed, sampler=sampler))
        )
        for seed in (5, 6)
    }
    again = np.vstack(
        list(bootstrap_counts(50, n_bootstrap=130, seed=5, sampler=sampler))
    )
    assert draws[5].shape == (130, 50)
    assert (draws[5].sum(axis=1) == 50).all()
    assert np.array_equal(draws[5], again)
    assert not np.array_equal(draws[5], draws[6])


def test_bootstrap_counts_samplers_draw_different_streams() -> None:
    # Each stage keeps its own stream so figures already published stay the same.
    first, second = (
        np.vstack(list(bootstrap_counts(40, n_bootstrap=10, seed=1, sampler=s)))
        for s in ("indices", "multinomial")
    )
    assert not np.array_equal(first, second)


def test_percentile_interval_is_null_when_draws_undefined() -> None:
    draws = np.column_stack([np.linspace(0, 1, 101), np.full(101, np.nan)])
    low, high = percentile_interval(draws, confidence=0.9)
    assert low[0] == pytest.approx(0.05) and high[0] == pytest.approx(0.95)
    assert np.isnan(low[1]) and np.isnan(high[1])


@pytest.mark.parametrize("seed", range(6))
def test_percentile_interval_equals_numpy_nanpercentile_bit_for_bit(seed: int) -> None:
    # Interval ends published before the vectorised version must not move.
    rng = np.random.default_rng(seed)
    for _ in range(40):
        n_draws, n_cells = int(rng.integers(1, 300)), int(rng.integers(1, 25))
        draws = rng.normal(size=(n_draws, n_cells)) * rng.choice([1e-3, 1.0, 1e6])
        if rng.random() < 0.5:
            draws = np.round(draws, 1)  # ties
        draws[rng.random(draws.shape) < rng.random(n_cells) * 0.9] = np.nan
        draws[rng.random(draws.shape) < 0.05] = np.inf
        confidence = float(rng.choice([0.5, 0.9, 0.95, 0.999]))
        low, high = percentile_interval(draws, confidence=confidence)
        clean = np.where(np.isfinite(draws), draws, np.nan)
        valid = np.isfinite(clean).mean(axis=0) >= 0.5
        assert np.isnan(low[~valid]).all() and np.isnan(high[~valid]).all()
        if valid.any():
            alpha = (1 - confidence) / 2
            want = np.nanpercentile(
                clean[:, valid], [100 * alpha, 100 * (1 - alpha)], axis=0
            )
            assert np.array_equal(low[valid], want[0])
            assert np.array_equal(high[valid], want[1])


def test_top_k_breaks_ties_by_position() -> None:
    score = np.array([0.2, 0.9, 0.5, 0.5, 0.5, 0.1])
    assert top_k(score, 3).tolist() == [False, True, True, True, False, False]
    assert top_k(score, 0).sum() == 0 and top_k(score, 99).all()


def test_top_k_events_counts_a_straddling_row_in_part() -> None:
    y = np.array([1.0, 0.0, 1.0, 1.0])  # in ranking order
    weights = np.array(
        [[1.0, 1.0, 1.0, 1.0], [2.0, 0.0, 1.0, 1.0], [0.0, 1.0, 2.0, 1.0]]
    )
    assert top_k_events(y, weights, 3).tolist() == [2.0, 3.0, 2.0]
    assert top_k_events(y, weights[:1], 1).tolist() == [1.0]
