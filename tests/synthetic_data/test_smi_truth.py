"""The SMI truth: the true 365-day somatic risk of citizens with severe mental illness.

The window risk of a back-dated onset is checked against a hand computation; on
a small generated region (SMI over-sampled as in region_demo), the truth file
holds only SMI citizens, its risk is calibrated against the events the
generator drew (index dates with a whole year before the extract date) and it
ranks: the top fifth by true risk has far more events than the bottom fifth.
"""

from __future__ import annotations

import dataclasses
import math
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from synthetic_data import apply_world, draw_world, generate_extract, load_profile
from synthetic_data.population import DURATION, YEAR
from synthetic_data.smi_truth import duration_cdf, onset_window_risk

RISK, EVENT = "true_risk_smi_somatic_365d", "true_event_smi_somatic_365d"


def test_duration_law_is_exponential_below_the_room_and_whole_at_it() -> None:
    room = np.array([100.0, 10.0])
    cdf = duration_cdf(np.array([5.0, 10.0]), 10.0, room)
    # far from the room: the exponential, plus the mass beyond spread over the room
    assert cdf[0] == pytest.approx(1 - math.exp(-0.5) + math.exp(-10) * 0.05)
    assert cdf[1] == pytest.approx(1.0)


def test_window_risk_is_the_onset_chance_given_none_before() -> None:
    mean_years, min_age = DURATION["type2"]
    age = np.array([80.0, 80.0])
    prevalence = np.array([0.3, 0.0])
    days_to_extract = 2 * 365
    risk = onset_window_risk(prevalence, age, "type2", days_to_extract)
    room = 80.0 - min_age

    def cdf(y: float) -> float:
        return 1 - math.exp(-y / mean_years) + math.exp(-room / mean_years) * y / room

    near, far = cdf(365 / YEAR), cdf(730 / YEAR)
    expected = 0.3 * (far - near) / (1 - 0.3 * (1 - far))
    assert risk[0] == pytest.approx(expected)
    assert risk[1] == 0.0


def _generate(
    tmp_path_factory: pytest.TempPathFactory, world: int | None = None
) -> pd.DataFrame:
    profile = dataclasses.replace(
        load_profile("region_small", citizens=6_000),
        smi_prevalence_by_age={"0-15": 0.0, "16-120": 0.072},
    )
    if world is not None:
        profile = apply_world(profile, draw_world(world))
    out = tmp_path_factory.mktemp("smi_truth") / "extract"
    result = generate_extract(profile, out, fmt="parquet")
    assert result.truth_smi_path is not None
    truth = pd.read_parquet(result.truth_smi_path)
    people = pd.read_parquet(result.truth_path).set_index("citizen_id")
    truth["has_smi"] = people["has_smi"].reindex(truth["citizen_id"]).to_numpy()
    truth["whole_year"] = pd.to_datetime(truth["index_date"]) + timedelta(
        days=365
    ) <= pd.Timestamp(profile.extract_date)
    truth["at_extract"] = pd.to_datetime(truth["index_date"]) == pd.Timestamp(
        profile.extract_date
    )
    return truth


@pytest.fixture(scope="module")
def smi_truth(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    return _generate(tmp_path_factory)


@pytest.fixture(scope="module")
def smi_world_truth(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    return _generate(tmp_path_factory, world=1)


def test_truth_holds_only_citizens_with_smi(smi_truth: pd.DataFrame) -> None:
    assert len(smi_truth) > 1_000
    assert smi_truth["has_smi"].all()
    assert smi_truth[RISK].between(0.0, 1.0, inclusive="neither").all()
    assert not smi_truth.duplicated(["citizen_id", "index_date"]).any()


def test_true_risk_is_calibrated_against_the_drawn_events(
    smi_truth: pd.DataFrame,
) -> None:
    whole = smi_truth[smi_truth["whole_year"]]
    assert whole[RISK].mean() == pytest.approx(whole[EVENT].mean(), rel=0.2)


def test_true_risk_ranks_the_drawn_events(smi_truth: pd.DataFrame) -> None:
    whole = smi_truth[smi_truth["whole_year"]]
    fifth = pd.qcut(whole[RISK], 5, labels=False)
    top, bottom = whole[fifth == 4][EVENT].mean(), whole[fifth == 0][EVENT].mean()
    assert top > 3 * bottom, (top, bottom)


def test_a_worlds_truth_is_calibrated_and_has_the_extract_date(
    smi_world_truth: pd.DataFrame,
) -> None:
    # a world's drivers scale the diabetics' admission hazards; the truth follows
    whole = smi_world_truth[smi_world_truth["whole_year"]]
    assert whole[RISK].mean() == pytest.approx(whole[EVENT].mean(), rel=0.2)
    assert smi_world_truth["at_extract"].any()  # a world scores at extract_date too
