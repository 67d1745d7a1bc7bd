"""The application shell of Opspor: the ``opspor`` CLI, the web app and its users.

The domain (programmes, lists, ranking, recording, evaluation, exports) lives in
:mod:`outreach`; this sub-package only wires it to people: :mod:`outreach.app.cli`
parses commands, :mod:`outreach.app.web` serves the browser, and
:mod:`outreach.app.users` keeps the accounts both of them manage. Domain modules
never import it (``tests/architecture/test_layering.py``).
"""

from __future__ import annotations

__all__: list[str] = []
