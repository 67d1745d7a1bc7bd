"""Fairness audit, model cards and the governance pack: aggregates only.

Imports ``features`` and ``models`` only. :func:`audit_fairness` is the pure core
(a frame in, a :class:`FairnessAudit` out); :func:`run_audit`,
:func:`make_model_card` and :func:`build_governance_pack` are the entry points of
``opspor audit``, ``opspor card`` and ``opspor governance-pack``.
"""

from __future__ import annotations

from reports.audit import AuditResult, run_audit
from reports.catalogue import feature_catalogue
from reports.compare import compare_rankings
from reports.config import FairnessConfig, Grouping
from reports.fairness import FairnessAudit, Flag, audit_fairness, rerank_by_quota
from reports.frame import build_audit_frame
from reports.governance import GovernancePack, build_governance_pack
from reports.model_card import ModelCard, build_model_card, make_model_card
from reports.reach import reach_against
from reports.render import write_fairness_report
from reports.suppression import complementary_suppression

__all__ = [
    "AuditResult",
    "FairnessAudit",
    "FairnessConfig",
    "Flag",
    "GovernancePack",
    "Grouping",
    "ModelCard",
    "audit_fairness",
    "build_audit_frame",
    "build_governance_pack",
    "build_model_card",
    "compare_rankings",
    "complementary_suppression",
    "feature_catalogue",
    "make_model_card",
    "reach_against",
    "rerank_by_quota",
    "run_audit",
    "write_fairness_report",
]
