from __future__ import annotations

import re

import duckdb
import pytest

from features.errors import ConfigError
from models import tracking
from models.promote import PromotionRefusedError, promote_model
from models.spec import ModelSpec
from models.train import train_model
from tests.models.conftest import Trained, write_spec

USELESS = """
[params]
rules = [{ feature = "age_years", op = ">", threshold = 500 }]
"""


@pytest.fixture(scope="module")
def versions(trained: Trained) -> Trained:
    """toy_promo: version 1 logistic regression (champion), version 2 a useless rule."""
    train_model(
        ModelSpec.from_toml(
            write_spec(trained.specs, "toy_promo", "logistic_regression")
        ),
        settings=trained.settings,
    )
    train_model(
        ModelSpec.from_toml(
            write_spec(trained.specs, "toy_promo", "rule_baseline", USELESS)
        ),
        settings=trained.settings,
    )
    return trained


def _decisions(trained: Trained) -> list[tuple]:
    con = duckdb.connect(str(trained.settings.warehouse), read_only=True)
    try:
        return con.execute(
            "select challenger_version, champion_version, decision, forced, reason"
            " from models.promotions where name = 'toy_promo' order by decided_at"
        ).fetchall()
    finally:
        con.close()


@pytest.mark.slow
def test_second_version_is_not_champion_until_promoted(versions: Trained) -> None:
    assert tracking.champion_version(versions.settings, "toy_promo") == "1"


@pytest.mark.slow
def test_promote_refuses_a_worse_model_and_records_it(versions: Trained) -> None:
    with pytest.raises(PromotionRefusedError) as error:
        promote_model(versions.settings, "toy_promo@2")
    assert re.fullmatch(
        r"Version 2 of 'toy_promo' was not promoted: its precision@\d+ is 0\.\d{3} "
        r"against 0\.\d{3} for the champion \(version 1\) on the same test data "
        r"\(2024-12-31, \d+ citizens\)\. "
        r"Use --force --reason \"\.\.\.\" to override; the reason is recorded\.",
        str(error.value),
    )
    assert tracking.champion_version(versions.settings, "toy_promo") == "1"
    assert _decisions(versions)[-1][:4] == ("2", "1", "refused", False)
    tags = tracking.version_tags(versions.settings, "toy_promo", "2")
    assert '"decision": "refused"' in tags["opspor.promotion"]


@pytest.mark.slow
def test_promote_force_needs_a_reason_and_is_recorded(versions: Trained) -> None:
    with pytest.raises(ConfigError) as error:
        promote_model(versions.settings, "toy_promo@2", force=True)
    assert (
        str(error.value) == "--force needs --reason: say why the gate is overridden; "
        "the reason is recorded."
    )
    result = promote_model(
        versions.settings, "toy_promo@2", force=True, reason="audit of the rule"
    )
    assert (result.decision, result.promoted) == ("forced", True)
    assert tracking.champion_version(versions.settings, "toy_promo") == "2"
    assert _decisions(versions)[-1] == ("2", "1", "forced", True, "audit of the rule")
    back = promote_model(
        versions.settings, "toy_promo@1"
    )  # the better one wins back the alias
    assert back.decision == "promoted" and back.challenger_value > back.champion_value
    assert tracking.champion_version(versions.settings, "toy_promo") == "1"


def test_promote_needs_a_version(trained: Trained) -> None:
    with pytest.raises(ConfigError) as error:
        promote_model(trained.settings, "toy_promo@champion")
    assert str(error.value) == (
        "Promote names one version: NAME@VERSION (e.g. diabetes_harm_365d@3). Got "
        "'toy_promo@champion'."
    )
