-- Staging of raw.lab_results: typed contract columns of analysed samples.
-- Grain: one row per analysed sample (duplicates are harmless downstream).
-- Point in time: none here; feature views keep sample_date < as_of_date.
with

source as (

    select * from raw.lab_results

),

final as (

    select
        cast(citizen_id as varchar) as citizen_id,
        cast(sample_date as date) as sample_date,
        cast(npu_code as varchar) as npu_code,
        cast(value as double) as value,
        cast(unit as varchar) as unit

    from source

)

select * from final
