-- purpose: every cohort citizen scored at the as-of date, with the first rule that keeps them off the list
-- grain:   citizen_id (one programme, one as_of_date, one model_uri)
-- point in time: scores, features, appointments at/before $as_of; death, emigration, opt-out known anywhere
with

scores as (
    select citizen_id, risk_score, risk_rank
    from scoring.scores
    where as_of_date = cast($as_of as date) and model_uri = $model_uri
),

features as (
    select
        citizen_id,
        is_alive_resident,
        case $cohort
            when 'has_diabetes' then has_diabetes
            when 'has_smi' then has_smi
            when 'has_copd' then has_copd
            when 'has_heart_disease' then has_heart_disease
            when 'has_cancer' then has_cancer
            when 'has_chronic_back_pain' then has_chronic_back_pain
        end as in_cohort
    from marts.scoring_features
    where as_of_date = cast($as_of as date)
),

citizens as (
    select
        citizen_id, municipality_code, living_situation, preferred_language,
        death_date, emigration_date, outreach_opt_out
    from raw.citizens
),

register as (select distinct citizen_id from ops_opt_outs),

contacts as (
    select
        citizen_id,
        max(outcome_date) as last_contact_date,
        max(case when outcome = 'declined' then outcome_date end) as last_declined_date
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
        and scheduled_date > cast($as_of as date) - cast($attended_days as integer)
),

cohort as (
    select s.*, f.is_alive_resident, c.*  exclude (citizen_id), c.citizen_id is not null as in_extract
    from scores as s
    inner join features as f on f.citizen_id = s.citizen_id and f.in_cohort
    left join citizens as c on c.citizen_id = s.citizen_id
    where len($municipalities) = 0 or list_contains($municipalities, c.municipality_code)
),

final as (
    select
        k.citizen_id,
        k.risk_score,
        k.risk_rank,
        md5(k.citizen_id || '|' || $week) as tie_key,
        cume_dist() over (order by k.risk_score) as score_percentile,
        coalesce(k.municipality_code, 'unknown') as area,
        k.living_situation,
        k.preferred_language,
        case
            when not k.in_extract then 'not_in_extract'
            when k.outreach_opt_out is not false or r.citizen_id is not null then 'opt_out'
            when k.death_date is not null then 'dead'
            when k.emigration_date is not null then 'emigrated'
            when k.is_alive_resident is not true then 'not_resident'
            when t.last_declined_date >= cast($week_start as date) - cast($declined_days as integer)
                then 'declined'
            when t.last_contact_date >= cast($week_start as date) - cast($contact_days as integer)
                then 'recent_contact'
            when a.citizen_id is not null then 'attended_control'
        end as exclusion
    from cohort as k
    left join register as r on r.citizen_id = k.citizen_id
    left join contacts as t on t.citizen_id = k.citizen_id
    left join attended as a on a.citizen_id = k.citizen_id
)

select * from final
