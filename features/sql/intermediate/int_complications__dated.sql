-- Recorded late diabetes complications: one row per citizen, group and day.
-- Grain: citizen_id x complication_group x diagnosis_date.
-- Point in time: none here; feature views keep diagnosis_date < as_of_date.
with

diagnoses as (

    select * from staging.stg_diagnoses

),

grouped as (

    select
        citizen_id,
        complication_group(code_system, code) as complication_group,
        diagnosis_date

    from diagnoses

),

final as (

    -- Several codes of one group on one day are one record of that group.
    select distinct citizen_id, complication_group, diagnosis_date
    from grouped
    where complication_group is not null

)

select * from final
