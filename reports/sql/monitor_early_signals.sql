-- Listed and held-out citizens of one list: reached, screened, acute admission in 90 days.
-- Grain: citizen_id (one list).
-- Point in time: evaluation after the fact: admissions in [as_of_date, as_of_date + 90).
with

people as (
    select citizen_id, true as is_listed
    from outreach.lists
    where list_id = $list_id
    union all
    select citizen_id, false as is_listed from outreach.holdouts
    where list_id = $list_id
),

contacts as (
    select citizen_id, outcome from outreach.current_contacts
    where list_id = $list_id
),

acute as (
    select distinct citizen_id
    from raw.hospital_contacts
    where contact_type = 'acute_admission'
        and start_date >= $as_of_date and start_date < $as_of_date + 90
),

final as (
    select
        p.is_listed,
        exists(
            select 1 from contacts as c
            where c.citizen_id = p.citizen_id
                and c.outcome in ('reached', 'screened', 'declined')
        ) as is_reached,
        exists(
            select 1 from contacts as c
            where c.citizen_id = p.citizen_id
                and c.outcome = 'screened'
        ) as is_screened,
        case
            when $closed
                then p.citizen_id in (select a.citizen_id from acute as a)
        end
            as has_acute_90d
    from people as p
)

select * from final
