-- Staging of raw.hospital_contacts: typed contract columns.
-- Grain: one row per contact_id.
-- Point in time: feature views keep start_date < as_of_date; end_date unused.
with

source as (

    select * from raw.hospital_contacts

),

final as (

    select
        cast(contact_id as varchar) as contact_id,
        cast(citizen_id as varchar) as citizen_id,
        cast(start_date as date) as start_date,
        cast(end_date as date) as end_date,
        cast(contact_type as varchar) as contact_type,
        cast(primary_diagnosis as varchar) as primary_diagnosis

    from source

)

select * from final
