-- Missed appointments and attended controls, one timeline per citizen.
-- Grain: citizen_id; every list is aligned with the as_of_date list (ascending).
-- Point in time: each element reads appointments scheduled before its as_of_date.
with

spine as (
    select citizen_id, list(as_of_date order by as_of_date) as as_of_dates
    from main.spine
    group by citizen_id
),

events as (select * from intermediate.int_appointments__listed),

final as (
    -- Counts are zero without such appointments; days since are NULL if never.
    select
        spine.citizen_id,
        spine.as_of_dates as as_of_date,
        n_within_days_each(e.missed, spine.as_of_dates, 365) as n_no_shows_365d,
        n_within_days_each(e.missed, spine.as_of_dates, 730) as n_no_shows_730d,
        n_within_days_each(e.cancelled, spine.as_of_dates, 365)
            as n_citizen_cancellations_365d,
        n_within_days_each(e.cancelled, spine.as_of_dates, 730)
            as n_citizen_cancellations_730d,
        n_within_days_each(e.missed_control, spine.as_of_dates, 365)
            as n_no_shows_diabetes_control_365d,
        n_within_days_each(e.missed_control, spine.as_of_dates, 730)
            as n_no_shows_diabetes_control_730d,
        n_within_days_each(e.cancelled_control, spine.as_of_dates, 365)
            as n_citizen_cancellations_diabetes_control_365d,
        n_within_days_each(e.missed_eye, spine.as_of_dates, 730)
            as n_no_shows_eye_screening_730d,
        n_within_days_each(e.missed_foot, spine.as_of_dates, 730)
            as n_no_shows_foot_examination_730d,
        n_within_days_each(e.missed_psychiatry, spine.as_of_dates, 365)
            as n_no_shows_psychiatric_outpatient_365d,
        n_within_days_each(e.missed_gp, spine.as_of_dates, 365)
            as n_no_shows_gp_consultation_365d,
        n_within_days_each(e.missed_other, spine.as_of_dates, 365)
            as n_no_shows_other_chronic_365d,
        -- The last attended control of each kind, over the whole history.
        days_since_each(e.controls, spine.as_of_dates)
            as days_since_diabetes_control,
        days_since_each(e.eye_screenings, spine.as_of_dates)
            as days_since_eye_screening,
        days_since_each(e.foot_exams, spine.as_of_dates)
            as days_since_foot_examination
    from spine
    left join events as e on e.citizen_id = spine.citizen_id
)

select * from final
