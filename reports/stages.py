"""The report stages in one shape: ``run_<stage>(settings, request) -> result``.

The CLI (:mod:`outreach.app.cli`) and the web app call these and nothing
deeper. A request carries the programme itself, typed by the
:class:`ProgrammeScope` protocol, because ``reports`` never imports
``outreach``: an ``outreach.programmes.Programme`` satisfies it as it is, so no
caller unpacks a programme into keyword arguments. The engine functions stay
where the work is done (:func:`reports.audit.run_audit`,
:func:`reports.monitor.run_monitor`, :func:`reports.model_card.make_model_card`,
:func:`reports.governance.build_governance_pack`); the wrappers only take their
arguments from the request.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Protocol, TypeAlias

from features.settings import EngineSettings
from reports import audit, monitor
from reports.audit import AuditResult
from reports.config import FairnessConfig
from reports.governance import GovernancePack, build_governance_pack
from reports.model_card import CardResult, make_model_card
from reports.monitor import MonitorResult
from reports.monitor_config import MonitorConfig
from reports.reach import REACH_METRIC
from reports.render import ReportLanguage

__all__ = [
    "AuditRequest",
    "AuditResult",
    "CardRequest",
    "CardResult",
    "GovernanceRequest",
    "GovernanceResult",
    "MonitorRequest",
    "MonitorResult",
    "ProgrammeScope",
    "REACH_METRIC",
    "run_audit",
    "run_card",
    "run_governance_pack",
    "run_monitor",
]

GovernanceResult: TypeAlias = GovernancePack


class ProgrammeScope(Protocol):
    """What a report needs of a programme (``outreach.programmes.Programme`` fits)."""

    @property
    def name(self) -> str: ...  # noqa: D102
    @property
    def capacity_per_week(self) -> int: ...  # noqa: D102
    @property
    def municipalities(self) -> Sequence[str]: ...  # noqa: D102
    @property
    def model_name(self) -> str: ...  # noqa: D102
    @property
    def model_alias(self) -> str: ...  # noqa: D102
    @property
    def reach_against(self) -> Sequence[str]: ...  # noqa: D102


@dataclass(frozen=True)
class AuditRequest:
    """Audit a programme's week list (``week``) or a model version (``model``).

    Parameters
    ----------
    programme : ProgrammeScope
        The programme: its name, capacity and municipalities.
    week : str, optional
        ISO week of the list to audit.
    model : str, optional
        ``NAME@VERSION`` (or ``NAME@ALIAS``) to audit instead of a list.
    k : int, optional
        Capacity (default: the programme's capacity per week).
    as_of_date : date, optional
        With ``model``: the scored date.
    outcome : str, optional
        Outcome (default: the model's).
    config : FairnessConfig, optional
        Default: the packaged ``reports/fairness.toml``.
    fail_on_breach : bool
        Raise when a fairness threshold is breached.
    lang : {"both", "da", "en"}
        Language of the summary and flags.
    compare : tuple of str
        Alternative models ranked beside the audited one at capacity k.
    reach_against : tuple of str
        Reference rankings: each group's recall@k is compared with theirs
        (:func:`reports.reach.reach_against`).
        Default: the programme's own ``reach_against``.
    truth : Path, optional
        A synthetic world's truth file: expected precision against the true
        risk in the side-by-side comparison.
    """

    programme: ProgrammeScope
    week: str | None = None
    model: str | None = None
    k: int | None = None
    as_of_date: date | None = None
    outcome: str | None = None
    config: FairnessConfig | None = None
    fail_on_breach: bool = False
    lang: ReportLanguage = "both"
    compare: tuple[str, ...] = ()
    reach_against: tuple[str, ...] = ()
    truth: Path | None = None


@dataclass(frozen=True)
class MonitorRequest:
    """Monitor a programme's champion for one ISO ``week`` (default: the latest)."""

    programme: ProgrammeScope
    week: str | None = None
    config: MonitorConfig | None = None


@dataclass(frozen=True)
class CardRequest:
    """Write the model card of ``model``, optionally from given metadata and audit."""

    model: str
    metadata_path: Path | None = None
    audit_path: Path | None = None


@dataclass(frozen=True)
class GovernanceRequest:
    """Bundle a programme's governance pack (``model`` default: its champion)."""

    programme: ProgrammeScope
    model: str | None = None
    day: date | None = None


def run_audit(settings: EngineSettings, request: AuditRequest) -> AuditResult:
    """Fairness audit of a programme's week list or of a model version.

    Parameters
    ----------
    settings : EngineSettings
        Warehouse, MLflow store and output root.
    request : AuditRequest
        The programme and what to audit.

    Returns
    -------
    AuditResult
        Counts, flags, breaches and the files written.

    Raises
    ------
    ConfigError
        Not exactly one of ``week``/``model``; a malformed model reference.
    FairnessBreachError
        ``fail_on_breach`` and a threshold is breached.
    """
    prog = request.programme
    return audit.run_audit(
        settings,
        programme=prog.name,
        k=request.k or prog.capacity_per_week,
        week=request.week,
        model=request.model,
        outcome=request.outcome,
        municipalities=prog.municipalities,
        as_of_date=request.as_of_date,
        config=request.config,
        fail_on_breach=request.fail_on_breach,
        lang=request.lang,
        compare=request.compare,
        reach_against=request.reach_against or tuple(prog.reach_against),
        truth=request.truth,
    )


def run_monitor(settings: EngineSettings, request: MonitorRequest) -> MonitorResult:
    """Watch data, inputs, scores and realised performance of a programme's model.

    Parameters
    ----------
    settings : EngineSettings
        Warehouse, MLflow store and output root.
    request : MonitorRequest
        The programme, its week and the monitoring thresholds.

    Returns
    -------
    MonitorResult
        The verdict, the alerts and the report written.

    Raises
    ------
    NotFoundError
        No extract loaded, or the model is not registered.
    """
    prog = request.programme
    return monitor.run_monitor(
        settings,
        programme=prog.name,
        model=f"{prog.model_name}@{prog.model_alias}",
        week=request.week,
        municipalities=prog.municipalities,
        config=request.config,
    )


def run_card(settings: EngineSettings, request: CardRequest) -> CardResult:
    """Write the model card (HTML and Markdown) of a registered version.

    Parameters
    ----------
    settings : EngineSettings
        MLflow store and output root.
    request : CardRequest
        The model version and optional metadata and audit files.

    Returns
    -------
    CardResult

    Raises
    ------
    NotFoundError
        The model, version or a given file does not exist.
    """
    return make_model_card(
        settings,
        request.model,
        metadata_path=request.metadata_path,
        audit_path=request.audit_path,
    )


def run_governance_pack(
    settings: EngineSettings, request: GovernanceRequest
) -> GovernanceResult:
    """Bundle model card, latest audit, feature catalogue and audit-log summary.

    Parameters
    ----------
    settings : EngineSettings
        Warehouse, MLflow store and output root.
    request : GovernanceRequest
        The programme, the model (default its champion) and the folder date.

    Returns
    -------
    GovernanceResult
        The index, the files bundled and those not yet available.
    """
    prog = request.programme
    model = request.model or f"{prog.model_name}@{prog.model_alias}"
    return build_governance_pack(
        settings, programme=_as_dict(prog), model=model, day=request.day
    )


def _as_dict(programme: ProgrammeScope) -> dict[str, Any]:
    """Return a programme's fields as a plain dict (the pack records them all)."""
    if dataclasses.is_dataclass(programme) and not isinstance(programme, type):
        fields = dataclasses.fields(programme)
        return {f.name: getattr(programme, f.name) for f in fields}
    return dict(vars(programme))
