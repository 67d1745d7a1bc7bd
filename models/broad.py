"""Broad covariates as model columns: chosen on training rows, pivoted wide.

``marts.broad_covariates`` (``features/sql/covariates``) holds one row per cohort
citizen, as-of date and covariate whose value is neither zero nor NULL (long
format, as OHDSI FeatureExtraction stores covariates). A spec with
``feature_set = "broad"`` or ``"both"`` gets them as columns:

- :func:`choose_broad_covariates` keeps the covariates non-zero in at least
  ``broad_min_rows`` training rows; :func:`resolve_broad_features` records them
  in the spec (``broad_covariates``), which is logged with the model, so scoring
  and explaining build exactly these columns;
- :func:`add_broad_columns` pivots the long rows of given keys to one column per
  covariate, scattering them into one preallocated array (no wide intermediate in
  DuckDB or pandas). A covariate a row lacks is 0 for counts and flags and NULL
  (NaN) for ``_last`` and ``_days_since`` (never measured);
- :func:`broad_feature_infos` reads the reasons of ``marts.broad_covariate_ref``
  for :mod:`models.explain`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from features.db import table_exists
from features.errors import DataError, NotFoundError
from models.spec import BROAD_ID, ModelSpec

__all__ = [
    "CURATED_TWINS",
    "NO_BROAD_COVARIATES",
    "NO_BROAD_TABLE",
    "absent_value",
    "add_broad_columns",
    "broad_reason_rows",
    "choose_broad_covariates",
    "is_broad_covariate",
    "resolve_broad_features",
]

logger = logging.getLogger(__name__)

NO_BROAD_TABLE = (
    "The spec {spec!r} uses broad covariates but the warehouse has no "
    "marts.broad_covariates; run `opspor features` with this Opspor first."
)
NO_BROAD_COVARIATES = (
    "The spec {spec!r} has feature_set 'broad' but no broad covariate is non-zero in "
    "{min_rows} training rows (broad_min_rows); lower it or use a larger extract."
)
#: Broad covariates that restate a curated feature. With ``feature_set = "both"``
#: and the curated feature among the spec's features, the twin is not chosen: one
#: column and one reason ("Seneste langtidsblodsukker ...") instead of two.
CURATED_TWINS: Mapping[str, str] = {
    "npu27300_last": "hba1c_last_mmol_mol",
    "npu27300_days_since": "days_since_hba1c",
    "npu27300_n_730d": "n_hba1c_730d",
    "hosp_acute_admission_365d": "n_acute_admissions_365d",
    "hosp_emergency_department_365d": "n_emergency_visits_365d",
}
#: Suffixes of covariates that are NULL, not 0, when a row lacks them.
_NULL_WHEN_ABSENT = ("_last", "_days_since")


def is_broad_covariate(name: str) -> bool:
    """Tell whether a feature name is a broad covariate id (its family prefix)."""
    return BROAD_ID.match(name) is not None


def absent_value(covariate_id: str) -> float:
    """Return a row's value of a covariate it lacks: NaN for last values, else 0."""
    return float("nan") if covariate_id.endswith(_NULL_WHEN_ABSENT) else 0.0


def _require_table(con: duckdb.DuckDBPyConnection, spec: str) -> None:
    if not table_exists(con, "marts", "broad_covariates"):
        raise NotFoundError(NO_BROAD_TABLE.format(spec=spec))


def _keys(frame: pd.DataFrame) -> pd.DataFrame:
    """Row number, citizen and as-of date (as datetime64) of each row of ``frame``."""
    return pd.DataFrame(
        {
            "row_number": np.arange(len(frame), dtype=np.int64),
            "citizen_id": frame["citizen_id"].astype(str).to_numpy(),
            "as_of_date": pd.to_datetime(frame["as_of_date"]).to_numpy(),
        }
    )


def choose_broad_covariates(
    con: duckdb.DuckDBPyConnection, rows: pd.DataFrame, *, min_rows: int, spec: str
) -> list[str]:
    """Return the covariates non-zero and non-NULL in at least ``min_rows`` rows.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        Warehouse with ``marts.broad_covariates``.
    rows : pandas.DataFrame
        The training rows (``citizen_id``, ``as_of_date``).
    min_rows : int
        The spec's ``broad_min_rows``.
    spec : str
        Spec name for the error message.

    Returns
    -------
    list of str
        Covariate ids, sorted.
    """
    _require_table(con, spec)
    con.register("_broad_keys", _keys(rows))
    try:
        found = con.execute(
            "select b.covariate_id from marts.broad_covariates as b"
            " inner join _broad_keys as k on k.citizen_id = b.citizen_id"
            " and cast(k.as_of_date as date) = b.as_of_date"
            " where b.value <> 0 group by b.covariate_id"
            " having count(*) >= $min_rows order by b.covariate_id",
            {"min_rows": min_rows},
        ).fetchall()
    finally:
        con.unregister("_broad_keys")
    return [str(r[0]) for r in found if is_broad_covariate(str(r[0]))]


