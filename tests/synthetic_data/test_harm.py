"""Harm through time: the true risk is coherent and does not drift with index date."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from synthetic_data import load_profile
from synthetic_data.harm import index_days
from synthetic_data.population import Calendar


@pytest.fixture(scope="module")
def risk(region_30k, open_extract):
    return open_extract(region_30k)


def test_index_days_are_quarter_starts_over_four_years() -> None:
    cal = Calendar.from_profile(load_profile("region_small"))
    days = [
        date.fromordinal(date(1970, 1, 1).toordinal() + int(d)) for d in index_days(cal)
    ]
    assert days[0] == date(2023, 1, 1) and days[-1] == date(2026, 10, 1)
    assert len(days) == 16 and all(
        d.day == 1 and d.month in (1, 4, 7, 10) for d in days
    )


def test_simulate_harm_true_risk_matches_true_events(risk) -> None:
    """Mean true 365-day risk agrees with the share that had harm (calibrated truth)."""
    mean_risk, share, n = risk.execute("""
        select avg(true_risk_harm_365d), avg(true_event_harm_365d::int), count(*)
        from truth_risk""").fetchone()
    assert n > 10_000
    assert abs(mean_risk - share) < 0.1 * share


def test_simulate_harm_risk_orders_events(risk) -> None:
    """The top risk quintile has harm far more often than the bottom one."""
    rows = risk.execute("""
        select q, avg(true_event_harm_365d::int) from (
            select ntile(5) over (order by true_risk_harm_365d) as q,
                   true_event_harm_365d
            from truth_risk)
        group by 1 order by 1""").fetchall()
    assert rows[-1][1] > 3 * rows[0][1]


def test_simulate_harm_early_index_date_looks_like_late_one(risk) -> None:
    rates = risk.execute("""
        select index_date, avg(true_risk_harm_365d)
        from truth_risk group by 1 order by 1""").fetchall()
    first, last = rates[0][1], rates[-1][1]
    assert abs(first - last) < 0.1 * first


def test_simulate_harm_recorded_first_complications_are_steady_over_the_years(
    risk,
) -> None:
    """After known complications are re-recorded early, first records come steadily."""
    per_year = dict(
        risk.execute("""
        select year(first_day), count(*) from (
            select citizen_id, substr(code, 5, 1) as grp,
                   min(diagnosis_date) as first_day
            from diagnoses where regexp_matches(code, '^DE1[01][2-6]$') group by 1, 2)
        group by 1""").fetchall()
    )
    steady = [per_year[y] for y in (2022, 2023, 2024, 2025)]
    assert max(steady) < 1.5 * min(steady)
    assert per_year[2021] > 1.5 * max(
        steady
    )  # known complications re-recorded early in the history


def test_simulate_harm_truth_is_only_for_diabetics_at_risk(risk) -> None:
    bad = risk.execute("""
        select count(*) from truth_risk join truth using (citizen_id)
        where not has_diabetes or diabetes_onset_date >= index_date""").fetchone()[0]
    assert bad == 0


def test_simulate_harm_higher_hba1c_means_higher_risk(risk) -> None:
    low, high = risk.execute("""
        select avg(true_risk_harm_365d) filter (where t.hba1c_latent_mean < 50),
               avg(true_risk_harm_365d) filter (where t.hba1c_latent_mean > 65)
        from truth_risk join truth t using (citizen_id)""").fetchone()
    assert np.isfinite(low) and high > 1.5 * low


def test_simulate_harm_engagement_harm_effect_knob_weakens_engagement_gradient(
    generate, open_extract
) -> None:
    """engagement_harm_effect = 0 leaves engagement only its HbA1c path to harm."""

    def low_over_high(result) -> float:
        rows = (
            open_extract(result)
            .execute("""
            with tiles as (
                select ntile(3) over (order by t.engagement) as tertile,
                       r.true_risk_harm_365d as risk
                from truth_risk r join truth t using (citizen_id))
            select tertile, avg(risk) from tiles group by 1 order by 1""")
            .fetchall()
        )
        return rows[0][1] / rows[-1][1]

    default = low_over_high(generate("region_small", fmt="parquet"))
    weak = low_over_high(
        generate("region_small", fmt="parquet", engagement_harm_effect=0.0)
    )
    assert default > 1.5, default
    assert 1.0 < weak < default - 0.3, (weak, default)
