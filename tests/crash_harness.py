"""Kill an ``opspor`` command at a chosen point: the crash tests' one harness.

:func:`run_killed` starts ``opspor ARGS`` in a fresh Python process whose
``module.function`` is wrapped so that the process signals itself (SIGKILL or
SIGTERM) the moment that function is entered. The tests then look at the
warehouse and the output folder: they must hold the old state or the new one,
never a mix, and no person-level staging copy may be left behind.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_SCRIPT = """
import importlib, os, signal, sys
module_name, function_name, signal_name, nth = sys.argv[1:5]
owner = importlib.import_module(module_name)
*path, function_name = function_name.split(".")
for name in path:  # "Class.method" patches the class attribute
    owner = getattr(owner, name)
original = getattr(owner, function_name)
calls = [0]

def die_here(*args, **kwargs):
    calls[0] += 1
    if calls[0] == int(nth):
        os.kill(os.getpid(), getattr(signal, signal_name))
    return original(*args, **kwargs)

setattr(owner, function_name, die_here)
from outreach.app.cli import app
sys.argv = ["opspor", *sys.argv[5:]]
app()
"""


def run_killed(
    point: str,
    sig: signal.Signals,
    args: list[str],
    *,
    env: Mapping[str, str],
    nth: int = 1,
) -> subprocess.CompletedProcess[str]:
    """Run ``opspor ARGS``, killing it with ``sig`` on the nth call of ``point``.

    Parameters
    ----------
    point : str
        ``"package.module:function"`` or ``"package.module:Class.method"``;
        looked up at call time, so patching the attribute intercepts it.
    sig : signal.Signals
        ``SIGKILL`` (no clean-up possible) or ``SIGTERM`` (a clean exit).
    args : list of str
        The ``opspor`` arguments.
    env : mapping
        Extra environment variables (e.g. ``OPSPOR_OUTPUT_DIR``).
    nth : int
        Which call of ``point`` to die on.

    Returns
    -------
    subprocess.CompletedProcess
        Its ``returncode`` is ``-9`` after SIGKILL and ``143`` after SIGTERM.
    """
    module, function = point.split(":")
    return subprocess.run(
        [sys.executable, "-c", _SCRIPT, module, function, sig.name, str(nth), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "OPSPOR_LOCK_WAIT": "5", **env},
        cwd=ROOT,
        timeout=300,
        check=False,
    )


def expected_returncode(sig: signal.Signals) -> int:
    """The exit status of a process stopped by ``sig`` in the harness."""
    return -signal.SIGKILL if sig == signal.SIGKILL else 128 + int(sig)
