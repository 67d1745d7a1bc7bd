-- missed_care_365d: no attended diabetes control, or a glucose-lowering
-- prescription left unredeemed. grain: citizen_id x as_of_date; diabetes cohort.
-- point in time: events in [as_of_date, window_end) of models/sql/outcome_cohort.sql.

with

cohort as (select * from outcome_cohort),

appointments as (
    select citizen_id, scheduled_date, kind, status from raw.appointments
),

prescriptions as (
    select citizen_id, atc_code, issued_date, redeemed_date
    from raw.prescriptions
),

attended_controls as (
    select distinct c.citizen_id, c.as_of_date
    from cohort as c
    inner join
        appointments
            as a
        on a.citizen_id = c.citizen_id
            and a.scheduled_date >= c.as_of_date
            and a.scheduled_date < c.window_end
    where a.kind in ('diabetes_annual_control', 'diabetes_control')
        and a.status = 'attended'
),

-- issued at least 30 days before the window ends, not redeemed by its end --
unredeemed as (
    select distinct c.citizen_id, c.as_of_date
    from cohort as c
    inner join
        prescriptions
            as p
        on p.citizen_id = c.citizen_id
            and p.issued_date >= c.as_of_date
            and p.issued_date < c.window_end - 30
    where p.atc_code like 'A10%'
        and (p.redeemed_date is null or p.redeemed_date >= c.window_end)
),

final as (
    select
        c.citizen_id,
        c.as_of_date,
        cast(case
            when c.exit_date is not null then null
            when a.citizen_id is null or u.citizen_id is not null then 1
            else 0
        end as integer) as label,
        c.exit_date is not null as is_censored,
        days_at_risk(c.as_of_date, null, c.exit_date, c.window_end)
            as time_at_risk_days
    from cohort as c
    left join attended_controls as a
        on a.citizen_id = c.citizen_id and a.as_of_date = c.as_of_date
    left join unredeemed as u
        on u.citizen_id = c.citizen_id and u.as_of_date = c.as_of_date
)

select * from final
