"""Training matrices: features joined to labels, split in time and by citizen.

:func:`ensure_features` asks :mod:`features.build` for the mart rows a stage
needs, keeping the rows of other dates (``models.feature_builds`` records which
dates were built from which extract). :func:`build_training_matrix` joins
``marts.scoring_features`` to
``labels.<outcome>`` (censored rows left out) into a :class:`TrainingMatrix`;
:func:`assign_splits` puts the latest index date in the test set and the
earlier ones in the training and calibration sets, with every citizen in at
most one of the three. :mod:`models.train` fits on the result.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from datetime import date, timedelta
from functools import cache
from importlib import resources
from typing import Any, Literal

import duckdb
import numpy as np
import pandas as pd
import pandera.pandas as pa
from numpy.typing import NDArray
from pandera.typing import Series

from features.db import check_identifier, table_exists, transaction
from features.errors import ConfigError, DataError
from models.broad import add_broad_columns, is_broad_covariate

__all__ = [
    "SPLITS",
    "CitizenBatch",
    "TrainingMatrix",
    "assign_splits",
    "batch_condition",
    "build_training_matrix",
    "citizen_draws",
    "citizen_groups",
    "cohort_batches",
    "ensure_features",
    "feature_kinds",
    "fresh_dates",
    "mart_dates",
    "read_cohort_frame",
    "record_feature_build",
]

logger = logging.getLogger(__name__)

#: ``refit_*``: the training and calibration groups at the test date, used only by
#: the refit after validation (never by validation itself).
SPLITS: tuple[str, ...] = (
    "train",
    "calibration",
    "test",
    "refit_train",
    "refit_calibration",
)
Split = Literal["train", "calibration", "test"]
#: A run of citizens in id order: ``[first id, first id of the next run)``.
CitizenBatch = tuple[str, str | None]
MISSING_FEATURES = (
    "The spec {spec!r} names features that marts.scoring_features "
    "does not have: {missing}."
)
TOO_FEW_DATES = (
    "The spec {spec!r} has {n} eligible index date(s) in this extract; training needs "
    "at least 2 "
    "(earlier ones to train on, the latest to test on). The extract spans {start} to "
    "{end}."
)
EMPTY_SPLIT = (
    "The {split} set of {spec!r} has {n} rows and {events} events; it needs rows of "
    "both classes. "
    "Use a larger extract or more index dates."
)
FEATURE_BUILDS_DDL = (
    "create or replace table models.feature_builds (extract_hash varchar not null,"
    " features_version varchar not null, as_of_date date not null)"
)
#: Value given to a missing categorical feature before one-hot encoding.
MISSING_CATEGORY = "missing"


class TrainingMatrix(pa.DataFrameModel):
    """Contract of a training matrix: keys, label, split; feature columns follow."""

    citizen_id: Series[str] = pa.Field(nullable=False)
    as_of_date: Series[pd.Timestamp] = pa.Field(nullable=False)
    label: Series[int] = pa.Field(isin=[0, 1])
    split: Series[str] = pa.Field(isin=list(SPLITS))

    class Config:
        """Extra feature columns are allowed; types are coerced."""

        strict = False
        coerce = True
        unique = ["citizen_id", "as_of_date"]


def mart_dates(con: duckdb.DuckDBPyConnection) -> set[date]:
    """Return the as-of dates in ``marts.scoring_features`` (empty if absent)."""
    if not table_exists(con, "marts", "scoring_features"):
        return set()
    rows = con.execute(
        "select distinct as_of_date from marts.scoring_features"
    ).fetchall()
    return {r[0] for r in rows}


def _extract_hash(con: duckdb.DuckDBPyConnection) -> str:
    if not table_exists(con, "raw", "extract_info"):
        return ""
    row = con.execute("select extract_hash from raw.extract_info limit 1").fetchone()
    return str(row[0]) if row and row[0] is not None else ""


@cache
def features_version() -> str:
    """Hash of the feature SQL and contracts that build the mart (16 hex digits).

    A mart built by other feature SQL (an older Opspor) may lack columns or hold
    other values, so its dates are not fresh.
    """
    digest = hashlib.sha256()
    stack = [resources.files("features").joinpath("sql")]
    files = []
    while stack:
        for item in stack.pop().iterdir():
            if item.is_dir():
                stack.append(item)
            elif item.name.endswith((".sql", ".yml", ".csv")):
                files.append(item)
    for item in sorted(files, key=str):
        digest.update(item.name.encode() + b"\0" + item.read_bytes())
    return digest.hexdigest()[:16]


def fresh_dates(con: duckdb.DuckDBPyConnection) -> set[date]:
    """Return the mart's dates built from the extract loaded now by this feature SQL."""
    if "features_version" not in _columns(con, "models.feature_builds"):
        return set()  # no record, or one written before versions were recorded
    rows = con.execute(
        "select as_of_date from models.feature_builds"
        " where extract_hash = $h and features_version = $v",
        {"h": _extract_hash(con), "v": features_version()},
    ).fetchall()
    return {r[0] for r in rows} & mart_dates(con)


