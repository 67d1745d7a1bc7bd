-- purpose: every cohort citizen scored at the as-of date, with the first rule that keeps them off the list
-- grain:   citizen_id (one programme, one as_of_date, one model_uri)
-- point in time: exclusion_cohort.sql at $as_of; appointments at/before $as_of; opt-outs known anywhere
with

cohort as (select * from exclusion_cohort),

register as (select distinct citizen_id from ops_opt_outs),

contacts as (
    select
        citizen_id,
        max(outcome_date) as last_contact_date,
        max(case when outcome = 'declined' then outcome_date end)
            as last_declined_date
    from ops_contacts
    where outcome_date < cast($week_start as date) + 7
    group by citizen_id
),

attended as (
    select distinct citizen_id
    from raw.appointments
    where status = 'attended'
        and list_contains($relevant_controls, kind)
        and scheduled_date <= cast($as_of as date)
        and scheduled_date
        > cast($as_of as date) - cast($attended_days as integer)
),

final as (
    select
        k.citizen_id, k.risk_score, k.risk_rank,
        md5(k.citizen_id || '|' || $week) as tie_key,
        cume_dist() over (order by k.risk_score) as score_percentile,
        coalesce(k.municipality_code, 'unknown') as area,
        k.living_situation,
        k.preferred_language,
        case
            when not k.in_extract then 'not_in_extract'
            when
                k.outreach_opt_out is not false or r.citizen_id is not null
                then 'opt_out'
            when k.death_date is not null then 'dead'
            when k.emigration_date is not null then 'emigrated'
            when k.is_alive_resident is not true then 'not_resident'
            when t.last_declined_date
                >= cast($week_start as date) - cast($declined_days as integer)
                then 'declined'
            when t.last_contact_date
                >= cast($week_start as date) - cast($contact_days as integer)
                then 'recent_contact'
            when a.citizen_id is not null then 'attended_control'
        end as exclusion
    from cohort as k
    left join register as r on r.citizen_id = k.citizen_id
    left join contacts as t on t.citizen_id = k.citizen_id
    left join attended as a on a.citizen_id = k.citizen_id
)

select * from final
