"""The feature stages in one shape: ``run_<stage>(settings, request) -> result``.

The CLI (:mod:`outreach.app.cli`) and the web app call these and nothing
deeper. Each request is a frozen dataclass of already-parsed values; each
wrapper opens what the stage needs from :class:`EngineSettings` and calls the
engine function, which stays the place the work is done:
:func:`features.load.load_extract`, :func:`features.build.build_features`,
:func:`features.build.export_scoring_features` and
:func:`features.catalogue.write_catalogue`. The results are those functions'
own frozen dataclasses, named here by stage.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TypeAlias

from features.build import (
    FeatureBuild,
    FeatureExport,
    build_features,
    export_scoring_features,
    open_warehouse,
)
from features.catalogue import CatalogueFiles, write_catalogue
from features.load import load_extract
from features.load_report import LoadReport
from features.settings import EngineSettings

__all__ = [
    "CatalogueRequest",
    "CatalogueResult",
    "FeaturesExportRequest",
    "FeaturesExportResult",
    "FeaturesRequest",
    "FeaturesResult",
    "LoadRequest",
    "LoadResult",
    "run_catalogue",
    "run_features",
    "run_features_export",
    "run_load",
]

LoadResult: TypeAlias = LoadReport
FeaturesResult: TypeAlias = FeatureBuild
FeaturesExportResult: TypeAlias = FeatureExport
CatalogueResult: TypeAlias = CatalogueFiles


@dataclass(frozen=True)
class LoadRequest:
    """Load one extract folder into ``raw.*`` (``opspor load``).

    Parameters
    ----------
    extract_dir : Path
        ``extract.json`` plus one CSV or Parquet file per contract table.
    dry_run : bool
        Validate and report, but write nothing.
    replace_source : bool
        Let another region's extract replace the loaded one (audited).
    reason : str, optional
        Why the region is replaced.
    """

    extract_dir: Path
    dry_run: bool = False
    replace_source: bool = False
    reason: str | None = None


@dataclass(frozen=True)
class FeaturesRequest:
    """Build the feature views and marts for these as-of dates (``opspor features``)."""

    as_of_dates: tuple[date, ...]


@dataclass(frozen=True)
class FeaturesExportRequest:
    """Write ``marts.scoring_features`` of one as-of date to a Parquet file."""

    as_of_date: date
    out: Path


@dataclass(frozen=True)
class CatalogueRequest:
    """Write the feature catalogue to ``out_dir`` (default ``<output>/catalogue``)."""

    out_dir: Path | None = None


def run_load(settings: EngineSettings, request: LoadRequest) -> LoadResult:
    """Validate an extract, quarantine bad rows and load it (idempotent).

    Parameters
    ----------
    settings : EngineSettings
        The warehouse to load into.
    request : LoadRequest
        The extract folder and how to load it.

    Returns
    -------
    LoadResult
        Rows read, loaded and quarantined per table.

    Raises
    ------
    ExtractError
        The extract cannot be read or fails the contract.
    """
    return load_extract(
        request.extract_dir,
        settings=settings,
        dry_run=request.dry_run,
        replace_source=request.replace_source,
        reason=request.reason,
    )


def run_features(settings: EngineSettings, request: FeaturesRequest) -> FeaturesResult:
    """Build the point-in-time features for every requested as-of date.

    Parameters
    ----------
    settings : EngineSettings
        The warehouse holding ``raw.*``.
    request : FeaturesRequest
        The as-of dates, built in one pass.

    Returns
    -------
    FeaturesResult
        Counts of features, citizens and rows, and the tables written.

    Raises
    ------
    ContractError
        A feature table breaks its YAML contract.
    """
    with open_warehouse(settings.warehouse) as con:
        return build_features(con, request.as_of_dates)


def run_features_export(
    settings: EngineSettings, request: FeaturesExportRequest
) -> FeaturesExportResult:
    """Export the scoring features of one as-of date to Parquet.

    Parameters
    ----------
    settings : EngineSettings
        The warehouse (opened read-only).
    request : FeaturesExportRequest
        The as-of date and the file to write.

    Returns
    -------
    FeaturesExportResult
        Rows, columns and the path written.

    Raises
    ------
    NotFoundError
        No features were built for that date.
    """
    with open_warehouse(settings.warehouse, read_only=True) as con:
        return export_scoring_features(
            con, as_of_date=request.as_of_date, out=request.out
        )


def run_catalogue(
    settings: EngineSettings, request: CatalogueRequest
) -> CatalogueResult:
    """Write the feature catalogue (Markdown and JSON) from the SQL contracts.

    Parameters
    ----------
    settings : EngineSettings
        Its output root holds the default folder.
    request : CatalogueRequest
        The folder to write to.

    Returns
    -------
    CatalogueResult
        Number of entries and the two files.
    """
    target = request.out_dir or settings.output_dir / "catalogue"
    return write_catalogue(target)
