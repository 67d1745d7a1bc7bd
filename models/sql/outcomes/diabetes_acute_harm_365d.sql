-- diabetes_acute_harm_365d: harm recorded whether or not the citizen comes in.
-- grain: one row per event of a cohort row (labelled by outcome_labels.sql); citizens with diabetes, alive and resident.
-- point in time: events in [as_of_date, window_end) of outcome_cohort.sql.
with

cohort as (select * from outcome_cohort),

admissions as (
    select
        citizen_id, start_date, coalesce(end_date, start_date) as end_date,
        contact_type, primary_diagnosis
    from raw.hospital_contacts
    where contact_type in ('acute_admission', 'planned_admission')
),

-- complication records (macro complication_group), and admissions'
-- primary diagnoses as hospital records on the admission's first day
complications as (
    select
        citizen_id, diagnosis_date, source,
        complication_group(code_system, code) as grp
    from raw.diagnoses
    where complication_group(code_system, code) is not null
    union all
    select
        citizen_id, start_date as diagnosis_date, 'hospital' as source,
        complication_group('SKS', primary_diagnosis) as grp
    from admissions
    where complication_group('SKS', primary_diagnosis) is not null
),

in_washout as (
    select distinct c.citizen_id, c.as_of_date, k.grp
    from cohort as c
    inner join complications as k on k.citizen_id = c.citizen_id
        and k.diagnosis_date >= c.washout_start
        and k.diagnosis_date < c.as_of_date
),

-- new complications first recorded by a hospital during an admission
found_at_admission as (
    select c.citizen_id, c.as_of_date, k.diagnosis_date as event_date
    from cohort as c
    inner join complications as k
        on k.citizen_id = c.citizen_id
            and k.diagnosis_date >= c.as_of_date
            and k.diagnosis_date < c.window_end
    inner join admissions as a
        on a.citizen_id = k.citizen_id
            and k.diagnosis_date between a.start_date and a.end_date
    anti join in_washout as p
        on p.citizen_id = c.citizen_id
            and p.as_of_date = c.as_of_date and p.grp = k.grp
    where k.source = 'hospital'
),

-- acute admissions with a diabetes primary diagnosis (DE10*, DE11*, DE16*)
diabetes_admissions as (
    select c.citizen_id, c.as_of_date, a.start_date as event_date
    from cohort as c
    inner join admissions as a
        on a.citizen_id = c.citizen_id
            and a.start_date >= c.as_of_date and a.start_date < c.window_end
    where a.contact_type = 'acute_admission'
        and regexp_matches(a.primary_diagnosis, '^DE1[016]')
),

final as (
    select * from found_at_admission
    union all
    select * from diabetes_admissions
)

select * from final
