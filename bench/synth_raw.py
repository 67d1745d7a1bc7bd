# ruff: noqa: E501
"""Synthesize ``raw.*`` contract tables directly in DuckDB, for the feature benchmark.

Far faster than writing and loading CSV: the benchmark measures the feature build,
and this stands in for a loaded extract of any size (about 30 events per citizen).
The shapes follow the journal-extract contract v1; the rates are rough, not a model.
"""

from __future__ import annotations

import duckdb

EXTRACT_DATE = "2026-11-23"

_CITIZENS = """
create or replace table raw.citizens as
select
    'c' || lpad(cast(i as varchar), 8, '0') as citizen_id,
    date '1930-01-01' + cast(floor(random() * 32000) as integer) as birth_date,
    case when random() < 0.5 then 'F' else 'M' end as sex,
    ['390', '376', '360', '101'][1 + cast(floor(random() * 4) as integer)] as municipality_code,
    ['basic', 'upper_secondary', 'vocational', 'short_tertiary', 'medium_tertiary',
     'long_tertiary', 'unknown'][1 + cast(floor(random() * 7) as integer)] as education_level,
    ['danish', 'danish', 'danish', 'danish', 'immigrant_western', 'immigrant_non_western',
     'descendant_western', 'descendant_non_western', 'unknown'
    ][1 + cast(floor(random() * 9) as integer)] as origin,
    case when random() < 0.95 then 'own_home'
         else ['supported_housing', 'shelter', 'prison', 'nursing_home', 'unknown'
              ][1 + cast(floor(random() * 5) as integer)] end as living_situation,
    case when random() < 0.97 then 'gp' || cast(i % 500 as varchar) end as gp_clinic_id,
    case when random() < 0.9 then 'da'
         else ['ar', 'tr', 'so', 'ur', 'pl'][1 + cast(floor(random() * 5) as integer)]
    end as preferred_language,
    case when random() < 0.01
         then date '2018-01-01' + cast(floor(random() * 3200) as integer) end as death_date,
    case when random() < 0.005
         then date '2018-01-01' + cast(floor(random() * 3200) as integer) end
        as emigration_date,
    random() < 0.01 as outreach_opt_out
from range($n) as t(i)
"""

_DIAGNOSES = """
create or replace table raw.diagnoses as
with codes as (
    select * from (values
        ('SKS', 'DE119', 'hospital'), ('ICPC2', 'T90', 'gp'), ('SKS', 'DE109', 'hospital'),
        ('ICPC2', 'T89', 'gp'), ('SKS', 'DF200', 'psychiatry'), ('ICPC2', 'P72', 'gp'),
        ('SKS', 'DJ449', 'hospital'), ('ICPC2', 'R95', 'gp'), ('SKS', 'DI251', 'hospital'),
        ('ICPC2', 'K77', 'gp'), ('SKS', 'DC509', 'hospital'), ('SKS', 'DM545', 'hospital'),
        ('ICPC2', 'L03', 'gp'), ('SKS', 'DO800', 'hospital'), ('SKS', 'DF329', 'psychiatry'),
        ('ICPC2', 'R74', 'gp'), ('ICPC2', 'A04', 'gp'), ('SKS', 'DR074', 'hospital'),
        ('ICPC2', 'L86', 'gp'), ('SKS', 'DI109', 'hospital')
    ) as v(code_system, code, source)
),
rows as (
    select
        c.citizen_id,
        case when hash(c.citizen_id) % 100 < 8 then cast(floor(random() * 20) as integer)
             else 4 + cast(floor(random() * 16) as integer) end as k
    from raw.citizens as c, range(6)
)
select
    rows.citizen_id,
    date '2015-01-01' + cast(floor(random() * 4340) as integer) as diagnosis_date,
    codes.code_system,
    codes.code,
    codes.source,
    case when codes.code_system = 'SKS' then case when random() < 0.7 then 'A' else 'B' end
    end as diagnosis_type
from rows
inner join (select *, row_number() over () - 1 as k from codes) as codes using (k)
"""

