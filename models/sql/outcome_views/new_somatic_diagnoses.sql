-- new_somatic_diagnoses: each record of a new diabetes or heart disease in a cohort row's window.
-- grain: one row per diagnosis record in [as_of_date, window_end) of models/sql/outcome_cohort.sql.
-- point in time: new = not in the cohort flag at as_of_date and no record of the
-- group in [washout_start, as_of_date). The SMI outcomes share this definition.
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

final as (
    select
        c.citizen_id,
        c.as_of_date,
        d.disease_group,
        d.source,
        d.diagnosis_date as event_date
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
)

select * from final
