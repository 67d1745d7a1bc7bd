"""Synthetic journal extracts (contract v1): a seeded stand-in for an outside supplier.

This package imports nothing else of Opspor's.
"""

from __future__ import annotations

__all__: list[str] = []