_PRESCRIPTIONS = """
create or replace table raw.prescriptions as
with issued as (
    select
        c.citizen_id,
        ['A10BA02', 'A10AE04', 'A10BJ06', 'A10BK01', 'A10BH01', 'C10AA05', 'C09AA05',
         'C07AB02', 'N05AH03', 'R03AK06', 'N02BE01', 'A02BC01'][
            1 + cast(case when hash(c.citizen_id) % 100 < 8 then floor(random() * 12)
                     else 5 + floor(random() * 7) end as integer)
        ] as atc_code,
        date '2020-01-01' + cast(floor(random() * 2518) as integer) as issued_date,
        [30, 90, 100][1 + cast(floor(random() * 3) as integer)] as days_supply,
        random() as u
    from raw.citizens as c, range(8)
)
select
    'p' || cast(row_number() over () as varchar) as prescription_id,
    citizen_id,
    atc_code,
    issued_date,
    cast(days_supply as integer) as days_supply,
    case
        when u < 0.8 and issued_date + cast(floor(u * 75) as integer) <= date '$extract'
            then issued_date + cast(floor(u * 75) as integer)
    end as redeemed_date,
    ['gp', 'gp', 'hospital', 'psychiatry', 'other'][1 + cast(floor(u * 5) as integer)]
        as prescriber_type
from issued
"""

_APPOINTMENTS = """
create or replace table raw.appointments as
with booked as (
    select
        c.citizen_id,
        ['diabetes_annual_control', 'diabetes_control', 'eye_screening', 'foot_examination',
         'copd_control', 'heart_outpatient', 'psychiatric_outpatient', 'gp_consultation',
         'rehabilitation'][1 + cast(floor(random() * 9) as integer)] as kind,
        date '2020-01-01' + cast(floor(random() * 2560) as integer) as scheduled_date,
        random() as u
    from raw.citizens as c, range(8)
)
select
    'a' || cast(row_number() over () as varchar) as appointment_id,
    citizen_id,
    scheduled_date,
    kind,
    case kind when 'gp_consultation' then 'gp' when 'psychiatric_outpatient' then 'psychiatry'
        when 'rehabilitation' then 'municipality'
        when 'eye_screening' then 'hospital_outpatient' else 'gp' end as provider_type,
    case
        when scheduled_date > date '$extract' then 'scheduled'
        when u < 0.78 then 'attended'
        when u < 0.88 then 'no_show'
        when u < 0.95 then 'cancelled_by_citizen'
        else 'cancelled_by_provider'
    end as status
from booked
"""

_LAB_RESULTS = """
create or replace table raw.lab_results as
select
    c.citizen_id,
    date '2015-01-01' + cast(floor(random() * 4340) as integer) as sample_date,
    case when random() < 0.7 then 'NPU27300' when random() < 0.2 then 'NPU03835'
         else 'NPU01566' end as npu_code,
    case when hash(c.citizen_id) % 100 < 8 then round(44 + random() * 36, 1)
         else round(30 + random() * 16, 1) end as value,
    'mmol/mol' as unit
from raw.citizens as c, range(5)
"""

_HOSPITAL_CONTACTS = """
create or replace table raw.hospital_contacts as
with contacts as (
    select
        c.citizen_id,
        date '2018-01-01' + cast(floor(random() * 3250) as integer) as start_date,
        ['acute_admission', 'planned_admission', 'emergency_department', 'outpatient'
        ][1 + cast(floor(random() * 4) as integer)] as contact_type
    from raw.citizens as c, range(3)
)
select
    'h' || cast(row_number() over () as varchar) as contact_id,
    citizen_id,
    start_date,
    case when start_date + 3 <= date '$extract' then start_date + 3 end as end_date,
    contact_type,
    'DR074' as primary_diagnosis
from contacts
"""

_FIX_NPU03835 = """
update raw.lab_results set value = round(value / 10.929 + 2.15, 1), unit = '%'
where npu_code = 'NPU03835'
"""


def synthesize_raw(
    con: duckdb.DuckDBPyConnection, n_citizens: int, seed: float = 0.42
) -> dict[str, int]:
    """Write synthetic ``raw.*`` tables for ``n_citizens``; return rows per table."""
    con.execute("create schema if not exists raw")
    con.execute(f"select setseed({seed})")
    statements = {
        "citizens": _CITIZENS,
        "diagnoses": _DIAGNOSES,
        "prescriptions": _PRESCRIPTIONS,
        "appointments": _APPOINTMENTS,
        "lab_results": _LAB_RESULTS,
        "hospital_contacts": _HOSPITAL_CONTACTS,
    }
    for table, sql in statements.items():
        sql = sql.replace("$extract", EXTRACT_DATE)
        con.execute(sql, {"n": n_citizens} if table == "citizens" else None)
    con.execute(_FIX_NPU03835)
    con.execute(
        "create or replace table raw.extract_info as select 'journal-extract/1' as contract,"
        f" date '{EXTRACT_DATE}' as extract_date, 'bench' as source, 'synthetic' as extract_hash,"
        " current_timestamp::timestamp as loaded_at"
    )
    return {
        t: int(con.execute(f"select count(*) from raw.{t}").fetchall()[0][0])
        for t in statements
    }
