-- Drugs in use: days covered by glucose-lowering drugs, antipsychotic use.
-- Grain: citizen_id x as_of_date (every spine row).
-- Point in time: redemptions before as_of_date only; coverage cut at it.
with

spine as (select citizen_id, as_of_date from main.spine),

prescriptions as (
    -- Only these can count: redeemed glucose-lowering drugs and antipsychotics.
    select *
    from intermediate.int_prescriptions__redemption_lagged
    where is_glucose_lowering or is_antipsychotic
),

dispensings as (
    -- A glucose-lowering dispensing covers [redeemed_date, + days_supply),
    -- clipped to the 365 days before as_of_date.
    select
        citizen_id,
        as_of_date,
        greatest(redeemed_date, as_of_date - 365) as start_date,
        least(redeemed_date + days_supply, as_of_date) as end_date
    from prescriptions
    where is_redeemed and is_glucose_lowering
        and redeemed_date + days_supply > as_of_date - 365
),

sorted_dispensings as (
    select
        *,
        max(end_date) over (
            partition by citizen_id, as_of_date order by start_date, end_date
            rows between unbounded preceding and 1 preceding
        ) as covered_until
    from dispensings
),

covered as (
    -- Days covered by at least one dispensing (the union of the intervals).
    select
        citizen_id,
        as_of_date,
        sum(greatest(0, days_between(
            greatest(start_date, coalesce(covered_until, start_date)), end_date
        ))) as days_covered
    from sorted_dispensings
    group by citizen_id, as_of_date
),

antipsychotics as (
    select distinct citizen_id, as_of_date
    from prescriptions
    where is_redeemed and is_antipsychotic
        and within_days(redeemed_date, as_of_date, 365)
),

final as (
    select
        spine.citizen_id,
        spine.as_of_date,
        least(1.0, coalesce(c.days_covered, 0) / 365.0)
            as pdc_glucose_lowering_365d,
        a.citizen_id is not null as is_antipsychotic_user_365d
    from spine
    left join covered as c
        on c.citizen_id = spine.citizen_id and c.as_of_date = spine.as_of_date
    left join antipsychotics as a
        on a.citizen_id = spine.citizen_id and a.as_of_date = spine.as_of_date
)

select * from final
