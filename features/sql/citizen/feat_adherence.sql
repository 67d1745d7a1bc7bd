-- Collecting medicine: prescriptions issued but not redeemed, by drug group.
-- Grain: citizen_id x as_of_date (every spine row).
-- Point in time: issued in the window, not redeemed before as_of_date.
with

spine as (select citizen_id, as_of_date from main.spine),

prescriptions as (
    -- Only these can count: issued in the year before.
    select *
    from intermediate.int_prescriptions__redemption_lagged
    where issued_date >= as_of_date - 365
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

final as (
    select
        spine.citizen_id,
        spine.as_of_date,
        coalesce(columns(u.* exclude (citizen_id, as_of_date)), 0) -- noqa: RF02
    from spine
    left join unredeemed_counts as u
        on u.citizen_id = spine.citizen_id and u.as_of_date = spine.as_of_date
)

select * from final
