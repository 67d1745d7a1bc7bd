-- purpose: each citizen on a frozen list of a programme, with education level and what was recorded
-- grain:   list_id x citizen_id
-- point in time: education level at the list's as-of date (raw.citizens if absent there); contacts so far
-- $areas: null for every municipality, else only citizens listed in these (a coordinator's)
with

runs as (
    select list_id, week, as_of_date
    from outreach.list_runs
    where status = 'frozen'
        and programme = $programme
        and ($week is null or week = $week)
),

listed as (
    select l.list_id, l.citizen_id, r.week, r.as_of_date
    from outreach.lists as l
    inner join runs as r on r.list_id = l.list_id
    where $areas is null or list_contains($areas, l.area)
),

audit as (
    select citizen_id, as_of_date, education_level from marts.audit_attributes
),

citizens as (select citizen_id, education_level from raw.citizens),

contacts as (
    select
        list_id,
        citizen_id,
        bool_or(outcome in ('reached', 'screened', 'declined')) as is_reached,
        bool_or(outcome = 'screened') as is_screened,
        bool_or(outcome = 'declined') as is_declined
    from outreach.current_contacts
    group by list_id, citizen_id
),

final as (
    select
        l.week,
        l.list_id,
        coalesce(a.education_level, c.education_level, 'unknown')
            as education_level,
        coalesce(k.is_reached, false) as is_reached,
        coalesce(k.is_screened, false) as is_screened,
        coalesce(k.is_declined, false) as is_declined
    from listed as l
    left join
        audit as a
        on a.citizen_id = l.citizen_id and a.as_of_date = l.as_of_date
    left join citizens as c on c.citizen_id = l.citizen_id
    left join
        contacts as k
        on k.list_id = l.list_id and k.citizen_id = l.citizen_id
)

select * from final
