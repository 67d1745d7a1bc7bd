-- Days with a GP contact: an attended GP appointment or a GP diagnosis.
-- Grain: citizen_id x contact_date.
-- Point in time: none here; feature views keep contact_date < as_of_date.
with

appointments as (

    select * from staging.stg_appointments

),

diagnoses as (

    select * from staging.stg_diagnoses

),

contact_days as (

    select citizen_id, scheduled_date as contact_date
    from appointments
    where provider_type = 'gp' and status = 'attended'

    union

    select citizen_id, diagnosis_date as contact_date
    from diagnoses
    where source = 'gp'

),

final as (

    select citizen_id, contact_date from contact_days

)

select * from final
