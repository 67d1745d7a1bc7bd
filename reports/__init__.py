"""reports package of Opspor."""

from __future__ import annotations

__all__: list[str] = []
