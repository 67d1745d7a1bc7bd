-- Use of acute hospital care and of the GP in the 365 days before as_of_date.
-- Grain: citizen_id x as_of_date (every spine row).
-- Point in time: contacts starting before as_of_date only.
with

spine as (

    select citizen_id, as_of_date from main.spine

),

hospital_contacts as (

    select citizen_id, start_date, contact_type
    from staging.stg_hospital_contacts
    where contact_type in ('acute_admission', 'emergency_department')

),

gp_contacts as (

    select citizen_id, contact_date from intermediate.int_gp_contacts__dated

),

hospital as (

    select
        spine.citizen_id,
        spine.as_of_date,
        count_if(h.contact_type = 'acute_admission')
            as n_acute_admissions_365d,
        count_if(h.contact_type = 'emergency_department')
            as n_emergency_visits_365d

    from spine
    inner join hospital_contacts as h
        on h.citizen_id = spine.citizen_id
        and within_days(h.start_date, spine.as_of_date, 365)
    group by spine.citizen_id, spine.as_of_date

),

gp as (

    select spine.citizen_id, spine.as_of_date, count(*) as n_gp_contacts_365d
    from spine
    inner join gp_contacts as g
        on g.citizen_id = spine.citizen_id
        and within_days(g.contact_date, spine.as_of_date, 365)
    group by spine.citizen_id, spine.as_of_date

),

final as (

    -- Citizens without such contacts get zero.
    select
        spine.citizen_id,
        spine.as_of_date,
        coalesce(hospital.n_acute_admissions_365d, 0)
            as n_acute_admissions_365d,
        coalesce(hospital.n_emergency_visits_365d, 0)
            as n_emergency_visits_365d,
        coalesce(gp.n_gp_contacts_365d, 0) as n_gp_contacts_365d

    from spine
    left join hospital
        on hospital.citizen_id = spine.citizen_id
        and hospital.as_of_date = spine.as_of_date
    left join gp
        on gp.citizen_id = spine.citizen_id
        and gp.as_of_date = spine.as_of_date

)

select * from final
