-- Staging of raw.citizens: typed contract columns, extra columns dropped.
-- Grain: one row per citizen_id.
-- Point in time: snapshot at extract_date; dates compared to as_of_date later.
with

source as (

    select * from raw.citizens

),

final as (

    select
        cast(citizen_id as varchar) as citizen_id,
        cast(birth_date as date) as birth_date,
        cast(sex as varchar) as sex,
        cast(municipality_code as varchar) as municipality_code,
        cast(education_level as varchar) as education_level,
        cast(origin as varchar) as origin,
        cast(living_situation as varchar) as living_situation,
        cast(gp_clinic_id as varchar) as gp_clinic_id,
        lower(cast(preferred_language as varchar)) as preferred_language,
        cast(death_date as date) as death_date,
        cast(emigration_date as date) as emigration_date,
        cast(outreach_opt_out as boolean) as outreach_opt_out

    from source

)

select * from final
