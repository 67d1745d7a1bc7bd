-- Use of acute hospital care and of the GP in the 365 days before as_of_date.
-- Grain: citizen_id x as_of_date (every spine row).
-- Point in time: contacts starting before as_of_date only.
with

spine as (select citizen_id, as_of_date from main.spine),

-- The spine's dates: events meet these few rows, not every citizen's row.
dates as (select distinct as_of_date from spine),

hospital_contacts as (
    select citizen_id, start_date as contact_date, contact_type
    from staging.stg_hospital_contacts
    where contact_type in ('acute_admission', 'emergency_department')
),

gp_contacts as (
    select citizen_id, contact_date, 'gp' as contact_type
    from intermediate.int_gp_contacts__dated
),

contacts as (
    select * from hospital_contacts
    union all
    select * from gp_contacts
),

counted as (
    select
        c.citizen_id,
        dates.as_of_date,
        count_if(c.contact_type = 'acute_admission')
            as n_acute_admissions_365d,
        count_if(c.contact_type = 'emergency_department')
            as n_emergency_visits_365d,
        count(*) filter (where c.contact_type = 'gp') as n_gp_contacts_365d
    from contacts as c
    inner join dates on within_days(c.contact_date, dates.as_of_date, 365)
    group by c.citizen_id, dates.as_of_date
),

final as (
    -- Citizens without such contacts get zero.
    select
        spine.citizen_id,
        spine.as_of_date,
        coalesce(c.n_acute_admissions_365d, 0) as n_acute_admissions_365d,
        coalesce(c.n_emergency_visits_365d, 0) as n_emergency_visits_365d,
        coalesce(c.n_gp_contacts_365d, 0) as n_gp_contacts_365d
    from spine
    left join counted as c
        on c.citizen_id = spine.citizen_id and c.as_of_date = spine.as_of_date
)

select * from final
