-- Per scored citizen and complication group: where new ones were first recorded.
-- Grain: citizen_id x complication_group (scored by one model_uri x as_of_date;
-- only citizens with a new complication).
-- Point in time: first records in [covered start + $washout_days, $as_of_date).
with

scores as (
    select citizen_id, as_of_date from scoring.scores
    where model_uri = $model_uri and as_of_date = $as_of_date
),

acute as (
    select citizen_id, start_date, coalesce(end_date, start_date) as end_date
    from raw.hospital_contacts
    where contact_type = 'acute_admission'
),

-- an acute admission's primary diagnosis is a hospital record on its first day
records as (
    select
        citizen_id, diagnosis_date as record_date, source,
        complication_group(code_system, code) as complication_group
    from raw.diagnoses
    union all
    select
        a.citizen_id, a.start_date as record_date, 'hospital' as source,
        complication_group('SKS', a.primary_diagnosis) as complication_group
    from raw.hospital_contacts as a
    where a.contact_type = 'acute_admission'
),

-- both tables hold history from here (the later of their coverage starts)
covered as (
    select coalesce(
        (
            select max(coverage_from) from raw.coverage
            where table_name in ('diagnoses', 'hospital_contacts')
        ),
        (select min(record_date) from records)
    ) as covered_start
),

first_records as (
    select
        citizen_id, complication_group, min(record_date) as first_date,
        arg_min(source, record_date) as first_source
    from records
    where complication_group is not null
    group by all
),

-- new after the washout that re-records complications known before coverage
new_records as (
    select
        f.citizen_id, f.complication_group,
        f.first_source = 'hospital' and exists (
            select 1 from acute as a
            where a.citizen_id = f.citizen_id
                and f.first_date between a.start_date and a.end_date
        ) as at_admission
    from first_records as f, covered as c, scores as s
    where s.citizen_id = f.citizen_id
        and f.first_date >= c.covered_start + cast($washout_days as integer)
        and f.first_date < s.as_of_date
),

final as (
    select
        citizen_id, complication_group,
        count(*) filter (where not at_admission) as n_found_at_care,
        count(*) filter (where at_admission) as n_found_at_admission
    from new_records
    group by all
)

select * from final
