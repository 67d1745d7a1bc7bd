-- Collecting medicine: unredeemed prescriptions, days covered, antipsychotics.
-- Grain: citizen_id x as_of_date (every spine row).
-- Point in time: redemptions before as_of_date only; coverage cut at it.
with

spine as (select citizen_id, as_of_date from main.spine),

prescriptions as (
    -- Only these can count: issued in the year before, or redeemed and used below.
    select *
    from intermediate.int_prescriptions__redemption_lagged
    where issued_date >= as_of_date - 365 or is_glucose_lowering or is_antipsychotic
),

redemptions as (
    select citizen_id, atc_code, redeemed_date
    from staging.stg_prescriptions
    where redeemed_date is not null
),

unredeemed as (
    -- Old enough to have been redeemable (14 days' grace), and neither it nor a
    -- renewal of the same drug was collected between its issue and as_of_date.
    select p.*, within_days(p.issued_date, p.as_of_date, 90) as is_in_90d
    from prescriptions as p
    where not p.is_redeemed
        and p.issued_date <= p.as_of_date - 14
        and within_days(p.issued_date, p.as_of_date, 365)
        and not exists (
            select 1 from redemptions as r
            where r.citizen_id = p.citizen_id and r.atc_code = p.atc_code
                and r.redeemed_date >= p.issued_date
                and r.redeemed_date < p.as_of_date
        )
),

unredeemed_counts as (
    select
        citizen_id,
        as_of_date,
        count_if(is_in_90d) as n_unredeemed_90d,
        count(*) as n_unredeemed_365d,
        count_if(is_glucose_lowering and is_in_90d)
            as n_unredeemed_glucose_lowering_90d,
        count_if(is_glucose_lowering) as n_unredeemed_glucose_lowering_365d,
        count_if(is_statin and is_in_90d) as n_unredeemed_statins_90d,
        count_if(is_statin) as n_unredeemed_statins_365d,
        count_if(is_antihypertensive and is_in_90d)
            as n_unredeemed_antihypertensives_90d,
        count_if(is_antihypertensive) as n_unredeemed_antihypertensives_365d
    from unredeemed
    group by citizen_id, as_of_date
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
        coalesce(columns(u.* exclude (citizen_id, as_of_date)), 0),
        least(1.0, coalesce(c.days_covered, 0) / 365.0)
            as pdc_glucose_lowering_365d,
        a.citizen_id is not null as is_antipsychotic_user_365d
    from spine
    left join unredeemed_counts as u
        on u.citizen_id = spine.citizen_id and u.as_of_date = spine.as_of_date
    left join covered as c
        on c.citizen_id = spine.citizen_id and c.as_of_date = spine.as_of_date
    left join antipsychotics as a
        on a.citizen_id = spine.citizen_id and a.as_of_date = spine.as_of_date
)

select * from final
