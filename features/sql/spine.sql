-- The spine: every citizen of the extract at every requested as-of date.
-- Grain: citizen_id x as_of_date.
-- Point in time: defines it; feature views read only events before as_of_date.
with

citizens as (

    select citizen_id from raw.citizens

),

dates as (

    select unnest(cast($as_of_dates as date[])) as as_of_date

),

final as (

    select citizens.citizen_id, dates.as_of_date
    from citizens
    cross join dates
    order by dates.as_of_date, citizens.citizen_id

)

select * from final
