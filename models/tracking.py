"""MLflow: runs, registered models and aliases. The ONLY module that imports mlflow.

:mod:`models.train` hands each fitted model here with its resolved spec,
metrics, plots and data fingerprint; :func:`log_training_run` logs them to the
experiment of the outcome, registers the model under the spec's name and makes
a name's first version its ``champion``. :mod:`models.score`,
:mod:`models.explain` and :mod:`models.promote` resolve ``NAME[@alias|version]``
and load models back through this module.

Privacy: MLflow holds aggregates only. Every param, text artifact and the
signature pass :func:`assert_no_person_data`, which refuses a column named
``citizen_id``, any citizen id from the data at hand, and CPR-shaped values.
The signature is inferred from a synthetic all-median row, never a citizen's.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import subprocess
import tempfile
import warnings
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from features.errors import ConfigError, DataError, NotFoundError
from features.settings import EngineSettings

__all__ = [
    "CHAMPION",
    "ModelRef",
    "PersonDataError",
    "RunRecord",
    "assert_no_person_data",
    "champion_version",
    "download_run_artifacts",
    "list_run_artifacts",
    "list_versions",
    "load_model",
    "load_run_text",
    "log_run_figures",
    "log_run_text",
    "log_training_run",
    "parse_model_ref",
    "read_run_artifact",
    "resolve_model",
    "set_alias",
    "tag_version",
    "try_load_run_text",
    "version_tags",
]

logger = logging.getLogger(__name__)

CHAMPION = "champion"
PERSON_DATA = "Refusing to log {what} to MLflow: it holds person-level data ({why})."
BAD_REF = (
    "The model {ref!r} must be NAME, NAME@ALIAS or NAME@VERSION "
    "(e.g. diabetes_harm_365d@champion or diabetes_harm_365d@3)."
)
UNKNOWN_MODEL = (
    "No registered model {name!r} in {uri}; train it with `opspor train` first."
)
UNKNOWN_VERSION = "Registered model {name!r} has no version or alias {which!r}."
UNTRUSTED = (
    "The fitted model holds types that are not scikit-learn's, numpy's "
    "or ours: {types}."
)
# Ten digits standing alone; not the fraction of a decimal number ("0.3012052345",
# a metric's value, once refused a training run) nor the integer part of one.
_CPR = re.compile(
    r"(?<![0-9.])(?:[0-3][0-9][01][0-9]{3}-?[0-9]{4})(?![0-9]|\.[0-9]|[eE][-+]?[0-9])"
)
_TOKEN = re.compile(rb"[^\s\"',;:\[\]{}()=<>|]+")
_REF = re.compile(r"^([a-z][a-z0-9_]*)(?:@([A-Za-z0-9_\-]+))?$")
_TRUSTED_PREFIXES = ("sklearn.", "numpy.", "models.")


class PersonDataError(DataError):
    """Something about to be logged to MLflow holds person-level data."""


@dataclass(frozen=True)
class RunRecord:
    """What one training run left in MLflow (no person data)."""

    run_id: str
    experiment: str
    name: str
    version: str
    model_uri: str
    champion: bool


@dataclass(frozen=True)
class ModelRef:
    """A resolved registered model version."""

    name: str
    version: str
    run_id: str
    model_uri: str


# --- privacy guard ---------------------------------------------------------


def assert_no_person_data(
    payload: Any, *, known_ids: Collection[str], what: str
) -> None:
    """Raise unless ``payload`` is free of person-level data.

    Parameters
    ----------
    payload : str, bytes, Mapping or pandas.DataFrame
        Text, params or a frame (its column names and values are checked).
    known_ids : collection of str
        Citizen ids of the data at hand; none may appear.
    what : str
        What is being logged, for the message.

    Raises
    ------
    PersonDataError
        A ``citizen_id`` column, a known id or a CPR-shaped value was found.
        The message never repeats the offending value.
    """
    if isinstance(payload, pd.DataFrame):
        if "citizen_id" in payload.columns:
            raise PersonDataError(
                PERSON_DATA.format(what=what, why="a column named citizen_id")
            )
        payload = payload.to_csv(index=False)
    if isinstance(payload, Mapping):
        payload = json.dumps({str(k): str(v) for k, v in payload.items()})
    data = payload.encode("utf-8") if isinstance(payload, str) else bytes(payload)
    ids = known_ids if isinstance(known_ids, set | frozenset) else set(known_ids)
    tokens = {t.decode("utf-8", "replace") for t in _TOKEN.findall(data)}
    tokens |= {t.rstrip(".") for t in tokens}
    hits = sum(1 for t in tokens if t in ids)
    if hits:
        raise PersonDataError(
            PERSON_DATA.format(what=what, why=f"{hits} citizen id(s)")
        )
    if _CPR.search(data.decode("utf-8", "replace")):
        raise PersonDataError(PERSON_DATA.format(what=what, why="a CPR-shaped value"))


# --- configuration ---------------------------------------------------------


def _configure(settings: EngineSettings) -> Any:
    """Point mlflow at the settings' store and return a client."""
    import mlflow
    from mlflow import MlflowClient

    # Progress bars on stderr would garble the CLI's one-line output.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    # MLflow's own INFO lines (store migrations, registrations) are noise on the CLI.
    if settings.log_level != "DEBUG":
        for name in ("mlflow", "alembic"):
            logging.getLogger(name).setLevel(logging.WARNING)
    mlflow.set_tracking_uri(settings.tracking_uri)
    if settings.mlflow_uri is None:
        settings.output_dir.mkdir(parents=True, exist_ok=True)
        _seed_local_store(settings)
    return MlflowClient(tracking_uri=settings.tracking_uri)


