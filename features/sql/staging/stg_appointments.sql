-- Staging of raw.appointments: typed contract columns of booked appointments.
-- Grain: one row per appointment_id.
-- Point in time: feature views read a status only if scheduled before as_of.
with

source as (

    select * from raw.appointments

),

final as (

    select
        cast(appointment_id as varchar) as appointment_id,
        cast(citizen_id as varchar) as citizen_id,
        cast(scheduled_date as date) as scheduled_date,
        cast(kind as varchar) as kind,
        cast(provider_type as varchar) as provider_type,
        cast(status as varchar) as status

    from source

)

select * from final
