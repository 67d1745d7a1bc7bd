-- Chronic condition cohorts and psychiatric comorbidity at as_of_date.
-- Grain: citizen_id x as_of_date (every spine row).
-- Point in time: a condition holds when its rule was met before as_of_date.
with

spine as (

    select citizen_id, as_of_date from main.spine

),

onsets as (

    select * from intermediate.int_conditions__dated

),

final as (

    select
        spine.citizen_id,
        spine.as_of_date,
        coalesce(onsets.smi_onset_date < spine.as_of_date, false) as has_smi,
        coalesce(onsets.copd_onset_date < spine.as_of_date, false) as has_copd,
        coalesce(onsets.heart_disease_onset_date < spine.as_of_date, false)
            as has_heart_disease,
        coalesce(onsets.cancer_onset_date < spine.as_of_date, false)
            as has_cancer,
        coalesce(onsets.chronic_back_pain_onset_date < spine.as_of_date, false)
            as has_chronic_back_pain,
        coalesce(onsets.psychiatric_onset_date < spine.as_of_date, false)
            as has_psychiatric_diagnosis

    from spine
    left join onsets on onsets.citizen_id = spine.citizen_id

)

select * from final
