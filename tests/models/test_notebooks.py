"""The models notebooks run top to bottom on a small synthetic region.

A notebook generates and loads region_small itself unless
``OPSPOR_NOTEBOOK_WAREHOUSE`` names a warehouse with it loaded. The first runs
on its own, as a reader would run it; the others copy the session's
region_small (``tests/region_cache.py``: loaded, its features built at the
champion's dates, no model) instead of generating, loading and building again.
"""

from __future__ import annotations

from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("0*.ipynb"))
#: Notebooks run exactly as a reader runs them (the region generated inside).
ON_THEIR_OWN = {"01-feature-tables"}


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes(
    path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.delenv("OPSPOR_NOTEBOOK_WAREHOUSE", raising=False)
    if path.stem not in ON_THEIR_OWN:
        cache: Path = request.getfixturevalue("region_cache")
        monkeypatch.setenv("OPSPOR_NOTEBOOK_WAREHOUSE", str(cache / "featured.duckdb"))
    book = nbformat.read(path, as_version=4)
    client = NotebookClient(
        book,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    errors = [
        o
        for c in book.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if o.get("output_type") == "error"
    ]
    assert errors == []
    printed = "".join(o.get("text", "") for o in book.cells[1].get("outputs", []))
    assert " citizens loaded into " in printed
