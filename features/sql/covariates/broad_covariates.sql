-- Broad covariates (OHDSI FeatureExtraction style, long) of the model cohorts.
-- Grain: citizen_id x as_of_date x covariate_id; zeros and NULLs are left out.
-- Point in time: events and samples dated before as_of_date only.
with

-- Diabetes or SMI cohort members at this slice's as-of dates, one list each.
cohort as (
    select m.citizen_id, list(m.as_of_date order by m.as_of_date) as as_of_dates
    from marts.scoring_features as m
    inner join main.spine as s
        on s.citizen_id = m.citizen_id and s.as_of_date = m.as_of_date
    where m.has_diabetes or m.has_smi
    group by m.citizen_id
),

-- Each group's dates meet only its citizen's as-of dates (as in the timelines).
events as (
    select
        e.covariate_key,
        e.has_ever,
        c.citizen_id,
        unnest(c.as_of_dates) as as_of_date,
        unnest(n_within_days_each(e.event_dates, c.as_of_dates, 365)) as n_365d,
        unnest(list_transform(c.as_of_dates, lambda d: e.event_dates[1] < d)) -- noqa: RF02
            as is_ever
    from timelines.tl_covariate_events as e
    inner join cohort as c on c.citizen_id = e.citizen_id
),

labs as (
    select
        l.covariate_key,
        c.citizen_id,
        unnest(c.as_of_dates) as as_of_date,
        unnest(list_transform(c.as_of_dates, lambda d: list_filter(
            l.samples, lambda x: x.sample_date < d -- noqa: RF01, RF02
        )[-1])) as last_sample,
        unnest(n_within_days_each(
            list_transform(l.samples, lambda x: x.sample_date), -- noqa: RF01
            c.as_of_dates, 730
        )) as n_730d
    from timelines.tl_covariate_labs as l
    inner join cohort as c on c.citizen_id = l.citizen_id
),

final as (
    select
        citizen_id, as_of_date, covariate_key || '_365d' as covariate_id,
        cast(n_365d as double) as value
    from events
    where n_365d > 0
    union all
    select
        citizen_id, as_of_date, covariate_key || '_ever' as covariate_id,
        1.0 as value
    from events
    where has_ever and is_ever
    union all
    select
        citizen_id, as_of_date, covariate_key || '_last' as covariate_id,
        last_sample.value
    from labs
    where last_sample.value is not null
    union all
    select
        citizen_id, as_of_date, covariate_key || '_days_since' as covariate_id,
        days_between(last_sample.sample_date, as_of_date) as value
    from labs
    where last_sample is not null
    union all
    select
        citizen_id, as_of_date, covariate_key || '_n_730d' as covariate_id,
        n_730d as value
    from labs
    where n_730d > 0
)

select * from final
