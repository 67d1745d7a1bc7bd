-- smi_somatic_harm_365d: somatic harm first recorded in hospital, not by the GP.
-- grain: one row per event of a cohort row (labelled by outcome_labels.sql); citizens with severe mental illness.
-- point in time: events in [as_of_date, window_end) of models/sql/outcome_cohort.sql.
-- Unlike smi_somatic_365d: a new diagnosis counts only if a hospital records it first
-- in the window, and pregnancy admissions (DO*, births) are not somatic harm.
-- "New" is defined once, in models/sql/outcome_views/new_somatic_diagnoses.sql.
with

-- each new group's first record in the window
first_in_window as (
    select
        citizen_id, as_of_date, disease_group,
        arg_min(source, event_date) as first_source,
        min(event_date) as event_date
    from new_somatic_diagnoses
    group by citizen_id, as_of_date, disease_group
),

-- acute admissions for a somatic cause: not psychiatric (DF*), not pregnancy or birth (DO*)
somatic_admissions as (
    select c.citizen_id, c.as_of_date, h.start_date as event_date
    from outcome_cohort as c
    inner join raw.hospital_contacts as h
        on h.citizen_id = c.citizen_id
            and h.start_date >= c.as_of_date and h.start_date < c.window_end
    where h.contact_type = 'acute_admission'
        and h.primary_diagnosis is not null
        and not starts_with(h.primary_diagnosis, 'DF')
        and not starts_with(h.primary_diagnosis, 'DO')
),

final as (
    select citizen_id, as_of_date, event_date
    from first_in_window
    where first_source = 'hospital'
    union all
    select * from somatic_admissions
)

select * from final
