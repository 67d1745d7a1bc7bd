-- Staging of raw.diagnoses: typed contract columns of recorded diagnoses.
-- Grain: one row per recorded diagnosis (duplicates are harmless downstream).
-- Point in time: none here; feature views keep diagnosis_date < as_of_date.
with

source as (

    select * from raw.diagnoses

),

final as (

    select
        cast(citizen_id as varchar) as citizen_id,
        cast(diagnosis_date as date) as diagnosis_date,
        cast(code_system as varchar) as code_system,
        cast(code as varchar) as code,
        cast(source as varchar) as source,
        cast(diagnosis_type as varchar) as diagnosis_type

    from source

)

select * from final
