-- smi_somatic_harm_365d: somatic harm first recorded in hospital, not by the GP.
-- grain: one row per event of a cohort row (labelled by outcome_labels.sql); citizens with severe mental illness.
-- point in time: events in [as_of_date, window_end) of models/sql/outcome_cohort.sql.
-- Unlike smi_somatic_365d: a new diagnosis counts only if a hospital records it first
-- in the window, and pregnancy admissions (DO*, births) are not somatic harm.
with

-- diabetes and heart disease by the feature cohorts' code lists (features/sql/macros/)
somatic_diagnoses as (
    select
        citizen_id,
        diagnosis_date,
        coalesce(source, '') as source,
        case
            when is_diabetes_diagnosis(code_system, code) then 'diabetes'
            else 'heart'
        end as disease_group
    from raw.diagnoses
    where is_diabetes_diagnosis(code_system, code)
        or condition_group(code_system, code) = 'heart_disease'
),

cohort as (
    select c.*, m.has_diabetes, m.has_heart_disease
    from outcome_cohort as c
    inner join marts.scoring_features as m
        on m.citizen_id = c.citizen_id and m.as_of_date = c.as_of_date
),

-- each new group's first record in the window (not in the cohort flag, none in the washout)
first_in_window as (
    select
        c.citizen_id, c.as_of_date, d.disease_group,
        arg_min(d.source, d.diagnosis_date) as first_source,
        min(d.diagnosis_date) as event_date
    from cohort as c
    inner join somatic_diagnoses as d
        on d.citizen_id = c.citizen_id
            and d.diagnosis_date >= c.as_of_date
            and d.diagnosis_date < c.window_end
    where (
        (d.disease_group = 'diabetes' and not coalesce(c.has_diabetes, false))
        or (
            d.disease_group = 'heart'
            and not coalesce(c.has_heart_disease, false)
        )
    )
    and not exists (
        select 1 from somatic_diagnoses as p
        where p.citizen_id = c.citizen_id
            and p.disease_group = d.disease_group
            and p.diagnosis_date >= c.washout_start
            and p.diagnosis_date < c.as_of_date
    )
    group by c.citizen_id, c.as_of_date, d.disease_group
),

-- acute admissions for a somatic cause: not psychiatric (DF*), not pregnancy or birth (DO*)
somatic_admissions as (
    select c.citizen_id, c.as_of_date, h.start_date as event_date
    from cohort as c
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
