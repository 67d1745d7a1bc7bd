-- Attendance: missed and cancelled appointments, days since attended controls.
-- Grain: citizen_id x as_of_date (every spine row).
-- Point in time: statuses of appointments scheduled before as_of_date only.
with

spine as (select citizen_id, as_of_date from main.spine),

-- The spine's dates: appointments meet these few rows, not every citizen's row.
dates as (select distinct as_of_date from spine),

first_date as (select min(as_of_date) as as_of_date from dates),

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
        status = 'attended' as is_attended_control
    from staging.stg_appointments
    cross join first_date
    -- Missed ones before every 730-day window, and attended ones other than
    -- controls, never count.
    where (
        status in ('no_show', 'cancelled_by_citizen')
        and scheduled_date >= first_date.as_of_date - 730
    )
    or (
        status = 'attended'
        and kind in (
            'diabetes_annual_control', 'diabetes_control', 'eye_screening',
            'foot_examination'
        )
    )
),

events as (
    -- Before the first as-of date, the last control of a kind stands for all.
    select citizen_id, scheduled_date, status, kind, is_attended_control
    from appointments
    cross join first_date
    where not is_attended_control or scheduled_date >= first_date.as_of_date
    union all
    select citizen_id, max(scheduled_date), 'attended', kind, true
    from appointments
    cross join first_date
    where is_attended_control and scheduled_date < first_date.as_of_date
    group by citizen_id, kind
),

known as (
    select
        e.*,
        dates.as_of_date,
        within_days(e.scheduled_date, dates.as_of_date, 365) as is_in_365d,
        e.status = 'no_show' as is_no_show,
        e.status = 'cancelled_by_citizen' as is_cancelled
    from events as e
    inner join dates on e.scheduled_date < dates.as_of_date
    where e.is_attended_control
        or within_days(e.scheduled_date, dates.as_of_date, 730)
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
            as n_no_shows_other_chronic_365d,
        -- The last attended control of each kind, over the whole history.
        max(case when is_attended_control and kind = 'diabetes_control'
            then scheduled_date end) as last_diabetes_control_date,
        max(case when is_attended_control and kind = 'eye_screening'
            then scheduled_date end) as last_eye_screening_date,
        max(case when is_attended_control and kind = 'foot_examination'
            then scheduled_date end) as last_foot_examination_date
    from known
    group by citizen_id, as_of_date
),

final as (
    -- Counts are zero without such appointments; days since are NULL if never.
    select
        spine.citizen_id,
        spine.as_of_date,
        coalesce(columns(c.* exclude (
            citizen_id, as_of_date, last_diabetes_control_date,
            last_eye_screening_date, last_foot_examination_date
        )), 0),
        days_between(c.last_diabetes_control_date, spine.as_of_date)
            as days_since_diabetes_control,
        days_between(c.last_eye_screening_date, spine.as_of_date)
            as days_since_eye_screening,
        days_between(c.last_foot_examination_date, spine.as_of_date)
            as days_since_foot_examination
    from spine
    left join counted as c
        on c.citizen_id = spine.citizen_id and c.as_of_date = spine.as_of_date
)

select * from final
