-- Per scored citizen and complication group: where new ones were first found.
-- Grain: citizen_id x complication_group (one model_uri x as_of_date).
-- Point in time: first records in [covered start + $washout_days, $as_of_date).
with

-- a known diabetic's only (one that made them so ties entry to where found)
scores as (
    select s.citizen_id, s.as_of_date, f.diabetes_entry_date as entry_date
    from scoring.scores as s
    inner join marts.scoring_features as f
        on f.citizen_id = s.citizen_id and f.as_of_date = s.as_of_date
    where s.model_uri = $model_uri and s.as_of_date = $as_of_date
),

-- acute admissions (for a complication: its group), a hospital record of their
-- primary diagnosis on their first day
acute as (
    select
        citizen_id, start_date, coalesce(end_date, start_date) as end_date,
        complication_group('SKS', primary_diagnosis) as complication_group
    from raw.hospital_contacts
    where contact_type = 'acute_admission'
),

records as (
    select
        citizen_id, diagnosis_date as record_date, source,
        complication_group(code_system, code) as complication_group
    from raw.diagnoses
    union all
    select citizen_id, start_date, 'hospital' as source, complication_group
    from acute
),

covered as (
    select max(coverage_from) as covered_start from raw.coverage
    where table_name in ('diagnoses', 'hospital_contacts')
),

first_records as (
    select
        citizen_id, complication_group, min(record_date) as first_date,
        arg_min(source, record_date) as first_source
    from records
    where complication_group is not null
    group by all
),

-- new after the washout (from both tables' coverage); found at an acute
-- admission for that complication
new_records as (
    select
        f.citizen_id, f.complication_group,
        f.first_source = 'hospital' and exists (
            select 1 from acute as a
            where a.citizen_id = f.citizen_id
                and a.complication_group = f.complication_group
                and f.first_date between a.start_date and a.end_date
        ) as at_admission
    from first_records as f, covered as c, scores as s
    where s.citizen_id = f.citizen_id
        and f.first_date >= c.covered_start + cast($washout_days as integer)
        and f.first_date > s.entry_date
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
