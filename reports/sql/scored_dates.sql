-- The as-of dates one model version has scored, latest first.
-- Grain: as_of_date.
-- Point in time: whatever scoring.scores holds.
with

scores as (select model_uri, as_of_date from scoring.scores),

final as (

    select as_of_date, count(*) as n_citizens
    from scores
    where model_uri = $model_uri
    group by as_of_date
    order by as_of_date desc

)

select * from final
