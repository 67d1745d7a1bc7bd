-- Acute admissions, emergency visits and GP contacts, one timeline per citizen.
-- Grain: citizen_id; every list is aligned with the as_of_date list (ascending).
-- Point in time: each element counts contacts starting before its as_of_date.
with

-- The citizen's spine rows as one ascending list of dates (as in every timeline).
spine as (
    select citizen_id, list(as_of_date order by as_of_date) as as_of_dates
    from main.spine
    group by citizen_id
),

-- No 365-day window of the spine reaches back before this date.
window_start as (select min(as_of_date) - 365 as event_date from main.spine),

hospital_contacts as (
    select
        h.citizen_id,
        list(h.start_date) filter (where h.contact_type = 'acute_admission')
            as acute_admissions,
        list(h.start_date)
        filter (where h.contact_type = 'emergency_department')
            as emergency_visits
    from staging.stg_hospital_contacts as h
    cross join window_start
    where h.contact_type in ('acute_admission', 'emergency_department')
        and h.start_date >= window_start.event_date
    group by h.citizen_id
),

gp_contacts as (
    select g.citizen_id, list(g.contact_date) as gp_contacts
    from intermediate.int_gp_contacts__dated as g
    cross join window_start
    where g.contact_date >= window_start.event_date
    group by g.citizen_id
),

final as (
    -- Citizens without such contacts get zero.
    select
        spine.citizen_id,
        spine.as_of_dates as as_of_date,
        n_within_days_each(h.acute_admissions, spine.as_of_dates, 365)
            as n_acute_admissions_365d,
        n_within_days_each(h.emergency_visits, spine.as_of_dates, 365)
            as n_emergency_visits_365d,
        n_within_days_each(g.gp_contacts, spine.as_of_dates, 365)
            as n_gp_contacts_365d
    from spine
    left join hospital_contacts as h on h.citizen_id = spine.citizen_id
    left join gp_contacts as g on g.citizen_id = spine.citizen_id
)

select * from final
