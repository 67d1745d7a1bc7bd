-- Attributes the fairness audit groups by; never model features.
-- Grain: citizen_id x as_of_date (every spine row).
-- Point in time: age, SMI, GP contact before as_of_date; the rest a snapshot.
with

spine as (select citizen_id, as_of_date from main.spine),

onsets as (select * from intermediate.int_conditions__dated),

people as (
    select
        spine.citizen_id,
        spine.as_of_date,
        citizens.* exclude (citizen_id), -- noqa: RF02
        age_years(citizens.birth_date, spine.as_of_date) as age
    from spine
    left join staging.stg_citizens as citizens
        on citizens.citizen_id = spine.citizen_id
),

-- The spine's dates: contacts meet these few rows, not every citizen's row.
dates as (select distinct as_of_date from spine),

gp_contacts as (
    -- As n_gp_contacts_365d in citizen.feat_utilization: days in the year.
    select g.citizen_id, dates.as_of_date, count(*) as n_gp_contacts_365d
    from intermediate.int_gp_contacts__dated as g
    inner join dates on within_days(g.contact_date, dates.as_of_date, 365)
    group by g.citizen_id, dates.as_of_date
),

final as (
    select
        people.citizen_id,
        people.as_of_date,
        people.sex,
        case
            when people.birth_date >= people.as_of_date then 'unborn'
            when people.age < 18 then '0-17'
            when people.age < 40 then '18-39'
            when people.age < 60 then '40-59'
            when people.age < 75 then '60-74'
            else '75+'
        end as age_band,
        people.education_level,
        people.origin,
        people.living_situation,
        people.municipality_code,
        -- As has_smi in citizen.feat_conditions.
        coalesce(onsets.smi_onset_date < people.as_of_date, false) as has_smi,
        case
            when coalesce(g.n_gp_contacts_365d, 0) = 0 then 'none'
            when g.n_gp_contacts_365d < 3 then 'low'
            else 'regular'
        end as gp_contact_level
    from people
    left join onsets on onsets.citizen_id = people.citizen_id
    left join gp_contacts as g
        on g.citizen_id = people.citizen_id and g.as_of_date = people.as_of_date
)

select * from final
