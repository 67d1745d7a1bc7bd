from __future__ import annotations

import hashlib

import pandas as pd
import pytest

from outreach.rank import fill_capacity, holdout_draw, risk_band, stop_for


def _eligible(rows: list[tuple[str, str, int]], week: str = "2026-W48") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "citizen_id": [r[0] for r in rows],
            "area": [r[1] for r in rows],
            "risk_rank": [r[2] for r in rows],
            "tie_key": [
                hashlib.md5(f"{r[0]}|{week}".encode()).hexdigest() for r in rows
            ],
        }
    )


def test_fill_capacity_respects_area_and_total_caps(make_programme) -> None:
    rows = [(f"A{i}", "390", i) for i in range(1, 11)] + [
        (f"B{i}", "376", 10 + i) for i in range(1, 11)
    ]
    plan = make_programme(capacity_per_week=6, capacity_per_area={"390": 2})
    selection = fill_capacity(_eligible(rows), plan, week="2026-W48", fetch_limit=100)
    listed = selection.listed
    assert len(listed) == 6
    assert listed["area"].value_counts().to_dict() == {"376": 4, "390": 2}
    assert listed["citizen_id"].tolist() == ["A1", "A2", "B1", "B2", "B3", "B4"]
    assert listed["rank"].tolist() == [1, 2, 3, 4, 5, 6]


def test_fill_capacity_breaks_ties_by_hash_of_id_and_week(make_programme) -> None:
    rows = [(f"T{i}", "390", 1) for i in range(8)]
    plan = make_programme(capacity_per_week=3, capacity_per_area={})
    first = fill_capacity(
        _eligible(rows), plan, week="2026-W48", fetch_limit=100
    ).listed
    shuffled = _eligible(rows).sample(frac=1, random_state=3)
    again = fill_capacity(shuffled, plan, week="2026-W48", fetch_limit=100).listed
    assert first["citizen_id"].tolist() == again["citizen_id"].tolist()
    expected = sorted(
        (hashlib.md5(f"T{i}|2026-W48".encode()).hexdigest(), f"T{i}") for i in range(8)
    )
    assert first["citizen_id"].tolist() == [c for _, c in expected[:3]]


def test_fill_capacity_holds_out_and_fills_from_next_ranks(make_programme) -> None:
    rows = [(f"C{i:03d}", "390", i) for i in range(1, 201)]
    plan = make_programme(capacity_per_week=40, capacity_per_area={}, holdout_share=0.5)
    selection = fill_capacity(_eligible(rows), plan, week="2026-W48", fetch_limit=200)
    listed, held = selection.listed, selection.held_out
    assert len(listed) == 40
    assert set(listed["citizen_id"]).isdisjoint(held["citizen_id"])
    assert 20 <= len(held) <= 70
    # every held-out citizen ranks within the band that was walked
    assert held["risk_rank"].max() <= listed["risk_rank"].max()
    expected = {
        c
        for c, _, _ in rows[: listed["risk_rank"].max()]
        if holdout_draw("test_bus", "2026-W48", c) < 0.5
    }
    assert set(held["citizen_id"]) == expected


def test_fill_capacity_reports_truncated_area(make_programme) -> None:
    rows = [(f"A{i}", "390", i) for i in range(1, 5)]
    plan = make_programme(capacity_per_week=10, capacity_per_area={}, holdout_share=0.5)
    selection = fill_capacity(_eligible(rows), plan, week="2026-W48", fetch_limit=4)
    assert selection.truncated_areas == ("390",)


def test_holdout_draw_is_stable_and_uniform() -> None:
    draws = [holdout_draw("p", "2026-W48", f"X{i}") for i in range(2000)]
    assert draws[:3] == [holdout_draw("p", "2026-W48", f"X{i}") for i in range(3)]
    assert 0.45 < sum(draws) / len(draws) < 0.55
    assert holdout_draw("p", "2026-W49", "X1") != holdout_draw("p", "2026-W48", "X1")


@pytest.mark.parametrize(
    ("percentile", "language", "label"),
    [
        (0.99, "en", "very high"),
        (0.95, "da", "meget høj"),
        (0.9, "en", "high"),
        (0.5, "da", "moderat"),
    ],
)
def test_risk_band_labels(percentile: float, language: str, label: str) -> None:
    assert risk_band(percentile, language) == label


def test_stop_for_groups_sites_by_kind_and_municipality() -> None:
    assert (
        stop_for("supported_housing", "360", by_site=True)
        == "supported_housing · Lolland"
    )
    assert stop_for("prison", "390", by_site=True) == "prison · Vordingborg"
    assert stop_for("own_home", "376", by_site=True) == "Guldborgsund"
    assert stop_for("shelter", "376", by_site=False) == "Guldborgsund"
    assert stop_for("own_home", "999", by_site=True) == "999"
