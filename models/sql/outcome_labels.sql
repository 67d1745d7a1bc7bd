-- An event outcome's labels: its first event in the window against the exit day.
-- Grain: citizen_id x as_of_date (every row of outcome_cohort).
-- Point in time: events in [as_of_date, window_end) of outcome_cohort.sql.
with

cohort as (select * from outcome_cohort),

first_events as (
    select citizen_id, as_of_date, min(event_date) as event_date
    from outcome_events
    group by citizen_id, as_of_date
),

final as (
    select
        c.citizen_id,
        c.as_of_date,
        event_label(e.event_date, c.exit_date) as label,
        event_censored(e.event_date, c.exit_date) as is_censored,
        days_at_risk(c.as_of_date, e.event_date, c.exit_date, c.window_end)
            as time_at_risk_days
    from cohort as c
    left join first_events as e
        on e.citizen_id = c.citizen_id and e.as_of_date = c.as_of_date
)

select * from final
