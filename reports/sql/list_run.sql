-- The list run a weekly audit looks at: the frozen run of a programme and week.
-- Grain: one row (the frozen run, else the latest revision).
-- Point in time: as recorded by outreach when the list was made.
with

runs as (

    select list_id, programme, week, revision, status, as_of_date, model_uri
    from outreach.list_runs
    where programme = $programme and week = $week

),

final as (

    select list_id, as_of_date, model_uri, revision
    from runs
    order by (status = 'frozen') desc, revision desc
    limit 1

)

select * from final
