-- Attendance: missed and cancelled appointments, days since attended controls.
-- Grain: citizen_id x as_of_date (every spine row).
-- Point in time: statuses of appointments scheduled before as_of_date only.
with

spine as (select citizen_id, as_of_date from main.spine),

appointments as (
    select
        citizen_id,
        scheduled_date,
        status,
        case
            when kind in ('diabetes_annual_control', 'diabetes_control')
                then 'diabetes_control'
            when kind in ('copd_control', 'heart_outpatient', 'rehabilitation')
                then 'other_chronic'
            else kind
        end as kind,
        status = 'attended'
        and kind in (
            'diabetes_annual_control', 'diabetes_control', 'eye_screening',
            'foot_examination'
        ) as is_attended_control
    from staging.stg_appointments
    where status in ('no_show', 'cancelled_by_citizen', 'attended')
),

missed as (
    select
        a.*,
        spine.as_of_date,
        within_days(a.scheduled_date, spine.as_of_date, 365) as is_in_365d,
        a.status = 'no_show' as is_no_show,
        a.status = 'cancelled_by_citizen' as is_cancelled
    from spine
    inner join appointments as a
        on a.citizen_id = spine.citizen_id
        and within_days(a.scheduled_date, spine.as_of_date, 730)
    where a.status in ('no_show', 'cancelled_by_citizen')
),

counted as (
    select
        citizen_id,
        as_of_date,
        count_if(is_no_show and is_in_365d) as n_no_shows_365d,
        count_if(is_no_show) as n_no_shows_730d,
        count_if(is_cancelled and is_in_365d) as n_citizen_cancellations_365d,
        count_if(is_cancelled) as n_citizen_cancellations_730d,
        count_if(is_no_show and kind = 'diabetes_control' and is_in_365d)
            as n_no_shows_diabetes_control_365d,
        count_if(is_no_show and kind = 'diabetes_control')
            as n_no_shows_diabetes_control_730d,
        count_if(is_cancelled and kind = 'diabetes_control' and is_in_365d)
            as n_citizen_cancellations_diabetes_control_365d,
        count_if(is_no_show and kind = 'eye_screening')
            as n_no_shows_eye_screening_730d,
        count_if(is_no_show and kind = 'foot_examination')
            as n_no_shows_foot_examination_730d,
        count_if(is_no_show and kind = 'psychiatric_outpatient' and is_in_365d)
            as n_no_shows_psychiatric_outpatient_365d,
        count_if(is_no_show and kind = 'gp_consultation' and is_in_365d)
            as n_no_shows_gp_consultation_365d,
        count_if(is_no_show and kind = 'other_chronic' and is_in_365d)
            as n_no_shows_other_chronic_365d
    from missed
    group by citizen_id, as_of_date
),

last_controls as (
    -- The last attended control of each kind, over the whole history.
    select
        spine.citizen_id,
        spine.as_of_date,
        max(case when a.kind = 'diabetes_control' then a.scheduled_date end)
            as last_diabetes_control_date,
        max(case when a.kind = 'eye_screening' then a.scheduled_date end)
            as last_eye_screening_date,
        max(case when a.kind = 'foot_examination' then a.scheduled_date end)
            as last_foot_examination_date
    from spine
    inner join appointments as a
        on a.citizen_id = spine.citizen_id
        and a.scheduled_date < spine.as_of_date
    where a.is_attended_control
    group by spine.citizen_id, spine.as_of_date
),

final as (
    -- Counts are zero without such appointments; days since are NULL if never.
    select
        spine.citizen_id,
        spine.as_of_date,
        coalesce(columns(c.* exclude (citizen_id, as_of_date)), 0),
        days_between(l.last_diabetes_control_date, spine.as_of_date)
            as days_since_diabetes_control,
        days_between(l.last_eye_screening_date, spine.as_of_date)
            as days_since_eye_screening,
        days_between(l.last_foot_examination_date, spine.as_of_date)
            as days_since_foot_examination
    from spine
    left join counted as c
        on c.citizen_id = spine.citizen_id and c.as_of_date = spine.as_of_date
    left join last_controls as l
        on l.citizen_id = spine.citizen_id and l.as_of_date = spine.as_of_date
)

select * from final