def record_feature_build(con: duckdb.DuckDBPyConnection, dates: Sequence[date]) -> None:
    """Record that the mart holds ``dates`` built from the extract loaded now.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The warehouse.
    dates : sequence of date
        Every date the mart now holds for this extract.
    """
    con.execute("create schema if not exists models")
    con.execute(FEATURE_BUILDS_DDL)
    con.execute(
        "insert into models.feature_builds select $h, $v, unnest($dates)",
        {"h": _extract_hash(con), "v": features_version(), "dates": sorted(set(dates))},
    )


def _mart_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute(
        "select table_name from information_schema.columns where table_schema = 'marts'"
        " and column_name = 'as_of_date' and table_name in (select table_name from"
        " information_schema.tables where table_schema = 'marts' and table_type = "
        "'BASE TABLE')"
    ).fetchall()
    return sorted({check_identifier(r[0], "Table") for r in rows})


def _kept(table: str) -> tuple[str, str]:
    """Return the name a table is kept under during the build, and its own name."""
    schema, name = table.split(".")
    return f"{schema}.keep_{name}", name


def _set_aside(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Rename every mart table (and the spine) out of the build's way; no rows move."""
    tables = [*(f"marts.{t}" for t in _mart_tables(con)), "main.spine"]
    with transaction(con):
        for table in tables:
            kept, _ = _kept(table)
            con.execute(f"drop table if exists {kept}")
            con.execute(f"alter table {table} rename to {kept.split('.')[1]}")
    return tables


def _restore(con: duckdb.DuckDBPyConnection, tables: list[str]) -> None:
    """Undo :func:`_set_aside` after a failed build."""
    for table in tables:
        kept, name = _kept(table)
        con.execute(f"drop table if exists {table}")
        con.execute(f"alter table {kept} rename to {name}")


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    schema, name = table.split(".")
    rows = con.execute(
        "select column_name from information_schema.columns"
        " where table_schema = $s and table_name = $t order by ordinal_position",
        {"s": schema, "t": name},
    ).fetchall()
    return [r[0] for r in rows]


def _put_back(
    con: duckdb.DuckDBPyConnection, tables: list[str], keep: list[date]
) -> bool:
    """Add the new build's rows to the kept tables and give them their names back.

    Only the new dates move (the kept dates may be many). If the build changed a
    table's columns, the kept rows are dropped instead; returns whether they
    were kept.
    """
    same = all(set(_columns(con, t)) == set(_columns(con, _kept(t)[0])) for t in tables)
    with transaction(con):
        for table in tables:
            kept, name = _kept(table)
            if not same:
                con.execute(f"drop table {kept}")
                continue
            con.execute(
                f"delete from {kept} where as_of_date not in (select unnest($d))",
                {"d": keep},
            )
            con.execute(f"insert into {kept} by name select * from {table}")
            con.execute(f"drop table {table}")
            con.execute(f"alter table {kept} rename to {name}")
    return same


def ensure_features(
    con: duckdb.DuckDBPyConnection, dates: Sequence[date]
) -> list[date]:
    """Build the scoring mart for the ``dates`` it lacks, keeping the dates it has.

    A date counts as present only if it was built from the extract loaded now
    (``models.feature_builds``). :func:`features.build.build_features` builds
    exactly the dates it is given, so the mart tables are renamed out of its way
    and the new dates' rows are added to them afterwards (a failed build renames
    them back): a stage never removes rows another stage still reads, and never
    rebuilds them.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The warehouse with ``raw.*`` loaded.
    dates : sequence of date
        As-of dates the caller needs.

    Returns
    -------
    list of date
        The dates that were built (empty if nothing had to be built).
    """
    from features.build import build_features

    fresh = fresh_dates(con)
    missing = sorted(set(dates) - fresh)
    if not missing:
        return []
    keep = sorted(fresh - set(missing))
    tables = _set_aside(con) if keep else []
    try:
        build_features(con, as_of_dates=missing)
    except BaseException:
        _restore(con, tables)
        raise
    if tables and not _put_back(con, tables, keep):
        keep = []
    record_feature_build(con, [*keep, *missing])
    logger.info("built features for %s as-of dates, kept %s", len(missing), len(keep))
    return missing


def feature_kinds(
    con: duckdb.DuckDBPyConnection, features: Sequence[str], *, spec: str
) -> dict[str, str]:
    """Tell which features are categorical (VARCHAR) and which numeric.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The warehouse with ``marts.scoring_features``.
    features : sequence of str
        Feature columns.
    spec : str
        Spec name for the error message.

    Returns
    -------
    dict
        ``feature -> "categorical" | "numeric"`` in the order given; broad
        covariates (``marts.broad_covariates``, see :mod:`models.broad`) are
        numeric.

    Raises
    ------
    ConfigError
        A feature is not a column of the mart.
    """
    rows = con.execute(
        "select column_name, data_type from information_schema.columns"
        " where table_schema = 'marts' and table_name = 'scoring_features'"
    ).fetchall()
    types = dict(rows)
    missing = [f for f in features if f not in types and not is_broad_covariate(f)]
    if missing:
        raise ConfigError(
            MISSING_FEATURES.format(spec=spec, missing=", ".join(missing))
        )
    return {
        f: "categorical" if types.get(f) == "VARCHAR" else "numeric" for f in features
    }


def _select_columns(features: Sequence[str]) -> str:
    """Return the mart columns of ``features`` (not broad ones) as ``, m.x``."""
    return "".join(
        f", m.{check_identifier(f, 'Feature')}"
        for f in features
        if not is_broad_covariate(f)
    )


def _broad(features: Sequence[str]) -> list[str]:
    return [f for f in features if is_broad_covariate(f)]


def build_training_matrix(
    con: duckdb.DuckDBPyConnection,
    *,
    outcome: str,
    features: Sequence[str],
    dates: Sequence[date],
    kinds: dict[str, str],
) -> pd.DataFrame:
    """Join features at ``dates`` to ``labels.<outcome>``, leaving censored rows out.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        Warehouse with ``marts.scoring_features`` and ``labels.<outcome>``.
    outcome : str
        Outcome name.
    features : sequence of str
        Feature columns to carry; broad covariate ids are pivoted from
        ``marts.broad_covariates`` (:func:`models.broad.add_broad_columns`).
    dates : sequence of date
        Index dates to keep.
    kinds : dict
        ``feature -> "categorical" | "numeric"`` (see :func:`feature_kinds`).

    Returns
    -------
    pandas.DataFrame
        ``citizen_id``, ``as_of_date``, ``label`` and the features, sorted by
        date and citizen; numeric features as float, categorical as str.
    """
    check_identifier(outcome, "Outcome")
    sql = (
        f"select l.citizen_id, l.as_of_date, l.label{_select_columns(features)}"
        f" from labels.{outcome} as l"
        " inner join marts.scoring_features as m"
        " on m.citizen_id = l.citizen_id and m.as_of_date = l.as_of_date"
        " where l.label is not null and l.as_of_date in (select unnest($dates))"
        " order by l.as_of_date, l.citizen_id"
    )
    frame = con.execute(sql, {"dates": list(dates)}).df()
    frame = prepare_features(add_broad_columns(con, frame, _broad(features)), kinds)
    frame["label"] = frame["label"].astype("int64")
    return frame


def prepare_features(frame: pd.DataFrame, kinds: dict[str, str]) -> pd.DataFrame:
    """Return a copy with numeric features as float64 and categorical ones as str.

    Parameters
    ----------
    frame : pandas.DataFrame
        Rows from the mart.
    kinds : dict
        ``feature -> "categorical" | "numeric"``.

    Returns
    -------
    pandas.DataFrame
    """
    out = frame.copy()
    out["as_of_date"] = pd.to_datetime(out["as_of_date"])
    for name, kind in kinds.items():
        if kind == "numeric":
            out[name] = pd.to_numeric(
                out[name].astype("Float64"), errors="coerce"
            ).astype("float64")
        else:
            out[name] = (
                out[name]
                .astype("object")
                .where(out[name].notna(), MISSING_CATEGORY)
                .astype(str)
            )
    return out


def read_cohort_frame(
    con: duckdb.DuckDBPyConnection,
    *,
    cohort: str,
    as_of: date,
    features: Sequence[str],
    kinds: dict[str, str],
    batch: CitizenBatch | None = None,
    citizen_ids: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Return the features of every cohort member alive and resident at ``as_of``.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        Warehouse with ``marts.scoring_features``.
    cohort : str
        Cohort flag column.
    as_of : date
        The as-of date.
    features : sequence of str
        Feature columns; broad covariate ids are pivoted from
        ``marts.broad_covariates`` (0 or NULL where a citizen lacks one).
    kinds : dict
        ``feature -> "categorical" | "numeric"``.
    batch : (str, str or None), optional
        Only the citizens of one :func:`cohort_batches` batch.
    citizen_ids : sequence of str, optional
        Only these citizens (e.g. the ones a model explains on demand).

    Returns
    -------
    pandas.DataFrame
        ``citizen_id``, ``as_of_date`` and the features, sorted by citizen.
    """
    check_identifier(cohort, "Cohort")
    bounds, params = batch_condition(batch, "m.citizen_id")
    if citizen_ids is not None:
        bounds += " and m.citizen_id in (select unnest(cast($ids as varchar[])))"
        params["ids"] = list(citizen_ids)
    sql = (
        f"select m.citizen_id, m.as_of_date{_select_columns(features)}"
        " from marts.scoring_features as m"
        f" where m.as_of_date = $as_of and m.{cohort} and m.is_alive_resident"
        f"{bounds} order by m.citizen_id"
    )
    frame = con.execute(sql, {"as_of": as_of, **params}).df()
    return prepare_features(add_broad_columns(con, frame, _broad(features)), kinds)


def batch_condition(
    batch: CitizenBatch | None, column: str
) -> tuple[str, dict[str, Any]]:
    """Return ``" and <column> >= $lo [and <column> < $hi]"`` and its parameters.

    ``column`` is one of our constants (``"citizen_id"``, ``"m.citizen_id"``);
    the ids are bound. ``None`` (no batch) gives no condition.
    """
    if batch is None:
        return "", {}
    if batch[1] is None:
        return f" and {column} >= $lo", {"lo": batch[0]}
    return f" and {column} >= $lo and {column} < $hi", {"lo": batch[0], "hi": batch[1]}


def cohort_batches(
    con: duckdb.DuckDBPyConnection, *, cohort: str, as_of: date, size: int
) -> list[CitizenBatch]:
    """Split the cohort at ``as_of`` into runs of ``size`` citizens, in id order.

    Scoring and explaining read one batch at a time, so their memory is set by
    ``size`` and the number of features, not by the number of citizens.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        Warehouse with ``marts.scoring_features``.
    cohort : str
        Cohort flag column.
    as_of : date
        The as-of date.
    size : int
        Citizens per batch (at least 1).

    Returns
    -------
    list of (str, str or None)
        ``[first id, first id of the next batch)``; the last batch is open.
        Empty when the cohort is.
    """
    check_identifier(cohort, "Cohort")
    starts = con.execute(
        "select citizen_id from (select m.citizen_id, row_number() over"
        " (order by m.citizen_id) as n from marts.scoring_features as m"
        f" where m.as_of_date = $as_of and m.{cohort} and m.is_alive_resident)"
        " where (n - 1) % $size = 0 order by citizen_id",
        {"as_of": as_of, "size": max(1, size)},
    ).fetchall()
    ids = [str(row[0]) for row in starts]
    return [(ids[i], ids[i + 1] if i + 1 < len(ids) else None) for i in range(len(ids))]


def citizen_groups(
    citizen_ids: pd.Series,
    *,
    test_share: float,
    calibration_share: float,
    random_state: int,
) -> pd.Series:
    """Assign each citizen, once and for all, to the train, calibration or test group.

    A salted SHA-256 of the pseudonymous id gives a uniform number in [0, 1),
    so the same citizen falls in the same group in every run and at every
    index date, whatever else is in the extract.

    Parameters
    ----------
    citizen_ids : pandas.Series
        Pseudonymous ids.
    test_share, calibration_share : float
        Shares of citizens in the test and calibration groups.
    random_state : int
        Salt of the hash.

    Returns
    -------
    pandas.Series
        ``"train"``, ``"calibration"`` or ``"test"`` aligned with ``citizen_ids``.
    """
    unique = pd.unique(citizen_ids)
    draws = citizen_draws(unique, salt=f"opspor-split-{random_state}:")
    group = np.where(
        draws < test_share,
        "test",
        np.where(draws < test_share + calibration_share, "calibration", "train"),
    )
    mapping = dict(zip(unique, group, strict=True))
    return citizen_ids.map(mapping).astype(str)


def citizen_draws(citizen_ids: Any, *, salt: str) -> NDArray[np.float64]:
    """Return each id's uniform number in [0, 1): a salted SHA-256 of the id.

    The same citizen gets the same number in every run and at every index
    date; another salt gives an independent draw (the split and the training
    sample of :mod:`models.sampling` use different salts).
    """
    prefix = salt.encode()
    return (
        np.array(
            [
                int.from_bytes(
                    hashlib.sha256(prefix + str(c).encode()).digest()[:8], "big"
                )
                for c in citizen_ids
            ],
            dtype=np.float64,
        )
        / 2.0**64
    )


def assign_splits(
    frame: pd.DataFrame,
    *,
    test_date: date,
    horizon_days: int,
    test_share: float,
    calibration_share: float,
    random_state: int,
    refit: bool = False,
) -> pd.DataFrame:
    """Split a labelled frame in time and by citizen.

    The test set is the test group at ``test_date`` (the latest fully observed
    index date). Training and calibration use their groups at index dates whose
    outcome window ends by ``test_date``, so no label used in fitting was
    observed after the test period began. Rows outside these sets are dropped.

    Parameters
    ----------
    frame : pandas.DataFrame
        Labelled rows with ``citizen_id`` and ``as_of_date``.
    test_date : date
        The test index date.
    horizon_days : int
        Outcome window length (the purge gap before ``test_date``).
    test_share, calibration_share : float
        Shares of citizens in the test and calibration groups.
    random_state : int
        Salt of the citizen grouping.
    refit : bool
        Also keep the training and calibration groups at ``test_date``
        (``refit_train``, ``refit_calibration``) for the refit after validation.

    Returns
    -------
    pandas.DataFrame
        The kept rows with a ``split`` column, validated as :class:`TrainingMatrix`.
    """
    groups = citizen_groups(
        frame["citizen_id"],
        test_share=test_share,
        calibration_share=calibration_share,
        random_state=random_state,
    )
    day = frame["as_of_date"].dt.date
    fitting = day <= test_date - timedelta(days=horizon_days)
    split = pd.Series(pd.NA, index=frame.index, dtype="object")
    split[(day == test_date) & (groups == "test")] = "test"
    split[fitting & (groups == "train")] = "train"
    split[fitting & (groups == "calibration")] = "calibration"
    if refit:
        split[(day == test_date) & (groups == "train")] = "refit_train"
        split[(day == test_date) & (groups == "calibration")] = "refit_calibration"
    out = frame.assign(split=split)
    out = out[out["split"].notna()].reset_index(drop=True)
    return TrainingMatrix.validate(out)


def check_split(frame: pd.DataFrame, split: str, *, spec: str) -> None:
    """Raise DataError unless ``split`` holds rows of both classes."""
    labels = frame.loc[frame["split"] == split, "label"]
    if labels.nunique() < 2:
        raise DataError(
            EMPTY_SPLIT.format(
                split=split, spec=spec, n=len(labels), events=int(labels.sum())
            )
        )


def check_dates(dates: Sequence[date], *, spec: str, start: date, end: date) -> None:
    """Raise DataError unless there are at least two eligible index dates."""
    if len(dates) < 2:
        raise DataError(
            TOO_FEW_DATES.format(spec=spec, n=len(dates), start=start, end=end)
        )
