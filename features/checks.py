"""Contract checks: the YAML file beside each feature SQL file, run as SQL.

:mod:`features.build` creates each layer of ``features/sql`` and then calls
:func:`check_relation` for every object in it. A contract (dbt-shaped YAML) names the
grain and, per column, tests: ``not_null``, ``{min: x}``, ``{max: y}``,
``{accepted_values: [...]}`` and ``{relationships: {to: schema.table, field: col}}``.
The grain is checked for uniqueness and the column list for agreement with the
relation. Every failure becomes one line of a :class:`~features.errors.ContractError`
naming the file, the column, the test, the number of rows and a sample of the
offending values (identifiers are never shown).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import duckdb

from features.db import check_identifier, read_yaml
from features.errors import ConfigError, ContractError

__all__ = [
    "CHECK_FAILED",
    "COLUMNS_DIFFER",
    "GRAIN_NOT_UNIQUE",
    "ROW_COUNT_DIFFERS",
    "ROLES",
    "Contract",
    "check_relation",
    "load_contract",
    "sql_stems",
]

logger = logging.getLogger(__name__)

CHECK_FAILED = (
    "{file}: column {column!r} failed {test}: {rows} row(s). Sample: {sample}."
)
GRAIN_NOT_UNIQUE = "{file}: the grain ({grain}) is not unique: {rows} extra row(s)."
COLUMNS_DIFFER = (
    "{file}: {relation} and its contract disagree on columns; "
    "not in the contract: {extra}; missing from the relation: {missing}."
)
ROW_COUNT_DIFFERS = "{file}: {relation} has {rows} row(s) but {other} has {expected}."
UNKNOWN_TEST = "{file}: column {column!r} has an unknown test {test!r}."
BAD_ROLE = "{file}: column {column!r} has role {role!r}; expected one of {roles}."
#: ``context`` describes the data, not the citizen (e.g. covered history): a model
#: may use it, a coordinator never reads it as a reason.
ROLES = ("key", "feature", "context", "cohort", "audit", "attribute")
_SAMPLE_SIZE = 3
_SQL_ROOT = ("sql",)


@dataclass(frozen=True)
class Contract:
    """A parsed contract file: where it is, its grain and its column declarations."""

    name: str
    file: str
    grain: tuple[str, ...]
    columns: tuple[Mapping[str, Any], ...]
    body: Mapping[str, Any]

    @property
    def column_names(self) -> list[str]:
        """The declared column names, in order."""
        return [str(c["name"]) for c in self.columns]


@dataclass(frozen=True)
class _Test:
    column: str
    label: str
    condition: str
    params: Mapping[str, Any]


def _sql_dir(*parts: str) -> Any:
    """Return the packaged ``features/sql`` folder (or a path in it)."""
    return resources.files("features").joinpath(*_SQL_ROOT, *parts)


def sql_stems(folder: str) -> list[str]:
    """Return the sorted stems of the ``.sql`` files in ``features/sql/<folder>``."""
    entries = _sql_dir(folder).iterdir()
    stems = sorted(e.name[: -len(".sql")] for e in entries if e.name.endswith(".sql"))
    return [check_identifier(s, "SQL file name") for s in stems]


def load_contract(file: str) -> Contract:
    """Read ``features/sql/<file>`` and resolve the columns it inherits.

    Parameters
    ----------
    file : str
        Path relative to ``features/sql``, e.g. ``"citizen/feat_attendance.yml"``.

    Returns
    -------
    Contract

    Raises
    ------
    ConfigError
        If a column has an unknown role.
    """
    body = read_yaml("features", *_SQL_ROOT, *file.split("/"))
    columns = list(body.get("columns") or [])
    for parent in body.get("inherits") or []:
        inherited = load_contract(f"{parent}.yml").columns
        names = {c["name"] for c in columns}
        # The parent's tests run once, on these rows, under the parent's file name.
        columns.extend({**c, "tests": []} for c in inherited if c["name"] not in names)
    for column in columns:
        role = column.get("role", "attribute")
        if role not in ROLES:
            raise ConfigError(
                BAD_ROLE.format(
                    file=file, column=column["name"], role=role, roles=ROLES
                )
            )
    grain = tuple(body.get("grain") or ())
    return Contract(str(body["name"]), file, grain, tuple(columns), body)


def _split_test(test: str | Mapping[str, Any]) -> tuple[str, Any]:
    """Split ``not_null`` or ``{min: 0}`` into the test name and its argument."""
    if isinstance(test, str):
        return test, None
    key, arg = next(iter(test.items()))
    return str(key), arg


def _tests_of(column: Mapping[str, Any], file: str) -> Iterator[_Test]:
    """Translate one column's YAML tests into SQL conditions that select failures."""
    name = check_identifier(str(column["name"]), "Column")
    for i, test in enumerate(column.get("tests") or []):
        key, arg = _split_test(test)
        param = f"p_{name}_{i}"
        if key == "not_null":
            yield _Test(name, "not_null", f"{name} is null", {})
        elif key in ("min", "max"):
            op = "<" if key == "min" else ">"
            yield _Test(name, f"{key} {arg}", f"{name} {op} ${param}", {param: arg})
        elif key == "accepted_values":
            listed = f"list_contains(${param}, cast({name} as varchar))"
            cond = f"{name} is not null and not {listed}"
            yield _Test(name, "accepted_values", cond, {param: [str(v) for v in arg]})
        elif key == "relationships":
            target = ".".join(
                check_identifier(p, "Table") for p in arg["to"].split(".")
            )
            field = check_identifier(arg["field"], "Column")
            cond = (
                f"{name} is not null and {name} not in "
                f"(select {field} from {target} where {field} is not null)"
            )
            yield _Test(name, f"relationships -> {target}.{field}", cond, {})
        else:
            raise ConfigError(UNKNOWN_TEST.format(file=file, column=name, test=key))


