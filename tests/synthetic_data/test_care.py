"""Care behaviour: engagement drives records; the two audit knobs do what they say."""

from __future__ import annotations

import numpy as np
import pytest

from synthetic_data import codes as C
from synthetic_data import load_profile
from synthetic_data.care import P_FOUND_AT_ADMISSION, record_care
from synthetic_data.harm import simulate_harm
from synthetic_data.population import NEVER, Calendar, draw_citizens

COMPLICATIONS = "regexp_matches(code, '^DE1[01][2-6]$')"


def _recorded_by_engagement_tertile(con) -> list[int]:
    """Sum distinct recorded complication groups within engagement tertiles."""
    rows = con.execute(f"""
        with diabetics as (
            select citizen_id, ntile(3) over (order by engagement) as tertile
            from truth where has_diabetes),
        groups as (
            select citizen_id, count(distinct substr(code, 5, 1)) as k
            from diagnoses where {COMPLICATIONS} group by 1)
        select tertile, sum(coalesce(k, 0))
        from diabetics left join groups using (citizen_id)
        group by 1 order by 1""").fetchall()
    return [int(n) for _, n in rows]


@pytest.fixture(scope="module")
def chunk():
    profile = load_profile("region_small")
    cal = Calendar.from_profile(profile)
    rng = np.random.default_rng(11)
    cit = draw_citizens(rng, profile, cal, 5000)
    harm = simulate_harm(rng, profile, cal, cit)
    return cal, cit, harm, record_care(rng, profile, cal, cit, harm)


def test_record_care_ascertainment_bias_lowers_records_of_low_engagement_only(
    generate, open_extract
) -> None:
    off = _recorded_by_engagement_tertile(
        open_extract(generate("region_small", fmt="parquet"))
    )
    biased = generate("region_small", fmt="parquet", ascertainment_bias=True)
    on = _recorded_by_engagement_tertile(open_extract(biased))
    drop = [1 - b / a for a, b in zip(off, on, strict=True)]
    # On 20,000 citizens the drops are 0.20-0.22, 0.11 and 0.08-0.09 by tertile;
    # these 5,000 are noisier (0.24, 0.11, 0.12 in region_small).
    assert drop[0] > 0.18, drop  # lowest engagement: many complications never recorded
    assert drop[2] < 0.14, drop  # highest engagement: most still recorded
    assert drop[0] > 1.8 * drop[2], drop


def test_record_care_ascertainment_bias_leaves_true_harm_unchanged(
    generate, open_extract
) -> None:
    def true_harm(result):
        return (
            open_extract(result)
            .execute("select sum(n_complications_true), sum(engagement) from truth")
            .fetchone()
        )

    off = generate("region_small", fmt="parquet")
    on = generate("region_small", fmt="parquet", ascertainment_bias=True)
    assert true_harm(off) == true_harm(on)


def test_ascertainment_engagement_slope_widens_the_recording_gap(
    generate, open_extract
) -> None:
    flat = generate("region_small", fmt="parquet", ascertainment_bias=True)
    steep = generate(
        "region_small",
        fmt="parquet",
        ascertainment_bias=True,
        ascertainment_engagement_slope=1.0,
    )
    base = _recorded_by_engagement_tertile(open_extract(flat))
    more = _recorded_by_engagement_tertile(open_extract(steep))
    kept = [b / a for a, b in zip(base, more, strict=True)]
    assert kept[0] < 0.7, kept  # lowest engagement: examinations often incomplete
    assert kept[2] > 0.9, kept  # highest engagement: above average, all examined
    assert kept[0] < kept[1] < kept[2], kept


def test_ascertainment_engagement_slope_needs_the_bias(generate, open_extract) -> None:
    def records(result) -> tuple[int, int]:
        con = open_extract(result)
        return con.execute(
            f"select count(*), sum(hash(citizen_id, diagnosis_date, code)) "
            f"from diagnoses where {COMPLICATIONS}"
        ).fetchone()

    off = generate("region_small", fmt="parquet")
    slope_only = generate(
        "region_small", fmt="parquet", ascertainment_engagement_slope=1.0
    )
    assert records(off) == records(slope_only)


def test_record_care_engagement_gradient_knob(generate, open_extract) -> None:
    def gap(result) -> float:
        means = dict(
            open_extract(result)
            .execute("""
            select education_level, avg(engagement)
            from citizens join truth using (citizen_id)
            where education_level in ('basic', 'long_tertiary') group by 1""")
            .fetchall()
        )
        return means["long_tertiary"] - means["basic"]

    assert gap(generate("region_small", fmt="parquet")) > 0.6
    flat = generate("region_small", fmt="parquet", engagement_education_gradient=0.0)
    assert abs(gap(flat)) < 0.2


