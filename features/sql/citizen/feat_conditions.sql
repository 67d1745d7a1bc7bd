-- Chronic conditions, psychiatric comorbidity, late diabetes complications.
-- Grain: citizen_id x as_of_date (every spine row).
-- Point in time: a condition holds when its rule was met before as_of_date.
with

spine as (

    select citizen_id, as_of_date from main.spine

),

-- The spine's dates: records meet these few rows, not every citizen's row.
dates as (

    select distinct as_of_date from spine

),

onsets as (

    select * from intermediate.int_conditions__dated

),

complications as (

    select * from intermediate.int_complications__dated

),

complication_counts as (

    -- Groups recorded at any time before as_of_date, and in the two years before
    -- it (a group recorded then cannot count as new in diabetes_harm_365d).
    select
        k.citizen_id,
        dates.as_of_date,
        count(distinct k.complication_group) as n_complication_groups,
        count(distinct k.complication_group) filter (
            where within_days(k.diagnosis_date, dates.as_of_date, 730)
        ) as n_complication_groups_730d

    from complications as k
    inner join dates on dates.as_of_date > k.diagnosis_date
    group by k.citizen_id, dates.as_of_date

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
            as has_psychiatric_diagnosis,
        coalesce(complication_counts.n_complication_groups, 0)
            as n_complication_groups,
        coalesce(complication_counts.n_complication_groups_730d, 0)
            as n_complication_groups_730d

    from spine
    left join onsets on onsets.citizen_id = spine.citizen_id
    left join complication_counts
        on complication_counts.citizen_id = spine.citizen_id
            and complication_counts.as_of_date = spine.as_of_date

)

select * from final
