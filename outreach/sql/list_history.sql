-- purpose: the last contact of each listed citizen and its outcome, for the coordinator
-- grain:   citizen_id (only the citizens in $citizen_ids)
-- point in time: outreach contacts before the end of the list week; journal appointments at/before $as_of
with

ids as (select unnest(cast($citizen_ids as varchar[])) as citizen_id),

outreach_contacts as (
    select
        o.citizen_id,
        o.outcome_date as contact_date,
        'outreach: ' || o.outcome as contact_outcome,
        1 as source_order
    from ops_contacts as o
    inner join ids as i on i.citizen_id = o.citizen_id
    where o.outcome_date < cast($week_start as date) + 7
),

journal_contacts as (
    select
        a.citizen_id,
        a.scheduled_date as contact_date,
        a.kind || ': ' || a.status as contact_outcome,
        2 as source_order
    from raw.appointments as a
    inner join ids as i on i.citizen_id = a.citizen_id
    where a.scheduled_date <= cast($as_of as date)
        and a.status <> 'scheduled'
        and (
            len($relevant_controls) = 0
            or list_contains($relevant_controls, a.kind)
        )
),

ranked as (
    select
        *,
        row_number() over (
            partition by citizen_id
            order by contact_date desc, source_order asc, contact_outcome asc
        ) as n
    from (
        select * from outreach_contacts
        union all
        select * from journal_contacts
    ) as contacts
),

final as (
    select
        citizen_id,
        contact_date as last_contact_date,
        contact_outcome as last_contact_outcome
    from ranked
    where n = 1
)

select * from final
