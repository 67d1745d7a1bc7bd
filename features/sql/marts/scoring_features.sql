-- The scoring mart: every feature and cohort flag per citizen and as-of date.
-- Grain: citizen_id x as_of_date (every spine row).
-- Point in time: inherited; citizen views read only events before as_of_date.
with

spine as (

    select citizen_id, as_of_date from main.spine

),

demographics as (select * from citizen.feat_demographics),
diabetes as (select * from citizen.feat_diabetes),
conditions as (select * from citizen.feat_conditions),
adherence as (select * from citizen.feat_adherence),
attendance as (select * from citizen.feat_attendance),
glycaemic as (select * from citizen.feat_glycaemic),
utilization as (select * from citizen.feat_utilization),

final as (

    select
        spine.citizen_id,
        spine.as_of_date,
        demographics.* exclude (citizen_id, as_of_date),
        diabetes.* exclude (citizen_id, as_of_date),
        conditions.* exclude (citizen_id, as_of_date),
        -- Six chronic groups: diabetes, COPD, heart disease, cancer,
        -- chronic low-back pain and severe mental illness.
        cast(diabetes.has_diabetes as integer)
        + cast(conditions.has_copd as integer)
        + cast(conditions.has_heart_disease as integer)
        + cast(conditions.has_cancer as integer)
        + cast(conditions.has_chronic_back_pain as integer)
        + cast(conditions.has_smi as integer) as n_chronic_groups,
        adherence.* exclude (citizen_id, as_of_date),
        attendance.* exclude (citizen_id, as_of_date),
        glycaemic.* exclude (citizen_id, as_of_date),
        utilization.* exclude (citizen_id, as_of_date)

    from spine
    left join demographics using (citizen_id, as_of_date)
    left join diabetes using (citizen_id, as_of_date)
    left join conditions using (citizen_id, as_of_date)
    left join adherence using (citizen_id, as_of_date)
    left join attendance using (citizen_id, as_of_date)
    left join glycaemic using (citizen_id, as_of_date)
    left join utilization using (citizen_id, as_of_date)

)

select * from final
