-- purpose: where each event table's history starts (raw.coverage), from the load report
-- grain: one row per contract event table
-- point-in-time: declared in extract.json or inferred from the monthly volume at load
with

given as (select cast($coverage as json) as coverage),

tables as (
    select unnest(json_keys(coverage)) as table_name, coverage from given
),

final as (
    select
        table_name,
        cast(coverage -> table_name ->> 'from' as date) as coverage_from,
        coverage -> table_name ->> 'method' as method,
        cast(coverage -> table_name ->> 'first_event' as date)
            as first_event_date,
        cast(coverage -> table_name ->> 'rows_before' as bigint) as rows_before,
        cast(coverage -> table_name ->> 'typical_monthly_rows' as double)
            as typical_monthly_rows
    from tables
)

select * from final
