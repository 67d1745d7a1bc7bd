-- Staging of raw.coverage: where each event table's history starts.
-- Grain: one row per contract event table.
-- Point in time: decided at load (declared in extract.json or inferred from volume).
with

source as (

    select * from raw.coverage

),

final as (

    select
        cast(table_name as varchar) as table_name,
        cast(coverage_from as date) as coverage_from,
        cast(method as varchar) as method

    from source

)

select * from final
