-- smi_somatic_365d: new diabetes or heart disease, or an acute somatic admission.
-- grain: one row per event of a cohort row (labelled by outcome_labels.sql); citizens with severe mental illness.
-- point in time: events in [as_of_date, window_end) of models/sql/outcome_cohort.sql.
with

mart as (
    select citizen_id, as_of_date, has_diabetes, has_heart_disease
    from marts.scoring_features
),

contacts as (
    select citizen_id, start_date, contact_type, primary_diagnosis
    from raw.hospital_contacts
),

-- diabetes and heart disease by the feature cohorts' code lists (features/sql/macros/)
somatic_diagnoses as (
    select
        citizen_id,
        diagnosis_date,
        case
            when is_diabetes_diagnosis(code_system, code) then 'diabetes'
            else 'heart'
        end as disease_group
    from raw.diagnoses
    where is_diabetes_diagnosis(code_system, code)
        or condition_group(code_system, code) = 'heart_disease'
),

-- cohort, with the conditions it already has ---------------------------------
cohort as (
    select c.*, mart.has_diabetes, mart.has_heart_disease
    from outcome_cohort as c
    inner join mart on mart.citizen_id = c.citizen_id
        and mart.as_of_date = c.as_of_date
),

-- new: not in the cohort flag at as_of_date, no record in the washout -------
new_diagnoses as (
    select c.citizen_id, c.as_of_date, d.diagnosis_date as event_date
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
),

somatic_admissions as (
    select c.citizen_id, c.as_of_date, h.start_date as event_date
    from cohort as c
    inner join contacts as h
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
