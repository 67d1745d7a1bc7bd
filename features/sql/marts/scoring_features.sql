-- The scoring mart: every feature and cohort flag per citizen and as-of date.
-- Grain: citizen_id x as_of_date (every spine row).
-- Point in time: inherited; citizen views read only events before as_of_date.
with

-- The timelines hold every spine row of a citizen in one row, their lists aligned
-- with its as-of dates: joined on citizen_id and unnested, they are the spine.
timelines as (

    select
        citizen_id,
        unnest(attendance.as_of_date) as as_of_date,
        unnest(columns(attendance.* exclude (citizen_id, as_of_date))),
        unnest(columns(glycaemic.* exclude (citizen_id, as_of_date))),
        unnest(columns(utilization.* exclude (citizen_id, as_of_date))),
        unnest(columns(metabolic.* exclude (citizen_id, as_of_date)))
    from timelines.tl_attendance as attendance
    inner join timelines.tl_glycaemic as glycaemic using (citizen_id)
    inner join timelines.tl_utilization as utilization using (citizen_id)
    inner join timelines.tl_metabolic as metabolic using (citizen_id)

),

demographics as (select * from citizen.feat_demographics),

diabetes as (select * from citizen.feat_diabetes),

conditions as (select * from citizen.feat_conditions),

adherence as (select * from citizen.feat_adherence),

drug_use as (select * from citizen.feat_drug_use),

history as (select * from citizen.feat_history),

final as (

    select
        timelines.citizen_id,
        timelines.as_of_date,
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
        drug_use.* exclude (citizen_id, as_of_date),
        timelines.* exclude (citizen_id, as_of_date),
        history.* exclude (citizen_id, as_of_date)

    from timelines
    left join demographics using (citizen_id, as_of_date)
    left join diabetes using (citizen_id, as_of_date)
    left join conditions using (citizen_id, as_of_date)
    left join adherence using (citizen_id, as_of_date)
    left join drug_use using (citizen_id, as_of_date)
    left join history using (citizen_id, as_of_date)

)

select * from final