def _check_columns(
    con: duckdb.DuckDBPyConnection, contract: Contract, relation: str
) -> None:
    """Raise when the relation's columns and the contract's differ."""
    actual = [
        d[0] for d in con.execute(f"select * from {relation} limit 0").description
    ]
    declared = contract.column_names
    extra = [c for c in actual if c not in declared]
    missing = [c for c in declared if c not in actual]
    if extra or missing:
        raise ContractError(
            COLUMNS_DIFFER.format(
                file=contract.file,
                relation=relation,
                extra=", ".join(extra) or "none",
                missing=", ".join(missing) or "none",
            )
        )


def _sample(con: duckdb.DuckDBPyConnection, relation: str, test: _Test) -> str:
    """Up to three distinct offending values; identifiers are withheld."""
    if test.column.endswith("_id"):
        return "withheld (identifier)"
    rows = con.execute(
        f"select distinct {test.column} from {relation} where {test.condition}"
        f" order by 1 nulls first limit {_SAMPLE_SIZE}",
        dict(test.params),
    ).fetchall()
    return ", ".join("NULL" if r[0] is None else str(r[0]) for r in rows)


def _counts(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    tests: Sequence[_Test],
    grain: Sequence[str],
) -> list[int]:
    """Count failures of every test, and extra grain rows last, in one scan."""
    # count_if is far faster than count(*) filter (...) across many aggregates.
    parts = [f"count_if({t.condition})" for t in tests]
    if grain:
        key = grain[0] if len(grain) == 1 else f"row({', '.join(grain)})"
        parts.append(f"count(*) - count(distinct {key})")
    if not parts:
        return []
    params: dict[str, Any] = {}
    for test in tests:
        params.update(test.params)
    row = con.execute(f"select {', '.join(parts)} from {relation}", params).fetchall()[
        0
    ]
    return [int(v or 0) for v in row]


def _duplicate_rows(
    con: duckdb.DuckDBPyConnection, relation: str, grain: Sequence[str]
) -> int:
    """Exact count of extra rows per grain key (the hashed count may collide)."""
    keys = ", ".join(grain)
    rows = con.execute(
        f"select coalesce(sum(n - 1), 0) from"
        f" (select count(*) as n from {relation} group by {keys} having count(*) > 1)"
    ).fetchall()
    return int(rows[0][0])


def _safe_relation(relation: str) -> str:
    """Check each part of ``schema.name`` and return it."""
    return ".".join(check_identifier(p, "Relation") for p in relation.split("."))


def _row_count_lines(
    con: duckdb.DuckDBPyConnection, contract: Contract, relation: str
) -> list[str]:
    """Compare the row count with the relation named in ``same_rows_as``, if any."""
    other = contract.body.get("same_rows_as")
    if not other:
        return []
    other = _safe_relation(str(other))
    rows, expected = (
        int(con.execute(f"select count(*) from {r}").fetchall()[0][0])
        for r in (relation, other)
    )
    if rows == expected:
        return []
    return [
        ROW_COUNT_DIFFERS.format(
            file=contract.file,
            relation=relation,
            rows=rows,
            other=other,
            expected=expected,
        )
    ]


def check_relation(
    con: duckdb.DuckDBPyConnection,
    contract: Contract,
    relation: str,
    *,
    rows_from: str | None = None,
) -> None:
    """Run every check of ``contract`` against ``relation`` (``schema.name``).

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The warehouse.
    contract : Contract
        The parsed contract, from :func:`load_contract`.
    relation : str
        The table or view, e.g. ``"citizen.feat_attendance"``.
    rows_from : str, optional
        A table holding the relation's rows column for column at the same grain
        (a mart built from the view). The column tests then run on it, so the view
        is not computed a second time; its grain is left to that table's contract.

    Raises
    ------
    ContractError
        One line per failed check: file, column, test, rows and a sample.
    """
    relation = _safe_relation(relation)
    _check_columns(con, contract, relation)
    source = _safe_relation(rows_from) if rows_from else relation
    grain = [] if rows_from else [check_identifier(g, "Column") for g in contract.grain]
    tests = [t for c in contract.columns for t in _tests_of(c, contract.file)]
    counts = _counts(con, source, tests, grain)
    lines = [
        CHECK_FAILED.format(
            file=contract.file,
            column=test.column,
            test=test.label,
            rows=n,
            sample=_sample(con, source, test),
        )
        for test, n in zip(tests, counts, strict=False)
        if n
    ]
    if grain and counts[-1] and (extra := _duplicate_rows(con, relation, grain)):
        lines.append(
            GRAIN_NOT_UNIQUE.format(
                file=contract.file, grain=", ".join(grain), rows=extra
            )
        )
    lines += _row_count_lines(con, contract, relation)
    logger.info("Checked %s: %d tests, %d failed", relation, len(tests), len(lines))
    if lines:
        raise ContractError("\n".join(lines))
