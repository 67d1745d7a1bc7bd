-- How a programme's lists were used: events in the outreach audit log, counted.
-- Grain: event (generated, regenerated, viewed, exported, recorded).
-- Point in time: the whole log as it stands; aggregates only, no list content.
with

log as (

    select event, actor, "at" as event_at, programme, week, list_id
    from outreach.audit_log
    where programme = $programme

),

final as (

    select
        event,
        count(*) as n_events,
        count(distinct week) as n_weeks,
        count(distinct list_id) as n_lists,
        count(distinct actor) as n_actors,
        min(event_at) as first_at,
        max(event_at) as last_at
    from log
    group by event
    order by event

)

select * from final