# A new embedded store starts as a copy of an empty store at MLflow's current
# schema, kept in the cache per MLflow version: MLflow's own start runs its ~60
# Alembic migrations with a commit each, 7-10 s on the 2-core machine against
# 0.1-0.3 s for the copy. Anything that goes wrong leaves MLflow to do its own.


def _seed_local_store(settings: EngineSettings) -> None:
    """Start a missing local ``mlflow.db`` from the cached empty schema."""
    store = settings.output_dir / "mlflow.db"
    if store.exists():
        return
    template = _schema_template(settings.cache_root)
    if template is None:
        return
    partial = store.with_name(f".{store.name}.{os.getpid()}.partial")
    try:
        shutil.copyfile(template, partial)
        os.link(partial, store)  # fails if another process made the store first
    except OSError as exc:
        logger.debug("mlflow store not seeded from %s: %s", template, exc)
    finally:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)


def _schema_template(cache: Path) -> Path | None:
    """Return the cached empty store at this MLflow's schema (made once), or None."""
    import mlflow

    template = cache / f"mlflow-{mlflow.__version__}-schema.db"
    if template.exists():
        return template
    partial = cache / f".{template.name}.{os.getpid()}.partial"
    try:
        from mlflow.store.db.utils import (
            _initialize_tables,
            create_sqlalchemy_engine_with_retry,
        )

        cache.mkdir(parents=True, exist_ok=True)
        partial.unlink(missing_ok=True)
        engine = create_sqlalchemy_engine_with_retry(f"sqlite:///{partial}")  # type: ignore[no-untyped-call]
        try:
            with warnings.catch_warnings():  # SQLAlchemy's notes on MLflow's models
                warnings.simplefilter("ignore", DeprecationWarning)
                _initialize_tables(engine)  # type: ignore[no-untyped-call]
        finally:
            engine.dispose()
        os.replace(partial, template)
    except Exception as exc:  # noqa: BLE001 - a shortcut only: MLflow's own start reports real faults
        logger.debug("no mlflow schema template in %s: %s", cache, exc)
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
        return None
    return template


def _experiment_id(client: Any, settings: EngineSettings, outcome: str) -> str:
    """Return the experiment of an outcome, creating it (local artifacts by default)."""
    existing = client.get_experiment_by_name(outcome)
    if existing is not None:
        return str(existing.experiment_id)
    location = None
    if settings.mlflow_uri is None:
        settings.artifact_dir.mkdir(parents=True, exist_ok=True)
        location = settings.artifact_dir.resolve().as_uri()
    return str(client.create_experiment(outcome, artifact_location=location))


