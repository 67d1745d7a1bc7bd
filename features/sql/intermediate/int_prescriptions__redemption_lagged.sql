-- Prescriptions as known at each as_of_date: later redemptions are unknown.
-- Grain: prescription_id x as_of_date (issued in the 730 days before).
-- Point in time: issued before as_of_date; redeemed only if redeemed before it.
with

spine as (

    select citizen_id, as_of_date from main.spine

),

prescriptions as (

    -- The drug groups are fixed per prescription: worked out before the join.
    select
        prescription_id,
        citizen_id,
        atc_code,
        issued_date,
        days_supply,
        redeemed_date,
        is_glucose_lowering(atc_code) as is_glucose_lowering,
        is_statin(atc_code) as is_statin,
        is_antihypertensive(atc_code) as is_antihypertensive,
        is_antipsychotic(atc_code) as is_antipsychotic

    from staging.stg_prescriptions

),

final as (

    select
        p.prescription_id,
        spine.citizen_id,
        spine.as_of_date,
        p.atc_code,
        p.issued_date,
        p.days_supply,
        case when p.redeemed_date < spine.as_of_date then p.redeemed_date end
            as redeemed_date,
        coalesce(p.redeemed_date < spine.as_of_date, false) as is_redeemed,
        p.is_glucose_lowering,
        p.is_statin,
        p.is_antihypertensive,
        p.is_antipsychotic

    from spine
    inner join prescriptions as p
        on p.citizen_id = spine.citizen_id
        -- FMK prescriptions expire after two years: older ones are left out.
            and within_days(p.issued_date, spine.as_of_date, 730)

)

select * from final
