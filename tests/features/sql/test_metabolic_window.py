"""feat_metabolic's 730-day recency: the same window at every as-of date.

days_since_hba1c_730d and days_since_lipid_test_730d read only the 730 days before
the as-of date (NULL = no test in them), so a test three years back reads the same
at an early and a late date, where the all-history recency grows with the history
(the SMI model's drift alert in the demo, issue 16).
"""

from __future__ import annotations

from datetime import date, timedelta

T = date(2024, 6, 1)
LATER = T + timedelta(days=730)


def _lab(cid: str, npu: str, day: date) -> dict:
    return {
        "citizen_id": cid,
        "npu_code": npu,
        "sample_date": day,
        "value": 5.0,
        "unit": "mmol/L",
    }


def test_recency_within_730_days_ignores_older_tests(make_raw, build, rows_of):
    make_raw(
        {
            "citizens": [{"citizen_id": c} for c in ("c1", "c2", "c3")],
            "lab_results": [
                _lab("c1", "NPU27300", T - timedelta(days=100)),  # HbA1c
                _lab("c1", "NPU01566", T - timedelta(days=730)),  # lipids, edge
                _lab("c2", "NPU27300", T - timedelta(days=731)),  # too old
                _lab("c2", "NPU01568", T - timedelta(days=5)),
                _lab("c3", "NPU27300", T),  # on the as-of date: not yet known
            ],
        }
    )
    build([T, LATER])
    cols = [
        "citizen_id",
        "as_of_date",
        "days_since_hba1c_730d",
        "days_since_lipid_test_730d",
        "days_since_lipid_test",
    ]
    rows = {
        (r["citizen_id"], r["as_of_date"]): r
        for r in rows_of("citizen.feat_metabolic", cols)
    }
    assert rows["c1", T]["days_since_hba1c_730d"] == 100
    assert rows["c1", T]["days_since_lipid_test_730d"] == 730
    assert rows["c2", T]["days_since_hba1c_730d"] is None
    assert rows["c2", T]["days_since_lipid_test_730d"] == 5
    assert rows["c3", T]["days_since_hba1c_730d"] is None
    assert rows["c3", LATER]["days_since_hba1c_730d"] == 730
    # two years on: the all-history recency grows, the windowed one has none
    assert rows["c1", LATER]["days_since_lipid_test"] == 1460
    assert rows["c1", LATER]["days_since_lipid_test_730d"] is None
