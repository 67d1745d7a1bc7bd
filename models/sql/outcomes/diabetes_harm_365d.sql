-- diabetes_harm_365d: acute diabetes admission or new late complication.
-- grain: citizen_id x as_of_date; citizens with diabetes, alive and resident.
-- point in time: events in [as_of_date, window_end) of models/sql/outcome_cohort.sql.

with

cohort as (select * from outcome_cohort),

contacts as (
    select citizen_id, start_date, contact_type, primary_diagnosis
    from raw.hospital_contacts
),

diagnoses as (
    select citizen_id, diagnosis_date, code_system, code from raw.diagnoses
),

-- late complications, by group (DE1x2-DE1x6, DH360, DL97): features/sql/macros.sql
complications as (
    select
        citizen_id,
        diagnosis_date,
        complication_group(code_system, code) as complication_group,
    from diagnoses
    where complication_group(code_system, code) is not null
),

complications_in_window as (
    select c.citizen_id, c.as_of_date, k.complication_group, k.diagnosis_date,
    from cohort as c
    inner join complications as k on k.citizen_id = c.citizen_id
        and k.diagnosis_date >= c.as_of_date and k.diagnosis_date < c.window_end
),

complications_in_washout as (
    select distinct c.citizen_id, c.as_of_date, k.complication_group,
    from cohort as c
    inner join complications as k on k.citizen_id = c.citizen_id
        and k.diagnosis_date >= c.washout_start
        and k.diagnosis_date < c.as_of_date
),

new_complications as (
    select w.citizen_id, w.as_of_date, w.diagnosis_date as event_date,
    from complications_in_window as w
    anti join complications_in_washout as p
        on p.citizen_id = w.citizen_id and p.as_of_date = w.as_of_date
        and p.complication_group = w.complication_group
),

-- acute admissions with a diabetes primary diagnosis (DE10*, DE11*, DE16*) -
diabetes_admissions as (
    select c.citizen_id, c.as_of_date, h.start_date as event_date,
    from cohort as c
    inner join contacts as h on h.citizen_id = c.citizen_id
        and h.start_date >= c.as_of_date and h.start_date < c.window_end
    where h.contact_type = 'acute_admission'
        and regexp_matches(h.primary_diagnosis, '^DE1[016]')
),

first_events as (
    select citizen_id, as_of_date, min(event_date) as event_date,
    from (
        select * from new_complications
        union all
        select * from diabetes_admissions
    )
    group by citizen_id, as_of_date
),

final as (
    select
        c.citizen_id,
        c.as_of_date,
        event_label(e.event_date, c.exit_date) as label,
        event_censored(e.event_date, c.exit_date) as is_censored,
        days_at_risk(c.as_of_date, e.event_date, c.exit_date, c.window_end)
            as time_at_risk_days,
    from cohort as c
    left join first_events as e
        on e.citizen_id = c.citizen_id and e.as_of_date = c.as_of_date
)

select * from final
