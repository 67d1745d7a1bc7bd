"""Foundation of Opspor: settings, errors, DuckDB, the contract, loading, features."""

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
    from features.build import FeatureBuild, build_features, export_scoring_features
    from features.catalogue import build_catalogue, feature_reasons, write_catalogue
    from features.load import load_extract
    from features.load_report import LoadReport
    from features.spine import write_spine

# Entry points that import DuckDB/pandera load on first use, so `opspor --help`
# and the error classes stay cheap to import.
_LAZY = {"load_extract": "features.load", "LoadReport": "features.load_report"}
_LAZY.update(
    {
        "FeatureBuild": "features.build",
        "build_features": "features.build",
        "export_scoring_features": "features.build",
        "write_spine": "features.spine",
        "build_catalogue": "features.catalogue",
        "feature_reasons": "features.catalogue",
        "write_catalogue": "features.catalogue",
    }
)


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
    "FeatureBuild",
    "LoadReport",
    "NotFoundError",
    "OpsporError",
    "build_catalogue",
    "build_features",
    "export_scoring_features",
    "feature_reasons",
    "load_extract",
    "write_catalogue",
    "write_spine",
]
