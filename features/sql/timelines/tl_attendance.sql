-- Missed appointments and attended controls, one timeline per citizen.
-- Grain: citizen_id; every list is aligned with the as_of_date list (ascending).
-- Point in time: each element reads appointments scheduled before its as_of_date.
with

spine as (
    select citizen_id, list(as_of_date order by as_of_date) as as_of_dates
    from main.spine
    group by citizen_id
),

-- No 730-day window of the spine reaches back before this date.
window_start as (select min(as_of_date) - 730 as event_date from main.spine),

appointments as (
    select
        citizen_id,
        scheduled_date as event_date,
        status = 'no_show' as missed,
        status = 'cancelled_by_citizen' as cancelled,
        status = 'attended' as attended,
        -- The kinds the features name (other_chronic: COPD, heart, rehabilitation).
        case
            when kind in ('diabetes_annual_control', 'diabetes_control')
                then 'control'
            when kind = 'eye_screening' then 'eye'
            when kind = 'foot_examination' then 'foot'
            when kind = 'psychiatric_outpatient' then 'psychiatry'
            when kind = 'gp_consultation' then 'gp'
            when kind in ('copd_control', 'heart_outpatient', 'rehabilitation')
                then 'other'
        end as kind
    from staging.stg_appointments
    cross join window_start
    -- Missed ones before every window, and attended ones other than controls,
    -- never count.
    where (status in ('no_show', 'cancelled_by_citizen')
        and scheduled_date >= window_start.event_date)
    or (status = 'attended' and kind in (
        'diabetes_annual_control', 'diabetes_control', 'eye_screening',
        'foot_examination'
    ))
),

-- Per citizen, the dates of each kind of event a feature counts.
events as (
    select
        citizen_id,
        list(event_date) filter (where missed) as missed,
        list(event_date) filter (where cancelled) as cancelled,
        list(event_date) filter (where missed and kind = 'control') as missed_control,
        list(event_date) filter (where cancelled and kind = 'control')
            as cancelled_control,
        list(event_date) filter (where missed and kind = 'eye') as missed_eye,
        list(event_date) filter (where missed and kind = 'foot') as missed_foot,
        list(event_date) filter (where missed and kind = 'psychiatry')
            as missed_psychiatry,
        list(event_date) filter (where missed and kind = 'gp') as missed_gp,
        list(event_date) filter (where missed and kind = 'other') as missed_other,
        list(event_date) filter (where attended and kind = 'control') as controls,
        list(event_date) filter (where attended and kind = 'eye') as eye_screenings,
        list(event_date) filter (where attended and kind = 'foot') as foot_exams
    from appointments
    group by citizen_id
),

final as (
    -- Counts are zero without such appointments; days since are NULL if never.
    select
        spine.citizen_id,
        spine.as_of_dates as as_of_date,
        n_within_days_each(e.missed, as_of_dates, 365) as n_no_shows_365d,
        n_within_days_each(e.missed, as_of_dates, 730) as n_no_shows_730d,
        n_within_days_each(e.cancelled, as_of_dates, 365)
            as n_citizen_cancellations_365d,
        n_within_days_each(e.cancelled, as_of_dates, 730)
            as n_citizen_cancellations_730d,
        n_within_days_each(e.missed_control, as_of_dates, 365)
            as n_no_shows_diabetes_control_365d,
        n_within_days_each(e.missed_control, as_of_dates, 730)
            as n_no_shows_diabetes_control_730d,
        n_within_days_each(e.cancelled_control, as_of_dates, 365)
            as n_citizen_cancellations_diabetes_control_365d,
        n_within_days_each(e.missed_eye, as_of_dates, 730)
            as n_no_shows_eye_screening_730d,
        n_within_days_each(e.missed_foot, as_of_dates, 730)
            as n_no_shows_foot_examination_730d,
        n_within_days_each(e.missed_psychiatry, as_of_dates, 365)
            as n_no_shows_psychiatric_outpatient_365d,
        n_within_days_each(e.missed_gp, as_of_dates, 365)
            as n_no_shows_gp_consultation_365d,
        n_within_days_each(e.missed_other, as_of_dates, 365)
            as n_no_shows_other_chronic_365d,
        -- The last attended control of each kind, over the whole history.
        days_since_each(e.controls, as_of_dates) as days_since_diabetes_control,
        days_since_each(e.eye_screenings, as_of_dates) as days_since_eye_screening,
        days_since_each(e.foot_exams, as_of_dates) as days_since_foot_examination
    from spine
    left join events as e on e.citizen_id = spine.citizen_id
)

select * from final
