-- purpose: listed and held-out citizens of mature weeks with their follow-up outcomes
-- grain:   list_id x citizen_id
-- point in time: evaluation after the fact: events in [week_start, follow_up_end = week_start + $follow_up_days)
with

runs as (
    select
        list_id, week, week_start,
        week_start + cast($follow_up_days as integer) as follow_up_end
    from outreach.list_runs
    where status = 'frozen' and programme = $programme
        and follow_up_end <= cast($extract_date as date)
),

held as (
    select h.list_id, h.citizen_id, h.risk_rank, 'held_out' as arm
    from outreach.holdouts as h
    inner join runs as r on r.list_id = h.list_id
),

listed as (
    select l.list_id, l.citizen_id, l.risk_rank, 'listed' as arm
    from outreach.lists as l
    -- down to the lowest rank held out of the same list
    where l.risk_rank <= (
            select max(h.risk_rank) from held as h
            where h.list_id = l.list_id
        )
),

people as (
    select p.*, r.week, r.week_start, r.follow_up_end
    from (
        select * from held
        union all
        select * from listed
    ) as p
    inner join runs as r on r.list_id = p.list_id
),

reached as (
    select distinct list_id, citizen_id
    from outreach.current_contacts
    where outcome in ('reached', 'screened', 'declined')
),

attended as (
    select distinct p.list_id, p.citizen_id
    from people as p
    inner join raw.appointments as a on a.citizen_id = p.citizen_id
    where a.status = 'attended'
        and (
            len($relevant_controls) = 0
            or list_contains($relevant_controls, a.kind)
        )
        and a.scheduled_date >= p.week_start
        and a.scheduled_date < p.follow_up_end
),

harmed as (
    select distinct p.list_id, p.citizen_id
    from people as p
    inner join raw.hospital_contacts as h on h.citizen_id = p.citizen_id
    where h.contact_type in ('acute_admission', 'emergency_department')
        and h.start_date >= p.week_start and h.start_date < p.follow_up_end
),

final as (
    select
        p.list_id, p.week, p.arm, p.risk_rank,
        k.citizen_id is not null as is_reached,
        a.citizen_id is not null as has_attended_control,
        h.citizen_id is not null as has_acute_contact
    from people as p
    left join reached as k using (list_id, citizen_id)
    left join attended as a using (list_id, citizen_id)
    left join harmed as h using (list_id, citizen_id)
)

select * from final
