-- Per citizen, the dates of each kind of appointment an attendance feature counts.
-- Grain: citizen_id (citizens with at least one such appointment).
-- Point in time: none here; tl_attendance keeps dates before each as_of_date.
with

-- No 730-day window of the spine reaches back before this date.
window_start as (select min(as_of_date) - 730 as event_date from main.spine),

appointments as (
    select
        a.citizen_id,
        a.scheduled_date as event_date,
        a.status = 'no_show' as missed,
        a.status = 'cancelled_by_citizen' as cancelled,
        a.status = 'attended' as attended,
        -- The kinds the features name (other_chronic: COPD, heart, rehabilitation).
        case
            when a.kind in ('diabetes_annual_control', 'diabetes_control')
                then 'control'
            when a.kind = 'eye_screening' then 'eye'
            when a.kind = 'foot_examination' then 'foot'
            when a.kind = 'psychiatric_outpatient' then 'psychiatry'
            when a.kind = 'gp_consultation' then 'gp'
            when
                a.kind in ('copd_control', 'heart_outpatient', 'rehabilitation')
                then 'other'
        end as kind
    from staging.stg_appointments as a
    cross join window_start
    -- Missed ones before every window, and attended ones other than controls,
    -- never count.
    where (
        a.status in ('no_show', 'cancelled_by_citizen')
        and a.scheduled_date >= window_start.event_date
    )
    or (a.status = 'attended' and a.kind in (
        'diabetes_annual_control', 'diabetes_control', 'eye_screening',
        'foot_examination'
    ))
),

final as (
    select
        citizen_id,
        list(event_date) filter (where missed) as missed,
        list(event_date) filter (where cancelled) as cancelled,
        list(event_date) filter (where missed and kind = 'control')
            as missed_control,
        list(event_date) filter (where cancelled and kind = 'control')
            as cancelled_control,
        list(event_date) filter (where missed and kind = 'eye') as missed_eye,
        list(event_date) filter (where missed and kind = 'foot') as missed_foot,
        list(event_date) filter (where missed and kind = 'psychiatry')
            as missed_psychiatry,
        list(event_date) filter (where missed and kind = 'gp') as missed_gp,
        list(event_date) filter (where missed and kind = 'other')
            as missed_other,
        list(event_date) filter (where attended and kind = 'control')
            as controls,
        list(event_date) filter (where attended and kind = 'eye')
            as eye_screenings,
        list(event_date) filter (where attended and kind = 'foot') as foot_exams
    from appointments
    group by citizen_id
)

select * from final
