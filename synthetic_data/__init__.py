"""Synthetic journal extracts (contract v1): a seeded stand-in for an outside supplier.

``load_profile`` reads a region profile (``profiles/*.toml``); ``generate_extract``
writes an extract folder that follows ``journal-extract/1`` plus a ground-truth
file beside it. This package imports nothing else of Opspor's.
"""

from __future__ import annotations

from synthetic_data.generate import GenerationResult, generate_extract
from synthetic_data.profile import ProfileError, SyntheticProfile, load_profile

__all__ = [
    "GenerationResult",
    "ProfileError",
    "SyntheticProfile",
    "generate_extract",
    "load_profile",
]
