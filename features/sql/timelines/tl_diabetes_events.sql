-- Diabetes inclusion events, one per source and day, with their pregnancy drop.
-- Grain: citizen_id x event_source x event_date.
-- Point in time: none here; feat_diabetes keeps events before as_of_date.
with

events as (select * from intermediate.int_diabetes_events__unioned),

pregnancies as (select * from intermediate.int_pregnancies__dated),

deduped as (
    -- One event per source and date (OSDC de-duplicates same-day events); the
    -- drug doses of repeated records still add up.
    select
        citizen_id,
        event_source,
        event_date,
        sum(case when is_insulin then days_supply end) as insulin_days,
        sum(days_supply) as drug_days,
        bool_or(days_supply is not null) as is_drug,
        bool_or(is_insulin) as is_insulin,
        bool_or(is_type1_diagnosis) as is_type1_diagnosis,
        bool_or(is_type2_diagnosis) as is_type2_diagnosis
    from events
    group by citizen_id, event_source, event_date
),

dropped as (
    -- An HbA1c or drug event in a pregnancy window is dropped once that
    -- pregnancy's ending is known, i.e. at as-of dates after the ending.
    select
        d.citizen_id, d.event_date, min(p.pregnancy_end_date) as dropped_after
    from (
        select distinct citizen_id, event_date
        from deduped
        where event_source <> 'diagnosis'
    ) as d
    inner join pregnancies as p
        on p.citizen_id = d.citizen_id
            and d.event_date between p.window_start_date and p.window_end_date
    group by d.citizen_id, d.event_date
),

final as (
    select e.*, d.dropped_after
    from deduped as e
    left join dropped as d
        on d.citizen_id = e.citizen_id
            and d.event_date = e.event_date
            and e.event_source <> 'diagnosis'
)

select * from final
