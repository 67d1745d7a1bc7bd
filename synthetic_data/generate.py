"""Generate a synthetic journal extract (contract v1): the generator's entry point.

:func:`generate_extract` splits the citizens of a
:class:`~synthetic_data.profile.SyntheticProfile` into fixed chunks, seeds each
chunk from ``np.random.SeedSequence(profile.seed).spawn`` (so a chunk's rows do
not depend on anything but the seed, the chunk index and the profile), and for
each chunk draws the population (:mod:`~synthetic_data.population`), its harm
through time (:mod:`~synthetic_data.harm`) and its journal events
(:mod:`~synthetic_data.care`), encodes them as Arrow tables here, and streams
them to :mod:`~synthetic_data.write`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from synthetic_data import codes as C
from synthetic_data.care import Events, record_care
from synthetic_data.drivers import cover, draw_drivers
from synthetic_data.harm import Harm, simulate_harm
from synthetic_data.population import (
    NEVER,
    Calendar,
    Citizens,
    clinics,
    draw_citizens,
    language_vocab,
)
from synthetic_data.profile import BAD_PARAMETER, ProfileError, SyntheticProfile
from synthetic_data.smi_truth import SmiTruth, smi_truth
from synthetic_data.world import coverage_starts, world_document
from synthetic_data.write import (
    SCHEMAS,
    TRUTH_RISK_SCHEMA,
    TRUTH_SCHEMA,
    TRUTH_SMI_SCHEMA,
    ExtractWriter,
)

__all__ = ["CHUNK_SIZE", "GenerationResult", "generate_extract"]

logger = logging.getLogger(__name__)

#: Citizens per chunk. Part of the output's identity: changing it changes the data.
CHUNK_SIZE = 50_000
FORMATS = ("csv", "parquet")
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class GenerationResult:
    """What :func:`generate_extract` wrote."""

    out_dir: Path
    truth_path: Path
    truth_risk_path: Path
    n_citizens: int
    rows: dict[str, int]
    fmt: str
    world_path: Path | None = None  # <out_dir>.world.json when a world was generated
    truth_smi_path: Path | None = None  # <out_dir>.truth_smi.parquet (SMI truth)


def generate_extract(
    profile: SyntheticProfile,
    out_dir: Path,
    *,
    fmt: str = "csv",
    progress: Progress | None = None,
) -> GenerationResult:
    """Write a seeded synthetic extract and its ground truth.

    Parameters
    ----------
    profile : SyntheticProfile
        The region to simulate (:func:`synthetic_data.load_profile`).
    out_dir : Path
        The extract folder. It is written in a temporary folder beside it and
        renamed at the end; an earlier extract there is replaced.
    fmt : {"csv", "parquet"}
        File format of the six contract tables.
    progress : callable, optional
        Called as ``progress(done, total)`` (citizens) after every chunk.

    Returns
    -------
    GenerationResult

    Raises
    ------
    ProfileError
        If ``fmt`` is not a known format.
    FileExistsError
        If ``out_dir`` exists, is not empty and holds no ``extract.json``.
    """
    if fmt not in FORMATS:
        rule = "a str among {'csv', 'parquet'}"
        raise ProfileError(
            BAD_PARAMETER.format(
                name="fmt", caller="generate_extract", rule=rule, value=fmt
            )
        )
    out_dir = Path(out_dir)
    cal = Calendar.from_profile(profile)
    bounds = [
        (lo, min(lo + CHUNK_SIZE, profile.citizens))
        for lo in range(0, profile.citizens, CHUNK_SIZE)
    ]
    seeds = np.random.SeedSequence(_entropy(profile)).spawn(len(bounds))
    report = progress or (lambda done, total: None)
    report(0, profile.citizens)
    with ExtractWriter(out_dir, fmt) as writer:  # type: ignore[arg-type]
        for index, ((lo, hi), seed) in enumerate(zip(bounds, seeds, strict=True)):
            writer.write(*build_chunk(profile, cal, index, lo, hi, seed))
            report(hi, profile.citizens)
        writer.commit(
            profile.extract_date.isoformat(),
            profile.source,
            coverage=_declared_coverage(profile),
            world=None if profile.world is None else world_document(profile),
        )
    logger.info(
        "wrote %s citizens and %s event rows",
        profile.citizens,
        sum(writer.rows.values()),
    )
    return GenerationResult(
        out_dir,
        writer.truth_path,
        writer.truth_risk_path,
        profile.citizens,
        dict(writer.rows),
        fmt,
        None if profile.world is None else writer.world_path,
        writer.truth_smi_path,
    )


def _entropy(profile: SyntheticProfile) -> int | list[int]:
    """Return the root seed: the profile's, joined by the world's when there is one.

    Worlds are then independent samples of citizens, not one population seen
    under different mechanisms; without a world the seed is unchanged.
    """
    if profile.world is None:
        return profile.seed
    return [profile.seed, profile.world.seed]


def _declared_coverage(profile: SyntheticProfile) -> dict[str, str] | None:
    """Return the coverage starts extract.json states (the declared tables)."""
    if profile.world is None or not profile.world.coverage_declared:
        return None
    starts = coverage_starts(profile.world, profile.extract_date)
    return {t: starts[t].isoformat() for t in profile.world.coverage_declared}


def build_chunk(
    profile: SyntheticProfile,
    cal: Calendar,
    index: int,
    lo: int,
    hi: int,
    seed: np.random.SeedSequence,
) -> tuple[dict[str, pa.Table], pa.Table, pa.Table, pa.Table]:
    """Simulate citizens ``lo..hi-1`` (chunk ``index``) and encode their tables.

    Parameters
    ----------
    profile, cal : SyntheticProfile, Calendar
    index, lo, hi : int
        Chunk number and the global citizen range it covers.
    seed : numpy.random.SeedSequence
        This chunk's seed.

    Returns
    -------
    tables, truth, truth_risk, truth_smi
        The six contract tables, and the three ground-truth tables, of this chunk.
    """
    rng = np.random.default_rng(seed)
    cit = draw_citizens(rng, profile, cal, hi - lo)
    world = profile.world
    drivers = None if world is None else draw_drivers(seed, world, cal, cit)
    harm = simulate_harm(rng, profile, cal, cit, drivers)
    events = record_care(rng, profile, cal, cit, harm, drivers)
    smi = smi_truth(
        profile,
        cit,
        cal.te,
        harm.who,
        harm.index_days,
        harm.hazards,
        events.hospital_contacts,
    )
    if drivers is not None:
        events = cover(drivers, events)
    ids = _ids("P-", np.arange(lo + 1, hi + 1), 8)
    tables = {
        "citizens": _citizens(profile, cal, cit, ids),
        "diagnoses": _diagnoses(events, ids),
        "prescriptions": _prescriptions(events, ids, index),
        "appointments": _appointments(events, ids, index),
        "lab_results": _lab_results(events, ids),
        "hospital_contacts": _contacts(events, ids, index),
    }
    truth = _truth(cal, cit, harm, events, ids)
    return tables, truth, _truth_risk(harm, ids), _truth_smi(smi, ids)


# --- encoding: integer columns -> contract columns ----------------------------


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """Build fixed-width ids ``prefix + zero-padded number`` as an Arrow array."""
    n = len(numbers)
    head = np.frombuffer(prefix.encode("ascii"), dtype=np.uint8)
    body = np.empty((n, len(head) + width), dtype=np.uint8)
    body[:, : len(head)] = head
    rest = numbers.astype(
        np.uint32
    )  # uint32 division is several times faster than int64
    for pos in range(len(head) + width - 1, len(head) - 1, -1):
        body[:, pos] = rest % np.uint32(10)
        rest //= np.uint32(10)
    body[:, len(head) :] += 48
    offsets = np.arange(n + 1, dtype=np.int32) * body.shape[1]
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(body))


def _take(words: tuple[str, ...] | list[str], idx: np.ndarray) -> pa.Array:
    """Strings from a vocabulary by index; a negative index is null."""
    return pa.array(list(words), pa.string()).take(
        pa.array(idx, pa.int32(), mask=idx < 0)
    )


def _dates(days: np.ndarray) -> pa.Array:
    """date32 from day numbers; NEVER is null."""
    return pa.array(days.astype(np.int32), pa.int32(), mask=days >= NEVER).cast(
        pa.date32()
    )


def _sorted(table: dict[str, np.ndarray], day: str) -> dict[str, np.ndarray]:
    """Rows ordered by citizen and date (a deterministic order)."""
    order = np.argsort(
        table["cit"].astype(np.int64) * (1 << 31) + table[day], kind="stable"
    )
    return {k: v[order] for k, v in table.items()}


def _event_ids(prefix: str, chunk: int, n: int) -> pa.Array:
    """Build unique event ids: chunk number, then a running number."""
    return _ids(f"{prefix}{chunk:04d}", np.arange(1, n + 1), 8)


def _citizens(
    profile: SyntheticProfile, cal: Calendar, cit: Citizens, ids: pa.Array
) -> pa.Table:
    codes = [m["code"] for m in profile.municipalities]
    death = np.where(cit.death <= cal.te, cit.death, NEVER)
    emigration = np.where(cit.emigration <= cal.te, cit.emigration, NEVER)
    columns = [
        ids,
        _dates(cit.birth),
        _take(C.SEX.words, np.where(cit.female, 0, 1)),
        _take(codes, cit.municipality),
        _take(C.EDUCATION.words, cit.education),
        _take(C.ORIGIN.words, cit.origin),
        _take(C.LIVING.words, cit.living),
        _take(clinics(profile)[0], cit.clinic),
        _take(language_vocab(profile), cit.language),
        _dates(death),
        _dates(emigration),
        pa.array(cit.opt_out, pa.bool_()),
    ]
    return pa.Table.from_arrays(columns, schema=SCHEMAS["citizens"])


def _diagnoses(events: Events, ids: pa.Array) -> pa.Table:
    t = _sorted(events.diagnoses, "day")
    columns = [
        ids.take(t["cit"]),
        _dates(t["day"]),
        _take(C.CODE_SYSTEM.words, t["system"]),
        _take(C.CODES.words, t["code"]),
        _take(C.DIAG_SOURCE.words, t["source"]),
        _take(C.DIAG_TYPE.words, t["dtype"]),
    ]
    return pa.Table.from_arrays(columns, schema=SCHEMAS["diagnoses"])


def _prescriptions(events: Events, ids: pa.Array, chunk: int) -> pa.Table:
    t = _sorted(events.prescriptions, "issued")
    columns = [
        _event_ids("RX", chunk, len(t["cit"])),
        ids.take(t["cit"]),
        _take(C.CODES.words, t["atc"]),
        _dates(t["issued"]),
        pa.array(t["supply"], pa.int32()),
        _dates(t["redeemed"]),
        _take(C.PRESCRIBER.words, t["prescriber"]),
    ]
    return pa.Table.from_arrays(columns, schema=SCHEMAS["prescriptions"])


def _appointments(events: Events, ids: pa.Array, chunk: int) -> pa.Table:
    t = _sorted(events.appointments, "day")
    columns = [
        _event_ids("AP", chunk, len(t["cit"])),
        ids.take(t["cit"]),
        _dates(t["day"]),
        _take(C.KIND.words, t["kind"]),
        _take(C.PROVIDER.words, t["provider"]),
        _take(C.STATUS.words, t["status"]),
    ]
    return pa.Table.from_arrays(columns, schema=SCHEMAS["appointments"])


def _lab_results(events: Events, ids: pa.Array) -> pa.Table:
    t = _sorted(events.lab_results, "day")
    columns = [
        ids.take(t["cit"]),
        _dates(t["day"]),
        _take(C.CODES.words, t["npu"]),
        pa.array(t["value"], pa.float64()),
        _take(C.UNIT.words, t["unit"]),
    ]
    return pa.Table.from_arrays(columns, schema=SCHEMAS["lab_results"])


def _contacts(events: Events, ids: pa.Array, chunk: int) -> pa.Table:
    t = _sorted(events.hospital_contacts, "start")
    columns = [
        _event_ids("HC", chunk, len(t["cit"])),
        ids.take(t["cit"]),
        _dates(t["start"]),
        _dates(t["end"]),
        _take(C.CONTACT_TYPE.words, t["ctype"]),
        _take(C.CODES.words, t["diag"]),
    ]
    return pa.Table.from_arrays(columns, schema=SCHEMAS["hospital_contacts"])


# --- ground truth -------------------------------------------------------------


def _truth(
    cal: Calendar, cit: Citizens, harm: Harm, events: Events, ids: pa.Array
) -> pa.Table:
    """Build one truth row per citizen: latent traits, conditions, complications."""
    seen = np.minimum(cit.end, cal.te + 1)
    has = {k: v < seen for k, v in cit.onset.items()}
    diabetic = has["type1"] | has["type2"]
    dtype = np.where(has["type1"], 0, np.where(has["type2"], 1, -1))
    onset = np.where(
        diabetic, np.minimum(cit.onset["type1"], cit.onset["type2"]), NEVER
    )
    n_true = np.zeros(cit.n, dtype=np.int32)
    n_true[harm.who] = (harm.complication < seen[harm.who, None]).sum(axis=1)
    n_rec = np.zeros(cit.n, dtype=np.int32)
    n_rec[harm.who] = (events.complications_recorded <= cal.te).sum(axis=1)
    gdm = np.bincount(
        events.pregnancies.who[
            events.pregnancies.gdm & (events.pregnancies.day <= cal.te)
        ],
        minlength=cit.n,
    ).astype(np.int32)
    heart = has["ischaemic"] | has["arrhythmia"] | has["failure"] | has["valve"]
    columns = [
        ids,
        pa.array(cit.engagement),
        pa.array(cit.hba1c_mean, from_pandas=True),
        pa.array(diabetic),
        _take(["type1", "type2"], dtype),
        _dates(onset),
        pa.array(has["smi"]),
        pa.array(has["copd"]),
        pa.array(heart),
        pa.array(has["cancer"]),
        pa.array(has["back_pain"]),
        pa.array(has["hypertension"]),
        pa.array(n_true),
        pa.array(n_rec),
        pa.array(cit.flags["glp1_obesity"]),
        pa.array(cit.flags["pcos"]),
        pa.array(cit.flags["single_high_hba1c"]),
        pa.array(gdm),
    ]
    return pa.Table.from_arrays(columns, schema=TRUTH_SCHEMA)


def _truth_risk(harm: Harm, ids: pa.Array) -> pa.Table:
    """Build the long truth: true risk and event per diabetic and index date."""
    d, q = np.nonzero(~np.isnan(harm.risk))
    columns = [
        ids.take(harm.who[d]),
        _dates(harm.index_days[q]),
        pa.array(harm.risk[d, q]),
        pa.array(harm.event[d, q]),
    ]
    return pa.Table.from_arrays(columns, schema=TRUTH_RISK_SCHEMA)


def _truth_smi(smi: SmiTruth, ids: pa.Array) -> pa.Table:
    """Build the SMI truth: true somatic risk and event per SMI citizen and date."""
    s, q = np.nonzero(~np.isnan(smi.risk))
    columns = [
        ids.take(smi.who[s]),
        _dates(smi.index_days[q]),
        pa.array(smi.risk[s, q]),
        pa.array(smi.event[s, q]),
    ]
    return pa.Table.from_arrays(columns, schema=TRUTH_SMI_SCHEMA)
