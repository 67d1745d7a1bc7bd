-- purpose: the one-row description of the extract loaded into raw.* (raw.extract_info)
-- grain: one row per load (the table is replaced, so one row in all)
-- point-in-time: extract_date is the delivery's cut-off; no event in raw.* is later, except scheduled appointments
with

given as (
    select
        cast($contract as varchar) as contract,
        cast($extract_date as date) as extract_date,
        cast($source as varchar) as source,
        cast($extract_hash as varchar) as extract_hash,
        cast($loaded_at as timestamp) as loaded_at,
        cast($coverage as json) as coverage
),

final as (
    select
        contract,
        extract_date,
        source,
        extract_hash,
        loaded_at,
        coverage
    from given
)

select * from final
