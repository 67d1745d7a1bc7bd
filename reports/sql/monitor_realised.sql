-- The scored cohort of one list's as-of date: listed, held out, score and the label.
-- Grain: citizen_id (one list).
-- Point in time: after the fact: labels.<outcome> is the model's outcome window.
with

scores as (
    select citizen_id, as_of_date, risk_score
    from scoring.scores
    where model_uri = $model_uri and as_of_date = $as_of_date
        and (
            len($municipalities) = 0
            or citizen_id in (
                select c.citizen_id from raw.citizens as c
                where list_contains($municipalities, c.municipality_code)
            )
        )
),

listed as (
    select citizen_id from outreach.lists
    where list_id = $list_id
),

held as (
    select citizen_id from outreach.holdouts
    where list_id = $list_id
),

final as (
    select
        s.risk_score,
        s.citizen_id in (select l.citizen_id from listed as l) as is_listed,
        s.citizen_id in (select h.citizen_id from held as h) as is_held_out,
        b.label
    from scores as s
    left join labels_at as b on b.citizen_id = s.citizen_id
)

select * from final
