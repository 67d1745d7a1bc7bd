"""Build the features: run the SQL layers of ``features/sql`` over ``raw.*``.

This is the ``opspor features`` stage. :func:`build_features` writes ``main.spine``
(:mod:`features.spine`), creates the macros, then each layer named in
``features/sql/project.yml`` in order (staging, intermediate and citizen views, then
the mart tables) and runs the layer's contract checks (:mod:`features.checks`).
A citizen view that a mart inherits is checked on the mart rows built from it, so
it is computed once, not twice. A spine-free model whose contract says
``materialized: table`` is written as a table, so the views of every mart slice read
it instead of computing it again. The mart tables are written in slices of as-of
dates (every citizen in each) to bound memory. The whole build is one transaction:
a failed check leaves the previous marts in place.
:func:`export_scoring_features` writes ``marts.scoring_features`` for one date to
Parquet, for the models stage and for inspection.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import date
from importlib import resources
from itertools import pairwise
from pathlib import Path
from time import perf_counter

import duckdb
import pyarrow.parquet as pq

from features.checks import check_relation, load_contract, sql_stems
from features.db import (
    check_identifier,
    connect,
    read_sql,
    read_yaml,
    relation_kind,
    run_sql,
    swap_table,
    table_exists,
    transaction,
)
from features.errors import ConfigError, NotFoundError
from features.files import atomic_write
from features.provenance import stamp_derived
from features.spine import write_spine

__all__ = [
    "BAD_LAYER",
    "BAD_MODEL",
    "NO_EXTRACT",
    "NO_FEATURES",
    "RAW_TABLES",
    "SLICE_ROWS",
    "FeatureBuild",
    "FeatureExport",
    "Layer",
    "build_features",
    "create_macros",
    "export_scoring_features",
    "layers",
    "open_warehouse",
]

logger = logging.getLogger(__name__)

RAW_TABLES = (
    "citizens",
    "diagnoses",
    "prescriptions",
    "appointments",
    "lab_results",
    "hospital_contacts",
)
# Spine rows per slice when tables are materialised: bounds the memory of the mart's
# joins (about 3 GB on 2 threads for 3 million rows of ~60 columns); a slice is a
# run of as-of dates, so it may hold more rows than this.
SLICE_ROWS = 3_000_000
# DuckDB's optimizer that may swap the two sides of a hash join (see
# _views_on_build_side).
_BUILD_SIDE_OPTIMIZER = "build_side_probe_side"
# While the marts are written in slices, the whole spine waits under this name.
_SPINE_ALL = "spine__all_slices"
_SPINE_SLICE = (
    f"select citizen_id, as_of_date from main.{_SPINE_ALL}"
    " where as_of_date between $first and $last"
    # Typed parameters: an untyped one makes DuckDB do the modulo slowly.
    " and hash(citizen_id) % cast($parts as ubigint) = cast($part as ubigint)"
)
NO_EXTRACT = "No extract is loaded in {db}; run `opspor load EXTRACT_DIR` first."
NO_FEATURES = (
    "No features for as-of date {as_of} in {db};"
    " run `opspor features --as-of {as_of}` first."
)
BAD_MODEL = (
    "The 'materialized' setting of model {model!r} in its .yml contract "
    "must be 'view' or 'table'. Got {value!r} instead."
)
BAD_LAYER = (
    "The 'materialized' setting of layer {folder!r} in features/sql/project.yml "
    "must be 'view' or 'table'. Got {value!r} instead."
)


@dataclass(frozen=True)
class Layer:
    """One folder of ``features/sql``: its schema and how it is materialised."""

    folder: str
    schema: str
    materialized: str


@dataclass(frozen=True)
class FeatureBuild:
    """What a feature build wrote."""

    db: str
    as_of_dates: list[date]
    n_citizens: int
    n_rows: int
    n_features: int
    tables: list[str]
    seconds: float


@dataclass(frozen=True)
class FeatureExport:
    """What a feature export wrote."""

    path: Path
    as_of_date: date
    n_rows: int
    n_columns: int


def layers() -> list[Layer]:
    """Return the layers of ``features/sql/project.yml`` in build order."""
    found = []
    for entry in read_yaml("features", "sql", "project.yml")["layers"]:
        layer = Layer(
            check_identifier(entry["folder"], "Layer folder"),
            check_identifier(entry["schema"], "Schema"),
            str(entry["materialized"]),
        )
        if layer.materialized not in ("view", "table"):
            raise ConfigError(
                BAD_LAYER.format(folder=layer.folder, value=layer.materialized)
            )
        found.append(layer)
    return found


def create_macros(con: duckdb.DuckDBPyConnection) -> None:
    """Create the shared macros: every file of ``features/sql/macros``, by name.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The warehouse (or an in-memory database) to create them in.
    """
    folder = read_yaml("features", "sql", "project.yml")["macros"]
    for stem in sql_stems(check_identifier(folder, "Macro folder")):
        run_sql(con, read_sql("features", "sql", folder, f"{stem}.sql"))


def _db_label(con: duckdb.DuckDBPyConnection) -> str:
    """Return the warehouse file of a connection, or ``:memory:``."""
    rows = con.execute(
        "select path from duckdb_databases() where database_name = current_database()"
    ).fetchall()
    return str(rows[0][0]) if rows and rows[0][0] else ":memory:"


def open_warehouse(path: Path, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open an existing warehouse; raise NotFoundError (:data:`NO_EXTRACT`) if none."""
    if not Path(path).exists():
        raise NotFoundError(NO_EXTRACT.format(db=path))
    return connect(path, read_only=read_only)


