"""The modelled population and its gradients hold in the generated data."""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pytest

from synthetic_data import GenerationResult

DIABETES = "(code like 'DE10%' or code like 'DE11%' or code in ('T89', 'T90'))"
SMI = "(code like 'DF20%' or code like 'DF25%' or code like 'DF31%')"


@pytest.fixture(scope="module")
def con30k(
    region_30k: GenerationResult, open_extract
) -> Iterator[duckdb.DuckDBPyConnection]:
    con = open_extract(region_30k)
    yield con
    con.close()


def _by_education(
    con: duckdb.DuckDBPyConnection,
) -> dict[tuple[str, str], tuple[float, float, float]]:
    """Diabetes prevalence, unredeemed and no-show shares by education and age band."""
    rows = con.execute(f"""
        with people as (
            select citizen_id, education_level,
                   date_diff('year', birth_date, date '2026-11-23') as age
            from citizens),
        diabetes as (select distinct citizen_id from diagnoses where {DIABETES}),
        rx as (
            select citizen_id, count(*) as n,
                   sum((redeemed_date is null)::int) as unredeemed
            from prescriptions where issued_date < date '2026-10-01' group by 1),
        appts as (
            select citizen_id, count(*) as n, sum((status = 'no_show')::int) as no_show
            from appointments where status <> 'scheduled' group by 1)
        select education_level,
               case when age < 60 then '40-59' else '60-79' end as band,
               avg((diabetes.citizen_id is not null)::int),
               sum(rx.unredeemed) / sum(rx.n),
               sum(appts.no_show) / sum(appts.n)
        from people
        left join diabetes using (citizen_id)
        left join rx using (citizen_id)
        left join appts using (citizen_id)
        where age between 40 and 79 and education_level in ('basic', 'long_tertiary')
        group by all""").fetchall()
    return {(r[0], r[1]): (r[2], r[3], r[4]) for r in rows}


@pytest.mark.parametrize("band", ["40-59", "60-79"])
@pytest.mark.parametrize(
    ("measure", "at"),
    [("diabetes prevalence", 0), ("unredeemed share", 1), ("no-show share", 2)],
)
def test_draw_citizens_education_gradient_holds_at_same_age(
    con30k: duckdb.DuckDBPyConnection, band: str, measure: str, at: int
) -> None:
    table = _by_education(con30k)
    assert table[("basic", band)][at] > 1.3 * table[("long_tertiary", band)][at], (
        measure
    )


def test_draw_citizens_smi_raises_diabetes_prevalence(
    con30k: duckdb.DuckDBPyConnection,
) -> None:
    """Diabetes among adults with SMI exceeds the age-expected count (indirect SMR)."""
    observed, expected = con30k.execute(f"""
        with ages as (
            select citizen_id, date_diff('year', birth_date, date '2026-11-23') as age
            from citizens),
        adults as (
            select citizen_id, least(age // 10, 8) as band from ages where age >= 18),
        diabetes as (select distinct citizen_id from diagnoses where {DIABETES}),
        smi as (select distinct citizen_id from diagnoses where {SMI}),
        flagged as (
            select band, smi.citizen_id is not null as has_smi,
                   diabetes.citizen_id is not null as dm
            from adults
            left join diabetes using (citizen_id)
            left join smi using (citizen_id)),
        rates as (
            select band, avg(dm::int) as rate from flagged where not has_smi group by 1)
        select sum(dm::int), sum(rate)
        from flagged join rates using (band) where has_smi""").fetchone()
    assert observed > 1.4 * expected


def test_draw_citizens_population_has_the_rare_groups(
    con30k: duckdb.DuckDBPyConnection,
) -> None:
    living = dict(
        con30k.execute(
            "select living_situation, count(*) from citizens group by 1"
        ).fetchall()
    )
    assert set(living) == {
        "own_home",
        "supported_housing",
        "shelter",
        "prison",
        "nursing_home",
        "unknown",
    }
    counts = con30k.execute("""
        select count(*) filter (where gp_clinic_id is null),
               count(*) filter (where death_date is not null),
               count(*) filter (where emigration_date is not null),
               count(*) filter (where outreach_opt_out),
               count(distinct municipality_code)
        from citizens""").fetchone()
    assert min(counts) > 0 and counts[4] == 17


def test_draw_citizens_language_is_consistent_with_origin(
    con30k: duckdb.DuckDBPyConnection,
) -> None:
    share_da = dict(
        con30k.execute("""
        select origin, avg((preferred_language = 'da')::int) from citizens
        where preferred_language is not null group by 1""").fetchall()
    )
    assert share_da["danish"] == 1.0
    assert share_da["immigrant_non_western"] < 0.2


def test_draw_citizens_age_pyramid_shape(con30k: duckdb.DuckDBPyConnection) -> None:
    shares = dict(
        con30k.execute("""
        select date_diff('year', birth_date, date '2026-11-23') >= 65, count(*) / 30000
        from citizens group by 1""").fetchall()
    )
    assert 0.20 < shares[True] < 0.30  # Region Sjælland: about a quarter aged 65+


def test_draw_citizens_diabetes_prevalence_is_plausible(
    con30k: duckdb.DuckDBPyConnection,
) -> None:
    prevalence, type1 = con30k.execute("""
        select avg(has_diabetes::int),
               avg(coalesce(diabetes_type = 'type1', false)::int)
        from truth""").fetchone()
    assert 0.05 < prevalence < 0.08
    assert 0.003 < type1 < 0.008


def test_draw_citizens_look_alikes_are_not_diabetic(
    con30k: duckdb.DuckDBPyConnection,
) -> None:
    """Look-alikes (GLP-1, PCOS metformin, one high HbA1c, GDM) exist, not diabetic."""
    found = con30k.execute("""
        with non_diabetic as (select citizen_id from truth where not has_diabetes)
        select
          (select count(distinct citizen_id)
           from prescriptions join non_diabetic using (citizen_id)
           where atc_code like 'A10BJ%'),
          (select count(distinct citizen_id)
           from prescriptions join non_diabetic using (citizen_id)
           where atc_code = 'A10BA02'),
          (select count(*) from (
             select citizen_id from lab_results join non_diabetic using (citizen_id)
             where npu_code = 'NPU27300' and value >= 48
             group by 1 having count(*) = 1)),
          (select count(distinct citizen_id) from diagnoses where code = 'DO244'),
          (select count(distinct citizen_id) from diagnoses where code = 'DE282')
        """).fetchone()
    assert min(found) > 5, found


def test_draw_citizens_old_hba1c_in_dcct_percent_only_early(
    con30k: duckdb.DuckDBPyConnection,
) -> None:
    last, low, high = con30k.execute("""
        select max(sample_date), min(value), max(value) from lab_results
        where npu_code = 'NPU03835' and unit = '%'""").fetchone()
    assert last is not None and last.year <= 2021
    assert low > 4 and high < 16
