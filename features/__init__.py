"""Foundation of Opspor: settings, errors, DuckDB, the extract contract, loading, features."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from features.errors import (
    ConfigError,
    ContractError,
    DataError,
    ExtractError,
    ExtractValidationError,
    FairnessBreachError,
    NotFoundError,
    OpsporError,
)
from features.settings import EngineSettings

if TYPE_CHECKING:
    from features.load import load_extract
    from features.load_report import LoadReport

# Entry points that import DuckDB/pandera load on first use, so `opspor --help`
# and the error classes stay cheap to import.
_LAZY = {"load_extract": "features.load", "LoadReport": "features.load_report"}


def __getattr__(name: str) -> Any:
    """Import a lazily exported entry point (``load_extract``, ``LoadReport``)."""
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'features' has no attribute {name!r}")


__all__ = [
    "ConfigError",
    "ContractError",
    "DataError",
    "EngineSettings",
    "ExtractError",
    "ExtractValidationError",
    "FairnessBreachError",
    "LoadReport",
    "NotFoundError",
    "OpsporError",
    "load_extract",
]
