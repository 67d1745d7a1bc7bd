"""Which test files ``make test`` hands to its workers first (heaviest first).

``pytest -n auto --dist loadfile`` gives each worker one file at a time. By
default xdist queues the files with the most tests first, so the few files
that build and train whole regions (few tests, minutes each) came last and one
worker ran alone at the end. ``tests/conftest.py`` orders the collection by
``heavy_files.txt`` instead (longest first, the rest after in their usual
order), and the Makefile passes ``--no-loadscope-reorder`` so xdist keeps it.

Regenerate the list from a JUnit report of a whole run::

    python -m pytest -n 2 --dist loadfile --junitxml=/tmp/junit.xml
    python -m tests.schedule /tmp/junit.xml > tests/heavy_files.txt
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

HEAVY_FILES = Path(__file__).with_name("heavy_files.txt")
#: A file is listed when it takes at least this share of the whole run.
MIN_SHARE = 0.004


def heavy_files(path: Path = HEAVY_FILES) -> list[str]:
    """Return the listed test files (``tests/...py``), heaviest first."""
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def file_seconds(junit: Path) -> Counter[str]:
    """Return the seconds (setup, call and teardown) of every test file in a report."""
    seconds: Counter[str] = Counter()
    for case in ET.parse(junit).iter("testcase"):  # noqa: S314 (our own report)
        parts = (case.get("classname") or "").split(".")
        while len(parts) > 1 and parts[-1][:1].isupper():
            parts.pop()  # a test class (TestErrorMessages) is not part of the file
        seconds["/".join(parts) + ".py"] += float(case.get("time") or 0.0)
    return seconds


def main(argv: list[str]) -> int:
    """Print the heavy files of a JUnit report, heaviest first."""
    seconds = file_seconds(Path(argv[0]))
    total = sum(seconds.values()) or 1.0
    print(f"# from {Path(argv[0]).name}: files with >= {MIN_SHARE:.1%} of the run")
    for name, value in seconds.most_common():
        if value / total >= MIN_SHARE:
            print(name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
