-- Per scored citizen: new complications by where they were first recorded.
-- Grain: citizen_id (one model_uri x as_of_date: the cohort that model ranked).
-- Point in time: first records in [$as_of_date - $lookback_days, $as_of_date).
with

scores as (
    select citizen_id, as_of_date from scoring.scores
    where model_uri = $model_uri and as_of_date = $as_of_date
),

admissions as (
    select
        citizen_id, contact_type, primary_diagnosis, start_date,
        coalesce(end_date, start_date) as end_date
    from raw.hospital_contacts
    where contact_type in ('acute_admission', 'planned_admission')
),

-- complication records (macro complication_group); an admission's primary
-- diagnosis counts as a hospital record on its first day
records as (
    select
        citizen_id, diagnosis_date as record_date, source,
        complication_group(code_system, code) as complication_group
    from raw.diagnoses
    union all
    select
        citizen_id, start_date as record_date, 'hospital' as source,
        complication_group('SKS', primary_diagnosis) as complication_group
    from admissions
),

history as (select min(record_date) as history_start from records),

first_records as (
    select
        citizen_id, complication_group, min(record_date) as first_date,
        arg_min(source, record_date) as first_source
    from records
    where complication_group is not null
    group by all
),

-- first recorded in the window, after the washout that re-records old ones
new_records as (
    select
        f.citizen_id, f.first_source = 'hospital' and exists (
            select 1 from admissions as a
            where a.citizen_id = f.citizen_id
                and f.first_date between a.start_date and a.end_date
        ) as at_admission
    from first_records as f, history as h, scores as s
    where s.citizen_id = f.citizen_id
        and f.first_date >= s.as_of_date - cast($lookback_days as integer)
        and f.first_date >= h.history_start + cast($washout_days as integer)
        and f.first_date < s.as_of_date
),

found as (
    select
        citizen_id, count(*) filter (where not at_admission) as n_care,
        count(*) filter (where at_admission) as n_admission
    from new_records
    group by citizen_id
),

final as (
    select
        scores.citizen_id,
        coalesce(found.n_care, 0) as n_complications_found_at_care,
        coalesce(found.n_admission, 0) as n_complications_found_at_admission
    from scores
    left join found on found.citizen_id = scores.citizen_id
)

select * from final