def _git_commit() -> str:
    """Return the checked-out commit of the code, or "unknown"."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    commit = done.stdout.strip()
    return (
        commit
        if done.returncode == 0 and re.fullmatch(r"[0-9a-f]{40}", commit)
        else "unknown"
    )


def _trusted_types(model: Any) -> list[str]:
    """Types skops must trust to load the model: only sklearn's, numpy's and ours."""
    import skops.io

    untrusted = skops.io.get_untrusted_types(data=skops.io.dumps(model))
    foreign = [t for t in untrusted if not t.startswith(_TRUSTED_PREFIXES)]
    if foreign:
        raise ConfigError(UNTRUSTED.format(types=", ".join(foreign)))
    return list(untrusted)


# --- logging a run ---------------------------------------------------------


def log_training_run(
    settings: EngineSettings,
    *,
    name: str,
    outcome: str,
    params: Mapping[str, str],
    spec_toml: str,
    model: Any,
    metrics: Mapping[str, Mapping[str, float]],
    fingerprint: Mapping[str, Any],
    prediction_summary: Mapping[str, Any],
    plots: list[Path],
    example: pd.DataFrame,
    known_ids: Collection[str],
    tags: Mapping[str, str],
) -> RunRecord:
    """Log one training run, register its model, and make a first version champion.

    Parameters
    ----------
    settings : EngineSettings
        Where the MLflow store is.
    name : str
        Registered model name (the spec's name).
    outcome : str
        Outcome, which names the experiment.
    params : Mapping
        The resolved spec, flattened.
    spec_toml : str
        The resolved spec as TOML (logged as ``spec/spec.toml``).
    model : estimator
        The calibrated model.
    metrics : Mapping
        ``metric -> {"value", "ci_low", "ci_high"}``.
    fingerprint : Mapping
        Extract hash, as-of dates and row counts (aggregates only).
    prediction_summary : Mapping
        Aggregates of the test-set predictions.
    plots : list of Path
        PNG files.
    example : pandas.DataFrame
        One synthetic row (feature medians and modes) for the signature.
    known_ids : collection of str
        Citizen ids of the training data; none may reach MLflow.
    tags : Mapping
        Extra run tags.

    Returns
    -------
    RunRecord

    Raises
    ------
    PersonDataError
        Something to be logged holds person-level data.
    """
    import mlflow
    import mlflow.sklearn
    from mlflow.models import infer_signature

    texts = {
        "params": dict(params),
        "spec/spec.toml": spec_toml,
        "data/fingerprint.json": json.dumps(fingerprint, default=str, indent=2),
        "evaluation/test_predictions_summary.json": json.dumps(
            prediction_summary, indent=2
        ),
        "evaluation/metrics.json": json.dumps(metrics, indent=2),
    }
    for what, payload in texts.items():
        assert_no_person_data(payload, known_ids=known_ids, what=what)
    assert_no_person_data(example, known_ids=known_ids, what="the signature example")
    client = _configure(settings)
    experiment_id = _experiment_id(client, settings, outcome)
    trusted = _trusted_types(model)
    signature = infer_signature(example, model.predict_proba(example)[:, 1])
    with mlflow.start_run(experiment_id=experiment_id) as run:
        mlflow.set_tags(
            {
                **tags,
                "git_commit": _git_commit(),
                "mlflow.source.git.commit": _git_commit(),
            }
        )
        mlflow.log_params(dict(params))
        mlflow.log_metrics(_flat_metrics(metrics))
        for artifact, payload in texts.items():
            if artifact != "params":
                mlflow.log_text(str(payload), artifact)
        for path in plots:
            mlflow.log_artifact(str(path), artifact_path="plots")
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            signature=signature,
            registered_model_name=name,
            serialization_format="skops",
            skops_trusted_types=trusted,
            pip_requirements=_requirements(),
        )
    version = str(info.registered_model_version)
    champion = champion_version(settings, name) is None
    if champion:
        set_alias(settings, name, version)
    logger.info("registered %s version %s (champion: %s)", name, version, champion)
    return RunRecord(
        run_id=run.info.run_id,
        experiment=outcome,
        name=name,
        version=version,
        model_uri=f"models:/{name}/{version}",
        champion=champion,
    )


def _flat_metrics(metrics: Mapping[str, Mapping[str, float]]) -> dict[str, float]:
    """``metric``, ``metric_ci_low``, ``metric_ci_high`` for each finite value."""
    flat: dict[str, float] = {}
    for name, estimate in metrics.items():
        for key, suffix in (
            ("value", ""),
            ("ci_low", "_ci_low"),
            ("ci_high", "_ci_high"),
        ):
            value = float(estimate[key])
            if value == value and abs(value) != float("inf"):
                flat[f"{name}{suffix}"] = value
    return flat


def _requirements() -> list[str]:
    """Pinned requirements of the logged model (no slow inference)."""
    import sklearn
    import skops

    return [
        f"scikit-learn=={sklearn.__version__}",
        f"skops=={skops.__version__}",
        "opspor",
    ]


# --- the registry ----------------------------------------------------------


def parse_model_ref(ref: str) -> tuple[str, str | None]:
    """Split ``NAME[@alias|version]`` into ``(name, alias_or_version or None)``.

    Raises
    ------
    ConfigError
        The reference is malformed.
    """
    match = _REF.match(ref.strip())
    if match is None:
        raise ConfigError(BAD_REF.format(ref=ref))
    return match.group(1), match.group(2)


def resolve_model(settings: EngineSettings, ref: str) -> ModelRef:
    """Resolve ``NAME``, ``NAME@ALIAS`` or ``NAME@VERSION`` to one model version.

    A bare ``NAME`` means ``NAME@champion``.

    Parameters
    ----------
    settings : EngineSettings
        Where the MLflow store is.
    ref : str
        The reference.

    Returns
    -------
    ModelRef

    Raises
    ------
    ConfigError
        The reference is malformed.
    NotFoundError
        No such registered model, version or alias.
    """
    from mlflow.exceptions import MlflowException

    name, which = parse_model_ref(ref)
    which = which or CHAMPION
    client = _configure(settings)
    try:
        client.get_registered_model(name)
    except MlflowException as error:
        raise NotFoundError(
            UNKNOWN_MODEL.format(name=name, uri=settings.tracking_uri)
        ) from error
    try:
        if which.isdigit():
            version = client.get_model_version(name, which)
        else:
            version = client.get_model_version_by_alias(name, which)
    except MlflowException as error:
        raise NotFoundError(UNKNOWN_VERSION.format(name=name, which=which)) from error
    return ModelRef(
        name=name,
        version=str(version.version),
        run_id=str(version.run_id),
        model_uri=f"models:/{name}/{version.version}",
    )


def load_model(settings: EngineSettings, ref: ModelRef) -> Any:
    """Load a registered model version (the calibrated scikit-learn model)."""
    import mlflow.sklearn

    _configure(settings)
    return mlflow.sklearn.load_model(ref.model_uri)


def load_run_text(settings: EngineSettings, run_id: str, artifact: str) -> str:
    """Return a text artifact of a run, e.g. ``spec/spec.toml``."""
    import mlflow

    _configure(settings)
    return str(mlflow.artifacts.load_text(f"runs:/{run_id}/{artifact}"))


def try_load_run_text(
    settings: EngineSettings, run_id: str, artifact: str
) -> str | None:
    """Return a text artifact of a run, or None when the run does not have it."""
    import mlflow
    from mlflow.exceptions import MlflowException

    _configure(settings)
    try:
        return str(mlflow.artifacts.load_text(f"runs:/{run_id}/{artifact}"))
    except (MlflowException, OSError):
        return None


def log_run_text(
    settings: EngineSettings,
    run_id: str,
    text: str,
    artifact: str,
    *,
    known_ids: Collection[str] = (),
) -> None:
    """Add a text artifact (aggregates only) to a finished run.

    Raises
    ------
    PersonDataError
        The text holds a known citizen id or a CPR-shaped value.
    """
    assert_no_person_data(text, known_ids=known_ids, what=artifact)
    _configure(settings).log_text(run_id, text, artifact)


def log_run_figures(
    settings: EngineSettings, run_id: str, figures: Mapping[str, bytes], folder: str
) -> None:
    """Add PNG figures (aggregates only) to a run under ``folder``."""
    client = _configure(settings)
    with tempfile.TemporaryDirectory() as tmp:
        for name, png in figures.items():
            path = Path(tmp) / name
            path.write_bytes(png)
            client.log_artifact(run_id, str(path), artifact_path=folder)


def champion_version(settings: EngineSettings, name: str) -> str | None:
    """Return the version holding the ``champion`` alias, or None."""
    from mlflow.exceptions import MlflowException

    client = _configure(settings)
    try:
        return str(client.get_model_version_by_alias(name, CHAMPION).version)
    except MlflowException:
        return None


def set_alias(
    settings: EngineSettings, name: str, version: str, alias: str = CHAMPION
) -> None:
    """Move ``alias`` (default ``champion``) to ``version``."""
    _configure(settings).set_registered_model_alias(name, alias, version)


def tag_version(
    settings: EngineSettings, name: str, version: str, tags: Mapping[str, str]
) -> None:
    """Set tags on a model version (e.g. a promotion decision)."""
    client = _configure(settings)
    for key, value in tags.items():
        client.set_model_version_tag(name, version, key, value)


def version_tags(settings: EngineSettings, name: str, version: str) -> dict[str, str]:
    """Return the tags of a model version."""
    return dict(_configure(settings).get_model_version(name, version).tags)


def list_versions(settings: EngineSettings, name: str) -> list[str]:
    """Return the versions of a registered model, newest first ([] when unknown)."""
    from mlflow.exceptions import MlflowException

    client = _configure(settings)
    try:
        found = client.search_model_versions(f"name = '{parse_model_ref(name)[0]}'")
    except MlflowException:
        return []
    return sorted((str(v.version) for v in found), key=int, reverse=True)


def list_run_artifacts(settings: EngineSettings, run_id: str) -> list[str]:
    """Return the path of every file a run logged (its folders walked), sorted.

    Parameters
    ----------
    settings : EngineSettings
        Where the MLflow store is.
    run_id : str
        The run.

    Returns
    -------
    list of str
        Artifact paths relative to the run's root, e.g. ``plots/calibration.png``.
    """
    client = _configure(settings)
    found: list[str] = []
    pending: list[str | None] = [None]
    while pending:
        for info in client.list_artifacts(run_id, pending.pop()):
            (pending if info.is_dir else found).append(str(info.path))
    return sorted(found)


def read_run_artifact(settings: EngineSettings, run_id: str, artifact: str) -> bytes:
    """Return the bytes of one artifact of a run (the caller checks ``artifact``)."""
    client = _configure(settings)
    with tempfile.TemporaryDirectory() as tmp:
        return Path(client.download_artifacts(run_id, artifact, tmp)).read_bytes()


@contextmanager
def download_run_artifacts(settings: EngineSettings, run_id: str) -> Iterator[Path]:
    """Download every artifact of a run, its logged model too, to a temporary folder.

    Parameters
    ----------
    settings : EngineSettings
        Where the MLflow store is.
    run_id : str
        The run.

    Yields
    ------
    Path
        A folder holding ``run/`` (the run's artifacts) and ``model/``.
    """
    import mlflow

    client = _configure(settings)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        mlflow.artifacts.download_artifacts(run_id=run_id, dst_path=str(root / "run"))
        experiment = client.get_run(run_id).info.experiment_id
        found = client.search_logged_models(
            [experiment], filter_string=f"source_run_id = '{run_id}'"
        )
        for model in found:
            mlflow.artifacts.download_artifacts(
                artifact_uri=model.artifact_location,
                dst_path=str(root / "model" / model.model_id),
            )
        yield root
