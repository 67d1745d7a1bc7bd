"""A small MLflow registry: two versions of one model, for the web app's model pages.

Training a model per test is slow, and so is logging a fitted model, so each
version is a run holding the files :func:`models.tracking.log_training_run`
writes (``evaluation/metrics.json``, ``evaluation/test_predictions_summary.json``,
``data/fingerprint.json``, ``plots/*.png``) with metrics from
:func:`models.validate.evaluate_predictions` and the plots of
:func:`models.validate.save_plots` on 400 synthetic test rows, registered as a
version of ``toy_web``. Version 2 ranks better than 1. Build it once per module
and copy ``mlflow.db`` into a test's output folder (the artifacts stay put).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

NAME = "toy_web"
CAPACITY_K = 40
N_TEST = 400
FINGERPRINT = {"extract_hash": "ab" * 32, "test_index_date": "2025-06-01"}


def _test_set(noise: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels, risk and ranking of 400 test rows; more noise ranks worse."""
    rng = np.random.default_rng(7)
    y = (rng.random(N_TEST) < 0.2).astype(float)
    risk = np.clip(0.2 + (y - 0.2) * (1 - noise) + rng.normal(0, 0.1, N_TEST), 0, 1)
    return y, risk, np.argsort(-risk, kind="stable").astype(np.intp)


def _evaluation(noise: float) -> tuple[dict[str, Any], dict[str, Any]]:
    """Metrics (with bootstrap intervals) and the test summary of one version."""
    from models.validate import evaluate_predictions, k_values

    y, risk, order = _test_set(noise)
    ks = k_values(
        capacity_k=CAPACITY_K, k_shares=(0.05,), n_test=N_TEST, n_cohort=N_TEST
    )
    metrics = evaluate_predictions(
        y, risk, order, ks=ks, n_bootstrap=50, random_state=1
    )
    summary = {"n": N_TEST, "events": int(y.sum()), "k": ks}
    return {n: m.as_dict() for n, m in metrics.items()}, summary


def _log_version(client: Any, experiment: str, noise: float, plots: list) -> None:
    """Log one run with the evaluation files and plots, and register it as a version."""
    metrics, summary = _evaluation(noise)
    run_id = client.create_run(experiment).info.run_id
    texts = {
        "evaluation/metrics.json": metrics,
        "evaluation/test_predictions_summary.json": summary,
        "data/fingerprint.json": FINGERPRINT,
    }
    for artifact, data in texts.items():
        client.log_text(run_id, json.dumps(data), artifact)
    for path in plots:
        client.log_artifact(run_id, str(path), artifact_path="plots")
    client.set_terminated(run_id)
    client.create_model_version(NAME, f"runs:/{run_id}/model", run_id=run_id)


def build_registry(out: Path) -> Any:
    """Register versions 1 (noisier) and 2 of ``toy_web`` in an MLflow store in ``out``.

    Returns the EngineSettings of that store (``out/mlflow.db``, ``out/mlruns``).
    """
    from mlflow import MlflowClient

    from features.settings import EngineSettings

    settings = EngineSettings(output_dir=out)
    client = MlflowClient(tracking_uri=settings.tracking_uri)
    location = settings.artifact_dir.resolve().as_uri()
    experiment = client.create_experiment("toy_outcome", artifact_location=location)
    client.create_registered_model(NAME)
    from models.validate import save_plots

    with tempfile.TemporaryDirectory() as tmp:
        y, risk, order = _test_set(0.75)  # drawn once: both runs log these figures
        plots = save_plots(
            y, risk, order, out_dir=Path(tmp), capacity_k=CAPACITY_K, title=NAME
        )
        for noise in (0.9, 0.75):
            _log_version(client, experiment, noise, plots)
    return settings
