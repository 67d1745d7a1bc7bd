"""The heavy-first order of ``make test`` (tests/schedule.py) stays true to the tree."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.schedule import file_seconds, heavy_files

ROOT = Path(__file__).resolve().parents[2]


def test_every_listed_heavy_file_exists() -> None:
    listed = heavy_files()
    assert listed, "tests/heavy_files.txt is empty"
    assert [name for name in listed if not (ROOT / name).is_file()] == []
    assert len(set(listed)) == len(listed)


def test_collection_starts_with_the_heaviest_file(
    request: pytest.FixtureRequest,
) -> None:
    first = request.session.items[0].nodeid.split("::")[0]
    present = [
        n
        for n in heavy_files()
        if any(i.nodeid.startswith(n + "::") for i in request.session.items)
    ]
    assert first == (present[0] if present else first)


def test_file_seconds_sums_setup_call_and_teardown_per_file(tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    junit.write_text(
        '<testsuites><testsuite name="pytest">'
        '<testcase classname="tests.a.test_x" name="t1" time="1.5"/>'
        '<testcase classname="tests.a.test_x" name="t2" time="2.0"/>'
        '<testcase classname="tests.b.test_y" name="t1" time="0.25"/>'
        '<testcase classname="tests.b.test_y.TestErrors" name="t2" time="1.0"/>'
        "</testsuite></testsuites>",
        encoding="utf-8",
    )
    assert file_seconds(junit) == {"tests/a/test_x.py": 3.5, "tests/b/test_y.py": 1.25}
