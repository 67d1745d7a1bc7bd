"""The training reference of features: deciles and shares (issue 16)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from models.reference import bin_shares, feature_reference, read_feature_reference
from models.tracking import PersonDataError, log_run_text
from tests.models.conftest import Trained


def test_feature_reference_deciles_by_hand() -> None:
    frame = pd.DataFrame({"x": np.arange(1.0, 101.0), "c": ["a"] * 60 + ["b"] * 40})
    ref = feature_reference(frame, {"x": "numeric", "c": "categorical"})
    x = ref["features"]["x"]
    assert x["edges"] == pytest.approx([1 + 9.9 * i for i in range(1, 10)])
    assert x["shares"] == pytest.approx([0.1] * 10)
    assert ref["features"]["c"]["categories"] == ["a", "b"]
    assert ref["features"]["c"]["shares"] == pytest.approx([0.6, 0.4, 0.0])
    assert ref["n_rows"] == 100


def test_feature_reference_folds_small_categories_and_counts_missing() -> None:
    frame = pd.DataFrame({"c": ["a"] * 50 + ["rare"] * 3 + [None] * 47})
    ref = feature_reference(frame, {"c": "categorical"})["features"]["c"]
    assert ref["categories"] == ["a"]
    assert ref["shares"] == pytest.approx([50 / 53, 3 / 53])
    assert ref["missing_share"] == pytest.approx(0.47)


def test_feature_reference_too_few_rows_for_deciles() -> None:
    ref = feature_reference(pd.DataFrame({"x": [1.0, 2.0, 3.0]}), {"x": "numeric"})
    assert ref["features"]["x"]["edges"] == []
    assert ref["features"]["x"]["shares"] == [1.0]


def test_bin_shares_new_values_in_reference_bins() -> None:
    entry = {"kind": "numeric", "edges": [10.0, 20.0]}
    column = pd.Series([5.0, 10.0, 15.0, 25.0, np.nan])
    shares, missing = bin_shares(column, entry)
    assert shares == [0.25, 0.5, 0.25]
    assert missing == 0.2


def test_train_model_logs_the_feature_reference(trained: Trained) -> None:
    result = trained.results["toy"]
    ref = read_feature_reference(trained.settings, result.run_id)
    assert ref is not None
    assert ref["n_rows"] == result.rows["train"]
    for entry in ref["features"].values():
        assert sum(entry["shares"]) == pytest.approx(1.0)
    text = json.dumps(ref)
    assert "citizen_id" not in text
    assert not any(cid in text for cid in trained.people["citizen_id"][:50])


def test_log_run_text_refuses_citizen_ids(trained: Trained) -> None:
    result = trained.results["toy"]
    cid = str(trained.people["citizen_id"].iloc[0])
    with pytest.raises(PersonDataError):
        log_run_text(
            trained.settings,
            result.run_id,
            f'{{"x": "{cid}"}}',
            "x.json",
            known_ids={cid},
        )