def test_record_care_hba1c_is_sparse_with_low_engagement(
    small_extract, open_extract
) -> None:
    rows = (
        open_extract(small_extract)
        .execute("""
        with diabetics as (
            select citizen_id, ntile(3) over (order by engagement) as tertile
            from truth where has_diabetes and diabetes_onset_date < date '2020-11-01'),
        tests as (select citizen_id, count(*) as n from lab_results
                  where npu_code in ('NPU27300', 'NPU03835') group by 1)
        select tertile, avg(coalesce(n, 0))
        from diabetics left join tests using (citizen_id)
        group by 1 order by 1""")
        .fetchall()
    )
    assert rows[0][1] < 0.8 * rows[2][1]


def test_record_care_known_complications_are_re_recorded_early(chunk) -> None:
    """A complication from before the history is recorded in its first 180 days."""
    cal, cit, harm, events = chunk
    recorded = events.complications_recorded
    followed = (cit.start[harm.who] == cal.t0) & (cit.end[harm.who] > cal.t0 + 180)
    prevalent = harm.prevalent & followed[:, None]
    assert prevalent.sum() > 50
    assert np.all(
        (recorded[prevalent] >= cal.t0) & (recorded[prevalent] < cal.t0 + 180)
    )


def test_record_care_new_complications_are_recorded_near_onset(chunk) -> None:
    cal, cit, harm, events = chunk
    recorded = events.complications_recorded
    new = ~harm.prevalent & (harm.complication < cal.te - 60)
    new &= cit.end[harm.who][:, None] > harm.complication + 60
    assert new.sum() > 20
    lag = recorded[new].astype(np.int64) - harm.complication[new]
    assert np.all((lag >= 0) & (lag <= 30))


def test_record_care_rows_lie_inside_each_citizens_window(chunk) -> None:
    cal, cit, _, events = chunk
    for table, day in (
        (events.diagnoses, "day"),
        (events.prescriptions, "issued"),
        (events.lab_results, "day"),
        (events.hospital_contacts, "start"),
    ):
        who = table["cit"]
        assert np.all(table[day] >= cit.start[who]) and np.all(
            table[day] < cit.end[who]
        )
        assert np.all(table[day] <= cal.te) and np.all(table[day] < NEVER)


def test_gp_consultations_know_no_condition_before_its_onset(chunk) -> None:
    """A condition adds GP consultations from its onset, not in the years before.

    Pooled over every condition that begins at least a year inside a citizen's
    window: consultations in the year after onset exceed those in the year before
    by about ``GP_RATE_PER_CONDITION`` (0.4); with the old whole-window rate the
    two years differed by 0.10.
    """
    cal, cit, _, events = chunk
    gp = events.appointments["kind"] == C.KIND["gp_consultation"]
    who = events.appointments["cit"][gp]
    day = events.appointments["day"][gp].astype(np.int64)
    diffs = []
    for onset in cit.onset.values():
        o = onset.astype(np.int64)
        last = np.minimum(cit.end, cal.te).astype(np.int64)
        sel = np.flatnonzero((o - 365 >= cit.start) & (o + 365 <= last))
        rel = day - o[who]
        year_before = np.bincount(who[(rel >= -365) & (rel < 0)], minlength=cit.n)
        year_after = np.bincount(who[(rel >= 0) & (rel < 365)], minlength=cit.n)
        diffs.append(year_after[sel] - year_before[sel])
    gap = np.concatenate(diffs)
    assert len(gap) > 300, len(gap)
    assert gap.mean() > 0.25, gap.mean()


def test_some_new_complications_are_first_recorded_at_an_acute_admission(
    chunk,
) -> None:
    """Found at admission: an acute admission with the complication as its diagnosis.

    Each such admission starts on the day the complication is first recorded, and
    the share of new complications found this way follows ``P_FOUND_AT_ADMISSION``
    (none for eye complications, which only screening finds).
    """
    _, cit, harm, events = chunk
    contacts = events.hospital_contacts
    acute = contacts["ctype"] == C.CONTACT_TYPE["acute_admission"]
    recorded = events.complications_recorded
    new = (harm.complication >= cit.start[harm.who][:, None]) & (recorded < NEVER)
    found, n_new = 0, 0
    for g, (code2, code1, *_) in enumerate(C.COMPLICATION_CODES):
        sel = acute & np.isin(contacts["diag"], C.CODES(code2, code1))
        row = np.searchsorted(harm.who, contacts["cit"][sel])
        assert (recorded[row, g] == contacts["start"][sel]).all()
        if P_FOUND_AT_ADMISSION[g] == 0:
            assert sel.sum() == 0
        found, n_new = found + int(sel.sum()), n_new + int(new[:, g].sum())
    expected = (
        sum(p * new[:, g].sum() for g, p in enumerate(P_FOUND_AT_ADMISSION)) / n_new
    )
    assert n_new > 150, n_new
    assert abs(found / n_new - expected) < 0.06, (found / n_new, expected)
