"""The exception tree of Opspor; every package above ``features`` subclasses these.

Errors are raised at the boundary where bad input or bad settings are first seen,
and the CLI maps each base class to an exit code::

    OpsporError
    ├── ConfigError             bad/missing setting; audit-only feature   -> exit 2
    ├── DataError                                                         -> exit 1
    │   ├── ExtractError        missing table/column, CPR-shaped id, bad version
    │   │   └── ExtractValidationError   every problem of a lazy validation
    │   ├── WarehouseBusyError  another process holds the DuckDB warehouse's lock
    │   └── ContractError       a sql/*.yml check failed (file, column, test, rows)
    ├── NotFoundError           unknown model, programme, week, as-of date -> exit 1
    └── FairnessBreachError     threshold breached with --fail-on-breach  -> exit 3
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ConfigError",
    "ContractError",
    "DataError",
    "EXIT_CODES",
    "ExtractError",
    "ExtractProblem",
    "ExtractValidationError",
    "FairnessBreachError",
    "NotFoundError",
    "OpsporError",
    "WarehouseBusyError",
    "exit_code_for",
]


class OpsporError(Exception):
    """Base class of every error Opspor raises on purpose."""


class ConfigError(OpsporError):
    """A setting is missing, malformed or not allowed."""


class DataError(OpsporError):
    """Input data breaks a contract."""


class ExtractError(DataError):
    """A journal extract cannot be accepted as a whole."""


@dataclass(frozen=True)
class ExtractProblem:
    """One problem that refuses an extract: where it is, how many rows, examples."""

    table: str
    column: str | None
    rows: int
    examples: Sequence[Any]
    message: str

    def as_dict(self) -> dict[str, Any]:
        """Return the problem in the load report's JSON shape."""
        return {
            "table": self.table,
            "column": self.column,
            "rows": self.rows,
            "examples": [str(e) for e in self.examples],
            "message": self.message,
        }


@dataclass
class ExtractValidationError(ExtractError):
    """Every problem found when an extract was validated lazily."""

    problems: list[ExtractProblem] = field(default_factory=list)

    def __str__(self) -> str:
        lines = [p.message for p in self.problems]
        head = f"The extract was refused: {len(lines)} problem(s)."
        return "\n".join([head, *lines])


class WarehouseBusyError(DataError):
    """Another process holds the warehouse (DuckDB allows one writing process)."""


class ContractError(DataError):
    """A table built by Opspor's SQL failed a check declared in its contract file."""


class NotFoundError(OpsporError):
    """A named thing (model, programme, week, as-of date) does not exist."""


class FairnessBreachError(OpsporError):
    """A fairness threshold was breached and the caller asked to fail on it."""


EXIT_CODES: dict[type[OpsporError], int] = {
    ConfigError: 2,
    DataError: 1,
    NotFoundError: 1,
    FairnessBreachError: 3,
}


def exit_code_for(error: OpsporError) -> int:
    """Return the CLI exit code of an Opspor error (1 for an unlisted subclass)."""
    for cls in type(error).__mro__:
        if cls in EXIT_CODES:
            return EXIT_CODES[cls]
    return 1
