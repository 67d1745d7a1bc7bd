-- Diabetes cohort (OSDC-style): two inclusion events, entry date, type 1 or 2.
-- Grain: citizen_id x as_of_date (every spine row).
-- Point in time: events and pregnancy endings dated before as_of_date only.
with

spine as (

    select citizen_id, as_of_date from main.spine

),

events as (

    select * from intermediate.int_diabetes_events__unioned

),

pregnancies as (

    select * from intermediate.int_pregnancies__dated

),

known as (

    -- HbA1c and drug events in a pregnancy window known at as_of are dropped.
    select spine.as_of_date, events.*
    from spine
    inner join events
        on events.citizen_id = spine.citizen_id
        and events.event_date < spine.as_of_date
    where events.event_source = 'diagnosis' or not exists (
        select 1
        from pregnancies as p
        where p.citizen_id = events.citizen_id
            and p.pregnancy_end_date < spine.as_of_date
            and events.event_date
                between p.window_start_date and p.window_end_date
    )

),

ranked as (

    -- One event per source and date (OSDC de-duplicates same-day events).
    select
        citizen_id,
        as_of_date,
        event_date,
        row_number() over (
            partition by citizen_id, as_of_date
            order by event_date, event_source
        ) as event_number

    from (
        select distinct citizen_id, as_of_date, event_source, event_date
        from known
    )

),

typing as (

    select
        citizen_id,
        as_of_date,
        coalesce(sum(case when is_insulin then days_supply end), 0)
            as insulin_days,
        coalesce(sum(days_supply), 0) as drug_days,
        min(case when days_supply is not null then event_date end)
            as first_drug_date,
        min(case when is_insulin then event_date end) as first_insulin_date,
        -- Diagnoses count once per date (the extract may repeat a record).
        count(distinct case when is_type1_diagnosis then event_date end)
            as n_type1_diagnoses,
        count(distinct case when is_type2_diagnosis then event_date end)
            as n_type2_diagnoses

    from known
    group by citizen_id, as_of_date

),

classified as (

    -- OSDC has_t1d, with days_supply as the dose measure.
    select
        citizen_id,
        as_of_date,
        (
            insulin_days > 0 and insulin_days = drug_days
            and n_type1_diagnoses > 0
        )
        or (
            insulin_days < drug_days
            and n_type1_diagnoses > n_type2_diagnoses
            and insulin_days >= drug_days * 2 / 3
            and first_insulin_date <= first_drug_date + 180
        ) as is_type1

    from typing

),

final as (

    select
        spine.citizen_id,
        spine.as_of_date,
        entry.event_date is not null as has_diabetes,
        case
            when entry.event_date is null then null
            when classified.is_type1 then 'type1'
            else 'type2'
        end as diabetes_type,
        entry.event_date as diabetes_entry_date,
        days_between(entry.event_date, spine.as_of_date) / 365.25
            as diabetes_duration_years

    from spine
    left join ranked as entry
        on entry.citizen_id = spine.citizen_id
        and entry.as_of_date = spine.as_of_date
        and entry.event_number = 2
    left join classified
        on classified.citizen_id = spine.citizen_id
        and classified.as_of_date = spine.as_of_date

)

select * from final
