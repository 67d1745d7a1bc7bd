-- Staging of raw.prescriptions: typed contract columns of issued prescriptions.
-- Grain: one row per prescription_id.
-- Point in time: redeemed_date as of extract_date; lagged in intermediate.
with

source as (

    select * from raw.prescriptions

),

final as (

    select
        cast(prescription_id as varchar) as prescription_id,
        cast(citizen_id as varchar) as citizen_id,
        cast(atc_code as varchar) as atc_code,
        cast(issued_date as date) as issued_date,
        cast(days_supply as integer) as days_supply,
        cast(redeemed_date as date) as redeemed_date,
        cast(prescriber_type as varchar) as prescriber_type

    from source

)

select * from final
