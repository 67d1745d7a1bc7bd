"""Write a contract-v1 extract and its ground truth, chunk by chunk and atomically.

The last step of the generator. :class:`ExtractWriter` streams the Arrow tables
of each chunk into CSV or Parquet files in a temporary folder beside the target,
writes ``extract.json`` last, and only then renames the folder into place, so a
reader never sees half an extract. The ground-truth files go *beside* the
extract (``<out_dir>.truth.parquet`` and ``<out_dir>.truth_risk.parquet``),
never inside it: the extract carries nothing a real one would not.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

__all__ = [
    "CONTRACT",
    "SCHEMAS",
    "TRUTH_SCHEMA",
    "TRUTH_RISK_SCHEMA",
    "TRUTH_SMI_SCHEMA",
    "ExtractWriter",
    "truth_paths",
    "world_path",
]

CONTRACT = "journal-extract/1"
NOT_AN_EXTRACT = (
    "{path} exists and is not an extract (no extract.json); refusing to replace it."
)
Format = Literal["csv", "parquet"]

_S, _D, _B = pa.string(), pa.date32(), pa.bool_()
#: Contract v1 tables, columns and logical types, in contract order.
SCHEMAS: dict[str, pa.Schema] = {
    "citizens": pa.schema(
        [
            ("citizen_id", _S),
            ("birth_date", _D),
            ("sex", _S),
            ("municipality_code", _S),
            ("education_level", _S),
            ("origin", _S),
            ("living_situation", _S),
            ("gp_clinic_id", _S),
            ("preferred_language", _S),
            ("death_date", _D),
            ("emigration_date", _D),
            ("outreach_opt_out", _B),
        ]
    ),
    "diagnoses": pa.schema(
        [
            ("citizen_id", _S),
            ("diagnosis_date", _D),
            ("code_system", _S),
            ("code", _S),
            ("source", _S),
            ("diagnosis_type", _S),
        ]
    ),
    "prescriptions": pa.schema(
        [
            ("prescription_id", _S),
            ("citizen_id", _S),
            ("atc_code", _S),
            ("issued_date", _D),
            ("days_supply", pa.int32()),
            ("redeemed_date", _D),
            ("prescriber_type", _S),
        ]
    ),
    "appointments": pa.schema(
        [
            ("appointment_id", _S),
            ("citizen_id", _S),
            ("scheduled_date", _D),
            ("kind", _S),
            ("provider_type", _S),
            ("status", _S),
        ]
    ),
    "lab_results": pa.schema(
        [
            ("citizen_id", _S),
            ("sample_date", _D),
            ("npu_code", _S),
            ("value", pa.float64()),
            ("unit", _S),
        ]
    ),
    "hospital_contacts": pa.schema(
        [
            ("contact_id", _S),
            ("citizen_id", _S),
            ("start_date", _D),
            ("end_date", _D),
            ("contact_type", _S),
            ("primary_diagnosis", _S),
        ]
    ),
}
TRUTH_SCHEMA = pa.schema(
    [
        ("citizen_id", _S),
        ("engagement", pa.float64()),
        ("hba1c_latent_mean", pa.float64()),
        ("has_diabetes", _B),
        ("diabetes_type", _S),
        ("diabetes_onset_date", _D),
        ("has_smi", _B),
        ("has_copd", _B),
        ("has_heart_disease", _B),
        ("has_cancer", _B),
        ("has_chronic_back_pain", _B),
        ("has_hypertension", _B),
        ("n_complications_true", pa.int32()),
        ("n_complications_recorded", pa.int32()),
        ("glp1_for_obesity", _B),
        ("metformin_for_pcos", _B),
        ("single_high_hba1c", _B),
        ("n_gestational_diabetes", pa.int32()),
    ]
)
TRUTH_RISK_SCHEMA = pa.schema(
    [
        ("citizen_id", _S),
        ("index_date", _D),
        ("true_risk_harm_365d", pa.float64()),
        ("true_event_harm_365d", _B),
    ]
)


#: The SMI truth (synthetic_data.smi_truth): one row per SMI citizen at risk and
#: index date, in ``<out_dir>.truth_smi.parquet``.
TRUTH_SMI_SCHEMA = pa.schema(
    [
        ("citizen_id", _S),
        ("index_date", _D),
        ("true_risk_smi_somatic_365d", pa.float64()),
        ("true_event_smi_somatic_365d", _B),
    ]
)


def truth_smi_path(out_dir: Path) -> Path:
    """Return the SMI ground-truth file that sits beside an extract folder."""
    return out_dir.with_name(out_dir.name + ".truth_smi.parquet")


def truth_paths(out_dir: Path) -> tuple[Path, Path]:
    """Return the two ground-truth files that sit beside an extract folder."""
    return (
        out_dir.with_name(out_dir.name + ".truth.parquet"),
        out_dir.with_name(out_dir.name + ".truth_risk.parquet"),
    )


def world_path(out_dir: Path) -> Path:
    """Return the world file that sits beside an extract folder of a world."""
    return out_dir.with_name(out_dir.name + ".world.json")


class ExtractWriter:
    """Stream chunks into a temporary folder; :meth:`commit` renames it into place.

    Parameters
    ----------
    out_dir : Path
        Where the extract folder must end up.
    fmt : {"csv", "parquet"}
        File format of the six tables (the truth files are always Parquet).
    """

    def __init__(self, out_dir: Path, fmt: Format) -> None:
        self.out_dir = out_dir
        self.fmt = fmt
        self.truth_path, self.truth_risk_path = truth_paths(out_dir)
        self.truth_smi_path = truth_smi_path(out_dir)
        self.world_path = world_path(out_dir)
        token = uuid.uuid4().hex[:8]
        self.tmp = out_dir.with_name(f".{out_dir.name}.tmp-{token}")
        self._writers: dict[str, Any] = {}
        self.rows: dict[str, int] = dict.fromkeys(SCHEMAS, 0)

    def __enter__(self) -> ExtractWriter:
        _check_replaceable(self.out_dir)
        self.tmp.mkdir(parents=True)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._close()
        shutil.rmtree(self.tmp, ignore_errors=True)
        for path in (*self._truth_tmp(), self._world_tmp()):
            path.unlink(missing_ok=True)

    def write(
        self,
        tables: dict[str, pa.Table],
        truth: pa.Table,
        truth_risk: pa.Table,
        truth_smi: pa.Table,
    ) -> None:
        """Append one chunk to every table and to the truth files."""
        for name, table in tables.items():
            self._writer(name, SCHEMAS[name]).write_table(table)
            self.rows[name] += table.num_rows
        truth_tmp, risk_tmp, smi_tmp = self._truth_tmp()
        self._parquet("truth", truth_tmp, TRUTH_SCHEMA).write_table(truth)
        self._parquet("truth_risk", risk_tmp, TRUTH_RISK_SCHEMA).write_table(truth_risk)
        self._parquet("truth_smi", smi_tmp, TRUTH_SMI_SCHEMA).write_table(truth_smi)

    def commit(
        self,
        extract_date: str,
        source: str,
        *,
        coverage: dict[str, str] | None = None,
        world: dict[str, Any] | None = None,
    ) -> None:
        """Write extract.json, close the files, move extract and truth into place.

        ``coverage`` (table -> first covered ISO date) goes into extract.json as
        the contract's optional ``coverage``; ``world`` is written beside the
        extract as ``<out_dir>.world.json`` (an earlier one there is removed).
        """
        for name, schema in SCHEMAS.items():
            self._writer(name, schema)  # an empty table still gets its header
        info: dict[str, Any] = {
            "contract": CONTRACT,
            "extract_date": extract_date,
            "source": source,
        }
        if coverage:
            info["coverage"] = {t: {"from": d} for t, d in coverage.items()}
        (self.tmp / "extract.json").write_text(
            json.dumps(info, indent=2) + "\n", encoding="utf-8"
        )
        world_tmp = self._world_tmp()
        if world is not None:
            world_tmp.write_text(json.dumps(world, indent=2) + "\n", encoding="utf-8")
        self._close()
        _replace_dir(self.tmp, self.out_dir)
        for tmp, final in zip(
            self._truth_tmp(),
            (self.truth_path, self.truth_risk_path, self.truth_smi_path),
            strict=True,
        ):
            os.replace(tmp, final)
        if world is not None:
            os.replace(world_tmp, self.world_path)
        else:
            self.world_path.unlink(missing_ok=True)

    def _truth_tmp(self) -> tuple[Path, Path, Path]:
        token = self.tmp.name[-8:]
        return (
            self.truth_path.with_name(f".{self.truth_path.name}.{token}"),
            self.truth_risk_path.with_name(f".{self.truth_risk_path.name}.{token}"),
            self.truth_smi_path.with_name(f".{self.truth_smi_path.name}.{token}"),
        )

    def _world_tmp(self) -> Path:
        name = self.world_path.name
        return self.world_path.with_name(f".{name}.{self.tmp.name[-8:]}")

    def _writer(self, name: str, schema: pa.Schema) -> Any:
        """Return the open writer of one table, created on first use."""
        if name not in self._writers:
            path = self.tmp / f"{name}.{self.fmt}"
            if self.fmt == "csv":
                self._writers[name] = pacsv.CSVWriter(path, schema)
            else:
                self._writers[name] = pq.ParquetWriter(
                    path, schema, compression="snappy"
                )
        return self._writers[name]

    def _parquet(self, name: str, path: Path, schema: pa.Schema) -> Any:
        if name not in self._writers:
            self._writers[name] = pq.ParquetWriter(path, schema, compression="snappy")
        return self._writers[name]

    def _close(self) -> None:
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()


def _check_replaceable(out_dir: Path) -> None:
    """Only an empty folder or an earlier extract may be replaced."""
    if (
        out_dir.exists()
        and any(out_dir.iterdir())
        and not (out_dir / "extract.json").exists()
    ):
        raise FileExistsError(NOT_AN_EXTRACT.format(path=out_dir))


def _replace_dir(tmp: Path, out_dir: Path) -> None:
    """Rename ``tmp`` to ``out_dir``, moving an earlier extract aside first."""
    old = out_dir.with_name(f".{out_dir.name}.old-{tmp.name[-8:]}")
    if out_dir.exists():
        os.replace(out_dir, old)
    os.replace(tmp, out_dir)
    shutil.rmtree(old, ignore_errors=True)
