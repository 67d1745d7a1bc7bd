-- The date each chronic condition rule was first met, one row per citizen.
-- Grain: citizen_id (citizens with at least one condition record).
-- Point in time: a condition holds at as_of_date if its onset is before it.
with

diagnoses as (

    select * from staging.stg_diagnoses

),

grouped as (

    select
        citizen_id,
        diagnosis_date,
        condition_group(code_system, code) as condition,
        is_psychiatric_diagnosis(code_system, code) as is_psychiatric

    from diagnoses

),

back_pain as (

    -- Chronic low-back pain needs a second record 84 days (12 weeks) or more
    -- after the first; the onset is that second record.
    select
        citizen_id,
        diagnosis_date,
        min(diagnosis_date) over (partition by citizen_id) as first_date

    from grouped
    where condition = 'chronic_back_pain'

),

back_pain_onsets as (

    select citizen_id, min(diagnosis_date) as chronic_back_pain_onset_date
    from back_pain
    where diagnosis_date >= first_date + 84
    group by citizen_id

),

onsets as (

    select
        citizen_id,
        min(case when condition = 'smi' then diagnosis_date end)
            as smi_onset_date,
        min(case when condition = 'copd' then diagnosis_date end)
            as copd_onset_date,
        min(case when condition = 'heart_disease' then diagnosis_date end)
            as heart_disease_onset_date,
        min(case when condition = 'cancer' then diagnosis_date end)
            as cancer_onset_date,
        min(case when is_psychiatric then diagnosis_date end)
            as psychiatric_onset_date

    from grouped
    where condition is not null or is_psychiatric
    group by citizen_id

),

final as (

    select
        onsets.*,
        back_pain_onsets.chronic_back_pain_onset_date

    from onsets
    left join back_pain_onsets
        on back_pain_onsets.citizen_id = onsets.citizen_id

)

select * from final
