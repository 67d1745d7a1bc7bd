"""Foundation of Opspor: settings, errors, DuckDB, the extract contract, loading, features."""

from __future__ import annotations

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

__all__ = [
    "ConfigError",
    "ContractError",
    "DataError",
    "EngineSettings",
    "ExtractError",
    "ExtractValidationError",
    "FairnessBreachError",
    "NotFoundError",
    "OpsporError",
]
