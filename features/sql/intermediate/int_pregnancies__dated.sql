-- Pregnancy endings and the window around each in which OSDC ignores events.
-- Grain: citizen_id x pregnancy_end_date.
-- Point in time: an ending is known at as_of_date only if dated before it.
with

diagnoses as (

    select * from staging.stg_diagnoses

),

endings as (

    select distinct citizen_id, diagnosis_date as pregnancy_end_date
    from diagnoses
    where is_pregnancy_ending(code_system, code)

),

final as (

    -- 40 weeks before to 12 weeks after the ending (OSDC).
    select
        citizen_id,
        pregnancy_end_date,
        pregnancy_end_date - 280 as window_start_date,
        pregnancy_end_date + 84 as window_end_date

    from endings

)

select * from final
