-- smi_somatic_365d: new diabetes or heart disease, or an acute somatic admission.
-- grain: one row per event of a cohort row (labelled by outcome_labels.sql); citizens with severe mental illness.
-- point in time: events in [as_of_date, window_end) of models/sql/outcome_cohort.sql.
-- "New" is defined once, in models/sql/outcome_views/new_somatic_diagnoses.sql.
with

new_diagnoses as (
    select citizen_id, as_of_date, event_date
    from new_somatic_diagnoses
),

somatic_admissions as (
    select c.citizen_id, c.as_of_date, h.start_date as event_date
    from outcome_cohort as c
    inner join raw.hospital_contacts as h
        on h.citizen_id = c.citizen_id
            and h.start_date >= c.as_of_date and h.start_date < c.window_end
    where h.contact_type = 'acute_admission'
        and h.primary_diagnosis is not null
        and not starts_with(h.primary_diagnosis, 'DF')
),

final as (
    select * from new_diagnoses
    union all
    select * from somatic_admissions
)

select * from final