def _has_mart(con: duckdb.DuckDBPyConnection) -> bool:
    """Tell whether marts.scoring_features exists (a fully fetched query)."""
    rows = con.execute(
        "select count(*) from information_schema.tables"
        " where table_schema = 'marts' and table_name = 'scoring_features'"
    ).fetchall()
    return bool(rows[0][0])


@contextmanager
def _unordered(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Let DuckDB write tables in any row order (faster, less memory); then restore."""
    before = con.execute(
        "select current_setting('preserve_insertion_order')"
    ).fetchall()
    con.execute("set preserve_insertion_order = false")
    try:
        yield
    finally:
        value = "true" if before[0][0] else "false"
        con.execute(f"set preserve_insertion_order = {value}")


@contextmanager
def _views_on_build_side(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Keep each joined view on the build side of its hash join; then restore.

    A mart joins views of one row per spine row, so DuckDB's size estimates tie
    and it may build its hash tables on the growing side of the join instead,
    copying the mart's columns again and again (about a fifth slower).
    """
    rows = con.execute("select current_setting('disabled_optimizers')").fetchall()
    names = [n.strip() for n in str(rows[0][0]).split(",") if n.strip()]
    before = [check_identifier(n, "Optimizer") for n in names]
    value = ",".join(dict.fromkeys([*before, _BUILD_SIDE_OPTIMIZER]))
    con.execute(f"set disabled_optimizers = '{value}'")
    try:
        yield
    finally:
        con.execute(f"set disabled_optimizers = '{','.join(before)}'")


def _load_seeds(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Load every name table ``features/sql/seeds/*.csv`` as ``seeds.<stem>``.

    Every column is text; the SQL casts where it needs to.
    """
    folder = resources.files("features").joinpath("sql", "seeds")
    con.execute("create schema if not exists seeds")
    names = []
    for item in sorted(folder.iterdir(), key=lambda p: p.name):
        if not item.name.endswith(".csv"):
            continue
        stem = check_identifier(item.name[: -len(".csv")], "Seed")
        with resources.as_file(item) as path:
            swap_table(
                con,
                "seeds",
                stem,
                "select * from read_csv($path, header = true, all_varchar = true)",
                {"path": str(path)},
            )
        names.append(f"seeds.{stem}")
    return names


def _require_extract(con: duckdb.DuckDBPyConnection) -> None:
    """Raise NotFoundError unless every raw contract table is loaded."""
    if not all(table_exists(con, "raw", t) for t in RAW_TABLES):
        raise NotFoundError(NO_EXTRACT.format(db=_db_label(con)))


def _materialization(layer: Layer, stem: str) -> str:
    """Return how one model is materialised: its contract's setting, else the layer's.

    A spine-free model that several views read can say ``materialized: table`` in
    its ``.yml`` (as a dbt model config does): it is then computed once per build.
    """
    value = load_contract(f"{layer.folder}/{stem}.yml").body.get("materialized")
    if value is None:
        return layer.materialized
    if value not in ("view", "table"):
        model = f"{layer.folder}/{stem}"
        raise ConfigError(BAD_MODEL.format(model=model, value=value))
    return str(value)


def _drop_other_kind(
    con: duckdb.DuckDBPyConnection, schema: str, name: str, kind: str
) -> None:
    """Drop ``schema.name`` if it exists as the other kind (a view, or a table)."""
    found = relation_kind(con, schema, name)
    if found is not None and found != kind:
        con.execute(f"drop {found} {schema}.{name}")


def _materialise_views(con: duckdb.DuckDBPyConnection, layer: Layer) -> list[str]:
    """Create every model of a view layer; return their ``schema.name``.

    A model whose contract says ``materialized: table`` is written as a table.
    """
    con.execute(f"create schema if not exists {layer.schema}")
    names = []
    for stem in sql_stems(layer.folder):
        sql = read_sql("features", "sql", layer.folder, f"{stem}.sql")
        kind = _materialization(layer, stem)
        _drop_other_kind(con, layer.schema, stem, kind)
        if kind == "table":
            swap_table(con, layer.schema, stem, f"\n{sql}")
        else:
            run_sql(con, f"create or replace view {layer.schema}.{stem} as\n{sql}")
        names.append(f"{layer.schema}.{stem}")
    logger.info("Created %d models in %s", len(names), layer.schema)
    return names


@dataclass(frozen=True)
class _Slice:
    """Spine rows with an as-of date in [first, last], one hash part of citizens."""

    first: date
    last: date
    parts: int = 1
    part: int = 0


def _spine_slices(dates: Sequence[date], n_rows: int, slice_rows: int) -> list[_Slice]:
    """Split the spine into about ``n_rows / slice_rows`` slices by as-of date.

    Runs of consecutive dates come first; only when one date holds more than
    ``slice_rows`` rows are its citizens split further, by a hash of their id.
    """
    days = sorted(set(dates))
    wanted = max(1, -(-n_rows // max(1, slice_rows)))
    if wanted <= len(days):
        bounds = [i * len(days) // wanted for i in range(wanted + 1)]
        return [_Slice(days[a], days[b - 1]) for a, b in pairwise(bounds)]
    parts = -(-wanted // len(days))
    return [_Slice(day, day, parts, part) for day in days for part in range(parts)]


def _spine_free(layer: Layer, stem: str) -> bool:
    """Tell whether a table model says ``spine_free: true`` (written once)."""
    return bool(load_contract(f"{layer.folder}/{stem}.yml").body.get("spine_free"))


def _materialise_tables(
    con: duckdb.DuckDBPyConnection, layer: Layer, slices: Sequence[_Slice]
) -> list[str]:
    """Create every table of one layer, one slice of the spine at a time.

    A slice holds every citizen at some of the as-of dates (see
    :func:`_spine_slices`); it bounds the memory the joins of a wide mart need,
    and the feature SQL meets events with only that slice's dates. ``main.spine``
    holds one slice at a time; the full spine is renamed aside meanwhile. A
    ``spine_free`` model (no as-of date in its rows) is written with the first
    slice only.
    """
    con.execute(f"create schema if not exists {layer.schema}")
    stems = sql_stems(layer.folder)
    sliced = len(slices) > 1
    if sliced:
        con.execute(f"alter table main.spine rename to {_SPINE_ALL}")
    for i, piece in enumerate(slices):
        if sliced:
            swap_table(con, "main", "spine", _SPINE_SLICE, asdict(piece))
        for stem in stems:
            sql = read_sql("features", "sql", layer.folder, f"{stem}.sql")
            if i == 0:
                _drop_other_kind(con, layer.schema, stem, "table")
                swap_table(con, layer.schema, stem, f"\n{sql}")
            elif not _spine_free(layer, stem):
                run_sql(
                    con, f"insert into {layer.schema}.{stem} select * from (\n{sql}\n)"
                )
    if sliced:
        con.execute("drop table main.spine")
        con.execute(f"alter table main.{_SPINE_ALL} rename to spine")
    logger.info(
        "Created %d tables in %s (%d slices)", len(stems), layer.schema, len(slices)
    )
    return [f"{layer.schema}.{stem}" for stem in stems]


def _checked_through_marts() -> dict[str, str]:
    """Map each view a mart inherits (``citizen.feat_x``) to that mart table."""
    found = {}
    for layer in layers():
        if layer.materialized != "table":
            continue
        for stem in sql_stems(layer.folder):
            body = load_contract(f"{layer.folder}/{stem}.yml").body
            for parent in body.get("inherits") or []:
                found[parent.replace("/", ".")] = f"{layer.schema}.{stem}"
    return found


def _check_layer(
    con: duckdb.DuckDBPyConnection,
    layer: Layer,
    names: Sequence[str],
    deferred: Mapping[str, str],
) -> None:
    """Run the contracts of one layer; views a mart inherits wait for that mart."""
    for name in names:
        if name not in deferred:
            stem = name.split(".")[1]
            check_relation(con, load_contract(f"{layer.folder}/{stem}.yml"), name)


def _check_deferred(
    con: duckdb.DuckDBPyConnection, deferred: Mapping[str, str]
) -> None:
    """Check each inherited view's column tests on the mart rows built from it."""
    for view, mart in deferred.items():
        contract = load_contract(f"{view.replace('.', '/')}.yml")
        check_relation(con, contract, view, rows_from=mart)


def _count_features() -> int:
    """Count the columns with role ``feature`` in the scoring mart's contract."""
    contract = load_contract("marts/scoring_features.yml")
    return sum(1 for c in contract.columns if c.get("role") == "feature")


def build_features(
    con: duckdb.DuckDBPyConnection,
    as_of_dates: Sequence[date],
    *,
    checks: bool = True,
    slice_rows: int = SLICE_ROWS,
) -> FeatureBuild:
    """Build every feature layer for all ``as_of_dates`` in one pass.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        A warehouse with the ``raw.*`` contract tables loaded.
    as_of_dates : sequence of date
        The as-of dates; ``main.spine`` and the marts are replaced with exactly these.
    checks : bool
        Run the YAML contract checks after each layer (default ``True``).
    slice_rows : int
        Spine rows per slice when the mart tables are written (see
        :func:`_materialise_tables`); the result does not depend on it.

    Returns
    -------
    FeatureBuild

    Raises
    ------
    NotFoundError
        If no extract is loaded (:data:`NO_EXTRACT`).
    ConfigError
        If no as-of date is given.
    ContractError
        If a contract check fails; nothing of the build is kept.
    """
    _require_extract(con)
    started = perf_counter()
    tables: list[str] = []
    deferred = _checked_through_marts()
    with _unordered(con), transaction(con):
        n_rows = write_spine(con, as_of_dates)
        if checks:
            check_relation(con, load_contract("spine.yml"), "main.spine")
        create_macros(con)
        _load_seeds(con)
        slices = _spine_slices(as_of_dates, n_rows, slice_rows)
        for layer in layers():
            if layer.materialized == "table":
                with _views_on_build_side(con):
                    names = _materialise_tables(con, layer, slices)
            else:
                names = _materialise_views(con, layer)
            if checks and layer.materialized == "table":
                _check_deferred(con, deferred)
            if checks:
                _check_layer(con, layer, names, deferred)
            if layer.materialized == "table":
                tables.extend(names)
        stamp_derived(con, "features", as_of_dates=as_of_dates)
    dates = sorted(set(as_of_dates))
    seconds = round(perf_counter() - started, 3)
    logger.info(
        "Built features: %d rows, %d dates, %.1f s", n_rows, len(dates), seconds
    )
    return FeatureBuild(
        db=_db_label(con),
        as_of_dates=dates,
        n_citizens=n_rows // len(dates),
        n_rows=n_rows,
        n_features=_count_features(),
        tables=tables,
        seconds=seconds,
    )


def export_scoring_features(
    con: duckdb.DuckDBPyConnection, *, as_of_date: date, out: Path
) -> FeatureExport:
    """Write ``marts.scoring_features`` for one as-of date to Parquet, atomically.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        A warehouse where features were built.
    as_of_date : date
        The date to export.
    out : Path
        The Parquet file; written to a temporary file first, then renamed.

    Returns
    -------
    FeatureExport

    Raises
    ------
    NotFoundError
        If the mart has no rows for ``as_of_date`` (:data:`NO_FEATURES`).
    """
    missing = NotFoundError(NO_FEATURES.format(as_of=as_of_date, db=_db_label(con)))
    if not _has_mart(con):
        raise missing
    table = con.sql(
        "select * from marts.scoring_features where as_of_date = $as_of_date"
        " order by citizen_id",
        params={"as_of_date": as_of_date},
    ).to_arrow_table()
    if table.num_rows == 0:
        raise missing
    out = atomic_write(Path(out), lambda tmp: pq.write_table(table, tmp), mode=0o644)
    logger.info("Exported %d rows of scoring features", table.num_rows)
    return FeatureExport(out, as_of_date, table.num_rows, table.num_columns)
