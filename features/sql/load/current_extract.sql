-- purpose: the loaded extract's identity and its stored load report (read before a new load)
-- grain: one row (the extract in raw.extract_info), or none
-- point-in-time: none; reads the warehouse as it is now
with

extract_info as (
    select * from raw.extract_info
),

load_reports as (
    select * from raw.load_reports
),

latest_report as (
    select
        extract_hash,
        arg_max(report, loaded_at) as report
    from load_reports
    group by extract_hash
),

final as (
    select
        extract_info.extract_hash,
        extract_info.extract_date,
        extract_info.source,
        cast(latest_report.report as varchar) as report
    from extract_info
    inner join latest_report
        on latest_report.extract_hash = extract_info.extract_hash
)

select * from final
