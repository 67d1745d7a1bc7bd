from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from features.errors import ConfigError, NotFoundError
from features.settings import EngineSettings
from models import tracking
from models.tracking import PersonDataError, assert_no_person_data
from tests.models.conftest import Trained


def test_assert_no_person_data_refuses_a_citizen_id_column() -> None:
    with pytest.raises(PersonDataError) as error:
        assert_no_person_data(
            pd.DataFrame({"citizen_id": ["x"]}), known_ids=set(), what="example"
        )
    assert str(error.value) == (
        "Refusing to log example to MLflow: it holds person-level data (a column "
        "named citizen_id)."
    )


def test_assert_no_person_data_refuses_known_ids_without_repeating_them() -> None:
    with pytest.raises(PersonDataError) as error:
        assert_no_person_data(
            '{"top": "P-0000042", "n": 3}', known_ids={"P-0000042"}, what="summary"
        )
    assert str(error.value) == (
        "Refusing to log summary to MLflow: it holds person-level data (1 citizen "
        "id(s))."
    )
    assert "P-0000042" not in str(error.value)


def test_assert_no_person_data_refuses_cpr_shaped_values() -> None:
    with pytest.raises(PersonDataError, match="a CPR-shaped value"):
        assert_no_person_data("id 010190-1234", known_ids=set(), what="params")
    assert_no_person_data(
        {"k": "40", "date": "2026-11-23"}, known_ids={"P-1"}, what="params"
    )


def test_parse_model_ref() -> None:
    assert tracking.parse_model_ref("toy") == ("toy", None)
    assert tracking.parse_model_ref("toy@champion") == ("toy", "champion")
    with pytest.raises(ConfigError):
        tracking.parse_model_ref("Toy@@1")


@pytest.mark.slow
def test_mlflow_artifacts_hold_no_citizen_id(trained: Trained) -> None:
    ids = {cid.encode() for cid in trained.people["citizen_id"]}
    token = re.compile(rb"P-[0-9]{7}")
    for name, result in trained.results.items():
        with tracking.download_run_artifacts(trained.settings, result.run_id) as root:
            files = [p for p in root.rglob("*") if p.is_file()]
            assert any(p.name.startswith("model.") for p in files), name
            assert any(p.suffix == ".png" for p in files), name
            for path in files:
                data = path.read_bytes()
                assert not (set(token.findall(data)) & ids), path.name
                assert b"citizen_id" not in data, path.name


@pytest.mark.slow
def test_run_logs_spec_metrics_with_intervals_fingerprint_and_commit(
    trained: Trained,
) -> None:
    import mlflow

    result = trained.results["toy_hgb"]
    tracking.resolve_model(trained.settings, "toy_hgb")  # sets the tracking URI
    run = mlflow.get_run(result.run_id)
    for key in (
        "precision_at_capacity",
        "precision_at_capacity_ci_low",
        "precision_at_capacity_ci_high",
        "roc_auc",
        "calibration_slope",
    ):
        assert key in run.data.metrics
    assert run.data.params["estimator"] == '"hist_gradient_boosting"'
    assert re.fullmatch(r"[0-9a-f]{40}|unknown", run.data.tags["git_commit"])
    fingerprint = tracking.load_run_text(
        trained.settings, result.run_id, "data/fingerprint.json"
    )
    assert '"extract_hash": "abc123"' in fingerprint
    spec = tracking.load_run_text(trained.settings, result.run_id, "spec/spec.toml")
    assert 'name = "toy_hgb"' in spec


@pytest.mark.slow
def test_resolve_model_by_alias_version_and_unknowns(trained: Trained) -> None:
    assert tracking.resolve_model(trained.settings, "toy").model_uri == "models:/toy/1"
    assert tracking.resolve_model(trained.settings, "toy@1").version == "1"
    with pytest.raises(NotFoundError, match="No registered model 'nope'"):
        tracking.resolve_model(trained.settings, "nope")
    with pytest.raises(NotFoundError) as error:
        tracking.resolve_model(trained.settings, "toy@9")
    assert str(error.value) == "Registered model 'toy' has no version or alias '9'."


def test_a_metric_with_ten_decimals_is_not_taken_for_a_cpr_number() -> None:
    """A robustness world once failed to train: a metric read 0.3012052345."""
    assert_no_person_data(
        {"auc": 0.3012052345, "n": 3012052345.5, "tiny": "3.012052345e-05"},
        known_ids=set(),
        what="metrics",
    )
    for text in ("id 0101901234.", "0101901234", "x 010190-1234 y"):
        with pytest.raises(PersonDataError):
            assert_no_person_data(text, known_ids=set(), what="metrics")


# --- a new local store starts from the cached empty schema -------------------


def _store_settings(root: Path, cache: Path) -> EngineSettings:
    return EngineSettings(output_dir=root, cache_dir=cache)


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One schema cache for the module: making the template takes ~4 s."""
    return tmp_path_factory.mktemp("cache")


def test_new_local_stores_start_from_one_cached_schema(
    tmp_path: Path, cache: Path
) -> None:
    first = _store_settings(tmp_path / "a", cache)
    client = tracking._configure(first)
    experiment = client.create_experiment("diabetes_harm_365d")
    client.create_registered_model("diabetes_harm_365d")
    templates = list(cache.glob("mlflow-*-schema.db"))
    assert len(templates) == 1 and (first.output_dir / "mlflow.db").is_file()
    made = templates[0].stat().st_mtime_ns

    second = _store_settings(tmp_path / "b", cache)
    other = tracking._configure(second)
    # MLflow accepts the copy as its current schema; each store is its own.
    assert [e.name for e in other.search_experiments()] == ["Default"]
    assert other.search_registered_models() == []
    assert client.get_experiment(experiment).name == "diabetes_harm_365d"
    assert templates[0].stat().st_mtime_ns == made
    assert not list(tmp_path.rglob("*.partial")) and not list(cache.glob("*.partial"))


def test_an_existing_store_is_never_replaced(tmp_path: Path, cache: Path) -> None:
    settings = _store_settings(tmp_path / "a", cache)
    tracking._configure(settings).create_experiment("kept")
    again = tracking._configure(settings)
    assert "kept" in {e.name for e in again.search_experiments()}


def test_a_cache_that_cannot_be_written_leaves_mlflow_its_own_start(
    tmp_path: Path,
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x", encoding="utf-8")
    settings = _store_settings(tmp_path / "a", blocker / "cache")
    assert tracking._schema_template(settings.cache_root) is None
    tracking._seed_local_store(settings)  # nothing to copy: MLflow makes its own
    assert not (settings.output_dir / "mlflow.db").exists()
    assert not list(tmp_path.rglob("*.partial"))


def test_cache_dir_comes_from_the_environment() -> None:
    assert EngineSettings.from_env({"OPSPOR_CACHE_DIR": "/x/c"}).cache_root == Path(
        "/x/c"
    )
    assert EngineSettings(cache_dir=Path("/y")).cache_root == Path("/y")
