"""One trained region_small per test session, shared by every xdist worker.

Several tests need only *a trained region*: region_small generated, loaded, its
features built and the champion spec trained. Each built its own (generation,
load and training are most of their time). The first worker that needs it
builds it once, behind a file lock, in the folder all workers of the session
share (``tmp_path_factory.getbasetemp().parent`` under xdist, as
pytest-xdist's documentation shows); every test then gets its own **copy** of
the output folder (warehouse, MLflow store, artifacts), so no test can change
another's data. The generated extract is shared read-only.

The champion is trained with ``fewer_rounds`` (tests/models/conftest.py): no
user of the cache judges the model's quality.
"""

from __future__ import annotations

import fcntl
import os
import pickle
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

#: Folder of the cache under the session's shared temporary root.
CACHE_NAME = "region_small_trained"
#: The spec trained into the cache (the diabetes programme's champion).
CHAMPION = "diabetes_harm_365d"
#: MLflow's columns that hold an absolute artifact location.
_MLFLOW_PATHS = {
    "experiments": ["artifact_location"],
    "runs": ["artifact_uri"],
    "model_versions": ["source", "storage_location"],
    "logged_models": ["artifact_location"],
}


@dataclass(frozen=True)
class TrainedRegion:
    """A test's own copy of the cached region.

    Attributes
    ----------
    settings : EngineSettings
        Settings whose output folder is this test's copy.
    extract : Path
        The generated Parquet extract (shared by every test: read it only).
    champion : TrainResult
        What training the champion returned (version 1, the champion).
    loaded_warehouse : Path
        The warehouse as ``load_extract`` left it, before any feature or
        model (shared: copy it before opening it for writing).
    featured_warehouse : Path
        The warehouse after training: features and labels at the champion's
        dates, no model (shared: copy it before opening it for writing).
    """

    settings: Any
    extract: Path
    champion: Any
    loaded_warehouse: Path
    featured_warehouse: Path


def shared_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return the temporary folder every worker of this session shares.

    An xdist worker's base folder is one per worker inside the session's; a run
    without workers (``-n 0``, ``-p no:xdist``) has its own base folder only.
    """
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def _build(cache: Path) -> None:
    """Generate, load and train region_small into ``cache`` (no lock held here)."""
    from features.load import load_extract
    from features.settings import EngineSettings
    from models.spec import load_spec
    from models.train import train_model
    from synthetic_data import generate_extract, load_profile
    from tests.models.conftest import fewer_rounds

    generated = generate_extract(
        load_profile("region_small"), cache / "extract", fmt="parquet"
    )
    settings = EngineSettings(output_dir=cache / "build")
    load_extract(generated.out_dir, settings=settings)
    shutil.copyfile(settings.warehouse, cache / "loaded.duckdb")
    champion = train_model(fewer_rounds(load_spec(CHAMPION)), settings=settings)
    # Features and labels at the champion's dates, no model (that is in MLflow).
    shutil.copyfile(settings.warehouse, cache / "featured.duckdb")
    (cache / "champion.pickle").write_bytes(pickle.dumps(champion))


def shared_folder(root: Path, name: str, build: Callable[[Path], None]) -> Path:
    """Return ``root / name``, calling ``build`` on it first if no worker has.

    The first worker to get here builds while the others wait on the lock; a
    folder left half-built by a failed build is built again.
    """
    folder = root / name
    done = folder / "done"
    with (root / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            build(folder)
            done.touch()
    return folder


def ensure_cache(root: Path) -> Path:
    """Return the trained region_small's cache folder under ``root`` (built once)."""
    return shared_folder(root, CACHE_NAME, _build)


def relocate_mlflow(store: Path, old: Path, new: Path) -> None:
    """Point the artifact locations of a copied MLflow SQLite store at ``new``."""
    con = sqlite3.connect(store)
    try:
        tables = {r[0] for r in con.execute("select name from sqlite_master")}
        for table, columns in _MLFLOW_PATHS.items():
            if table not in tables:
                continue
            for column in columns:
                for a, b in ((old.as_uri(), new.as_uri()), (str(old), str(new))):
                    con.execute(
                        f"update {table} set {column} = replace({column}, ?, ?)",  # noqa: S608
                        (a, b),
                    )
        con.commit()
    finally:
        con.close()


def copy_output(source: Path, target: Path) -> Path:
    """Copy an output folder (warehouse, MLflow store) to ``target``; return it.

    The copy's MLflow store and its models' ``MLmodel`` files point at the
    copy's own artifacts, so nothing the test writes reaches ``source``.
    """
    source = source.resolve()
    shutil.copytree(source, target)
    target = target.resolve()
    relocate_mlflow(target / "mlflow.db", source, target)
    for mlmodel in target.glob("mlruns/**/MLmodel"):
        text = mlmodel.read_text(encoding="utf-8")
        mlmodel.write_text(
            text.replace(source.as_uri(), target.as_uri()), encoding="utf-8"
        )
    return target


def copy_region(cache: Path, target: Path) -> TrainedRegion:
    """Copy the cached region's output folder to ``target``; return the copy."""
    from features.settings import EngineSettings

    settings = EngineSettings(output_dir=copy_output(cache / "build", target))
    champion = pickle.loads((cache / "champion.pickle").read_bytes())  # noqa: S301
    return TrainedRegion(
        settings,
        cache / "extract",
        champion,
        cache / "loaded.duckdb",
        cache / "featured.duckdb",
    )
