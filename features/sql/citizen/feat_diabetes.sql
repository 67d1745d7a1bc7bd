-- Diabetes cohort (OSDC-style): two inclusion events, entry date, type 1 or 2.
-- Grain: citizen_id x as_of_date (every spine row).
-- Point in time: events and pregnancy endings dated before as_of_date only.
with

spine as (select citizen_id, as_of_date from main.spine),

-- The spine's dates: events meet these few rows, not every citizen's row.
dates as (select distinct as_of_date from spine),

events as (select * from timelines.tl_diabetes_events),

typing as (
    select
        e.citizen_id,
        dates.as_of_date,
        min(e.event_date, 2)[2] as entry_date,
        coalesce(sum(e.insulin_days), 0) as insulin_days,
        coalesce(sum(e.drug_days), 0) as drug_days,
        min(case when e.is_drug then e.event_date end) as first_drug_date,
        min(case when e.is_insulin then e.event_date end) as first_insulin_date,
        count_if(e.is_type1_diagnosis) as n_type1_diagnoses,
        count_if(e.is_type2_diagnosis) as n_type2_diagnoses
    from events as e
    inner join dates
        on dates.as_of_date > e.event_date
            and coalesce(dates.as_of_date <= e.dropped_after, true)
    group by e.citizen_id, dates.as_of_date
),

classified as (
    -- OSDC has_t1d, with days_supply as the dose measure.
    select
        *,
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
        c.entry_date is not null as has_diabetes,
        case
            when c.entry_date is null then null
            when c.is_type1 then 'type1'
            else 'type2'
        end as diabetes_type,
        c.entry_date as diabetes_entry_date,
        days_between(c.entry_date, spine.as_of_date) / 365.25
            as diabetes_duration_years
    from spine
    left join classified as c
        on c.citizen_id = spine.citizen_id and c.as_of_date = spine.as_of_date
)

select * from final
