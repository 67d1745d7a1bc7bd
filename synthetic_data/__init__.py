"""Synthetic journal extracts (contract v1): a seeded stand-in for an outside supplier.

``load_profile`` reads a region profile (``profiles/*.toml``); ``generate_extract``
writes an extract folder that follows ``journal-extract/1`` plus a ground-truth
file beside it. ``draw_world`` draws a world of the family (mechanisms from
``WORLD_RANGES``) and ``apply_world`` puts it on a profile (or
``load_profile(..., world=SEED)``). This package imports nothing else of Opspor's.
"""

from __future__ import annotations

from synthetic_data.generate import GenerationResult, generate_extract
from synthetic_data.profile import ProfileError, SyntheticProfile, load_profile
from synthetic_data.world import WORLD_RANGES, World, apply_world, draw_world

__all__ = [
    "WORLD_RANGES",
    "GenerationResult",
    "ProfileError",
    "SyntheticProfile",
    "World",
    "apply_world",
    "draw_world",
    "generate_extract",
    "load_profile",
]
