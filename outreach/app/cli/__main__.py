"""``python -m outreach.app.cli``: the ``opspor`` command without the script."""

from __future__ import annotations

from outreach.app.cli import app

app(prog_name="opspor")
