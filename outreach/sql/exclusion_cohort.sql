-- purpose: every citizen of the programme's cohort and area scored at the as-of date
-- grain:   citizen_id (one programme, one as_of_date, one model_uri)
-- point in time: scores and cohort flags at $as_of; the citizen register as known
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
        -- the cohort flag column the programme names
        columns(lambda c: c = $cohort) as in_cohort
    from marts.scoring_features
    where as_of_date = cast($as_of as date)
),

citizens as (
    select
        citizen_id, municipality_code, living_situation, preferred_language,
        death_date, emigration_date, outreach_opt_out
    from raw.citizens
),

final as (
    select
        s.*,
        f.is_alive_resident,
        c.* exclude (citizen_id), -- noqa: RF02
        c.citizen_id is not null as in_extract
    from scores as s
    inner join features as f on f.citizen_id = s.citizen_id and f.in_cohort
    left join citizens as c on c.citizen_id = s.citizen_id
    where len($municipalities) = 0
        or list_contains($municipalities, c.municipality_code)
)

select * from final
