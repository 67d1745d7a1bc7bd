"""Cut an extract at a date, as if the supplier had delivered it on that date.

The robustness bench (``bench/bench_models.py robustness``) trains and scores on
an extract cut at a scoring date and compares the ranking with the generator's
true risk at that date; the outcomes after it stay in the uncut extract. A cut
keeps every row dated before the cut date and forgets what was not yet known
then: a redemption, a contact's end, a death or an emigration on or after it
become null; citizens born on or after it are gone. Bookings on or after the
cut date are dropped (the contract cannot say when they were booked).
``extract.json`` gets the cut date as ``extract_date`` and keeps the declared
``coverage`` of tables that started before it. The ground truth is not copied.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

__all__ = ["CUT_RULES", "cut_extract"]

#: Per table: the column that must fall before the cut date, and the columns
#: that are forgotten (set to null) when they fall on or after it.
CUT_RULES: Mapping[str, tuple[str, tuple[str, ...]]] = {
    "citizens": ("birth_date", ("death_date", "emigration_date")),
    "diagnoses": ("diagnosis_date", ()),
    "prescriptions": ("issued_date", ("redeemed_date",)),
    "appointments": ("scheduled_date", ()),
    "lab_results": ("sample_date", ()),
    "hospital_contacts": ("start_date", ("end_date",)),
}


def _read(path: Path) -> pa.Table:
    if path.suffix == ".parquet":
        return pq.read_table(path)
    # every column as text, so the cut writes values back exactly as delivered
    with path.open(encoding="utf-8", newline="") as f:
        names = next(csv.reader(f))
    options = pacsv.ConvertOptions(
        strings_can_be_null=True, column_types=dict.fromkeys(names, pa.string())
    )
    return pacsv.read_csv(path, convert_options=options)


def _write(table: pa.Table, path: Path) -> None:
    if path.suffix == ".parquet":
        pq.write_table(table, path)
    else:
        pacsv.write_csv(table, path)


def _as_date(column: pa.ChunkedArray) -> pa.ChunkedArray:
    return column if pa.types.is_date(column.type) else pc.cast(column, pa.date32())


def _cut_table(table: pa.Table, name: str, cut: date) -> pa.Table:
    """Keep rows dated before ``cut``; null what was not yet known on ``cut``."""
    keep_column, forget = CUT_RULES[name]
    cut_scalar = pa.scalar(cut, pa.date32())
    kept = table.filter(pc.less(_as_date(table[keep_column]), cut_scalar))
    for column in forget:
        values = _as_date(kept[column])
        known = pc.fill_null(pc.less(values, cut_scalar), True)
        index = kept.schema.get_field_index(column)
        forgotten = pc.if_else(known, kept[column], pa.scalar(None, kept[column].type))
        kept = kept.set_column(index, column, forgotten)
    return kept


def cut_extract(source: Path | str, out_dir: Path | str, cut: date) -> Path:
    """Write ``source`` cut at ``cut`` to ``out_dir`` (same format), atomically.

    Parameters
    ----------
    source : Path or str
        A contract-v1 extract folder.
    out_dir : Path or str
        Where the cut extract goes (replaced if it exists).
    cut : date
        The new ``extract_date``: rows dated on or after it are cut away.

    Returns
    -------
    Path
        ``out_dir``.
    """
    source, out_dir = Path(source), Path(out_dir)
    info = json.loads((source / "extract.json").read_text(encoding="utf-8"))
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".cut-", dir=out_dir.parent))
    try:
        citizens: pa.Array | None = None
        for name in CUT_RULES:
            path = next(source.glob(f"{name}.*"))
            table = _cut_table(_read(path), name, cut)
            if name == "citizens":
                citizens = table["citizen_id"].combine_chunks()
            else:
                assert citizens is not None
                table = table.filter(pc.is_in(table["citizen_id"], value_set=citizens))
            _write(table, tmp / path.name)
        coverage = {
            t: c
            for t, c in (info.get("coverage") or {}).items()
            if date.fromisoformat(c["from"]) < cut
        }
        info = {**info, "extract_date": cut.isoformat()}
        info.pop("coverage", None)
        if coverage:
            info["coverage"] = coverage
        (tmp / "extract.json").write_text(json.dumps(info), encoding="utf-8")
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.replace(tmp, out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out_dir
