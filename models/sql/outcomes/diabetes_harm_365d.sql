-- diabetes_harm_365d: acute diabetes admission or new late complication.
-- grain: one row per event of a cohort row (labelled by outcome_labels.sql); citizens with diabetes, alive and resident.
-- point in time: events in [as_of_date, window_end) of models/sql/outcome_cohort.sql.
with

cohort as (select * from outcome_cohort),

contacts as (
    select citizen_id, start_date, contact_type, primary_diagnosis
    from raw.hospital_contacts
),

-- late complications, by group (DE1x2-DE1x6, DH360, DL97): macro complication_group
complications as (
    select
        citizen_id,
        diagnosis_date,
        complication_group(code_system, code) as complication_group
    from raw.diagnoses
    where complication_group(code_system, code) is not null
),

complications_in_window as (
    select c.citizen_id, c.as_of_date, k.complication_group, k.diagnosis_date
    from cohort as c
    inner join complications as k on k.citizen_id = c.citizen_id
        and k.diagnosis_date >= c.as_of_date and k.diagnosis_date < c.window_end
),

complications_in_washout as (
    select distinct c.citizen_id, c.as_of_date, k.complication_group
    from cohort as c
    inner join complications as k on k.citizen_id = c.citizen_id
        and k.diagnosis_date >= c.washout_start
        and k.diagnosis_date < c.as_of_date
),

new_complications as (
    select w.citizen_id, w.as_of_date, w.diagnosis_date as event_date
    from complications_in_window as w
    anti join complications_in_washout as p
        on p.citizen_id = w.citizen_id and p.as_of_date = w.as_of_date
            and p.complication_group = w.complication_group
),

-- acute admissions with a diabetes primary diagnosis (DE10*, DE11*, DE16*) -
diabetes_admissions as (
    select c.citizen_id, c.as_of_date, h.start_date as event_date
    from cohort as c
    inner join contacts as h
        on h.citizen_id = c.citizen_id
            and h.start_date >= c.as_of_date and h.start_date < c.window_end
    where h.contact_type = 'acute_admission'
        and regexp_matches(h.primary_diagnosis, '^DE1[016]')
),

final as (
    select * from new_complications
    union all
    select * from diabetes_admissions
)

select * from final