def add_broad_columns(
    con: duckdb.DuckDBPyConnection,
    frame: pd.DataFrame,
    covariates: Sequence[str],
    *,
    spec: str = "this model",
) -> pd.DataFrame:
    """Return a copy of ``frame`` with one float column per covariate.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        Warehouse with ``marts.broad_covariates``.
    frame : pandas.DataFrame
        Rows with ``citizen_id`` and ``as_of_date``.
    covariates : sequence of str
        Covariate ids; a row lacking one gets :func:`absent_value`.
    spec : str
        Spec name for the error message.

    Returns
    -------
    pandas.DataFrame
    """
    ids = list(covariates)
    if not ids:
        return frame.copy()
    _require_table(con, spec)
    wide = np.tile(np.array([absent_value(c) for c in ids]), (len(frame), 1))
    con.register("_broad_keys", _keys(frame))
    numbers = pd.DataFrame({"column_number": range(len(ids)), "id": ids})
    con.register("_broad_ids", numbers)
    try:
        long = con.execute(
            "select k.row_number, i.column_number, b.value"
            " from marts.broad_covariates as b"
            " inner join _broad_keys as k on k.citizen_id = b.citizen_id"
            " and cast(k.as_of_date as date) = b.as_of_date"
            " inner join _broad_ids as i on i.id = b.covariate_id"
        ).fetchnumpy()
    finally:
        con.unregister("_broad_keys")
        con.unregister("_broad_ids")
    wide[long["row_number"], long["column_number"]] = long["value"]
    columns = pd.DataFrame(wide, columns=ids, index=frame.index)
    return pd.concat([frame.drop(columns=ids, errors="ignore"), columns], axis=1)


def resolve_broad_features(
    con: duckdb.DuckDBPyConnection,
    matrix: pd.DataFrame,
    *,
    spec: ModelSpec,
    kinds: Mapping[str, str],
) -> tuple[pd.DataFrame, ModelSpec, dict[str, str]]:
    """Choose a spec's broad covariates on its training rows and add their columns.

    A curated spec comes back unchanged. Otherwise the covariates are chosen on
    the rows of split ``"train"`` (unless the spec names them already; a
    :data:`CURATED_TWINS` covariate whose curated feature the model uses is left
    out) and the returned spec records them in ``broad_covariates``.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        Warehouse with ``marts.broad_covariates``.
    matrix : pandas.DataFrame
        A split :class:`models.matrix.TrainingMatrix` with the curated features.
    spec : ModelSpec
        The spec.
    kinds : Mapping
        ``feature -> "categorical" | "numeric"`` of the curated features.

    Returns
    -------
    (pandas.DataFrame, ModelSpec, dict)
        The matrix with the broad columns, the resolved spec, and the kinds of
        ``spec.model_features`` in order (broad covariates are numeric).

    Raises
    ------
    DataError
        ``feature_set = "broad"`` and no covariate reaches ``broad_min_rows``.
    """
    if spec.feature_set == "curated":
        return matrix, spec, dict(kinds)
    if spec.broad_covariates is None:
        train = matrix[matrix["split"] == "train"]
        chosen = choose_broad_covariates(
            con, train, min_rows=spec.broad_min_rows, spec=spec.name
        )
        curated = set(spec.features) if spec.feature_set == "both" else set()
        chosen = [c for c in chosen if CURATED_TWINS.get(c) not in curated]
        spec = replace(spec, broad_covariates=tuple(chosen))
        logger.info("chose %s broad covariates for %s", len(chosen), spec.name)
    if not spec.model_features:
        raise DataError(
            NO_BROAD_COVARIATES.format(spec=spec.name, min_rows=spec.broad_min_rows)
        )
    out = add_broad_columns(con, matrix, spec.broad_covariates or (), spec=spec.name)
    resolved = {f: kinds.get(f, "numeric") for f in spec.model_features}
    return out, spec, resolved


def broad_reason_rows(
    con: duckdb.DuckDBPyConnection, covariates: Sequence[str]
) -> list[dict[str, Any]]:
    """Return the reference rows (unit and reasons) of these covariates.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        Warehouse with ``marts.broad_covariate_ref``.
    covariates : sequence of str
        Covariate ids.

    Returns
    -------
    list of dict
        Keys ``name``, ``unit``, ``reason`` and ``reason_missing`` (each
        ``{"da", "en"}``, empty when NULL); covariates absent from the reference
        are left out (they get no reason).
    """
    if not covariates or not table_exists(con, "marts", "broad_covariate_ref"):
        return []
    rows = con.execute(
        "select covariate_id, unit, reason_da, reason_en, reason_missing_da,"
        " reason_missing_en from marts.broad_covariate_ref"
        " where covariate_id in (select unnest($ids))",
        {"ids": list(covariates)},
    ).fetchall()
    return [
        {
            "name": r[0],
            "unit": r[1],
            "reason": {"da": r[2], "en": r[3]},
            "reason_missing": {"da": r[4], "en": r[5]} if r[4] and r[5] else {},
        }
        for r in rows
    ]
