-- Metabolic monitoring (HbA1c, lipids) and antipsychotics, one timeline per citizen.
-- Grain: citizen_id; every list is aligned with the as_of_date list (ascending).
-- Point in time: samples and redemptions dated before each as_of_date only.
with

spine as (
    select citizen_id, list(as_of_date order by as_of_date) as as_of_dates
    from main.spine
    group by citizen_id
),

lipids as (
    -- P-cholesterol and LDL cholesterol (is_lipid_test): one date per day.
    select citizen_id, list(distinct sample_date) as dates
    from staging.stg_lab_results
    where is_lipid_test(npu_code)
    group by citizen_id
),

hba1c as (
    select citizen_id, list(distinct sample_date) as dates
    from intermediate.int_hba1c__converted
    group by citizen_id
),

antipsychotics as (
    -- Redemption dates as recorded; the timeline keeps those before each date.
    select citizen_id, list(distinct redeemed_date) as dates
    from staging.stg_prescriptions
    where is_antipsychotic(atc_code) and redeemed_date is not null
    group by citizen_id
),

final as (
    select
        spine.citizen_id,
        spine.as_of_dates as as_of_date,
        days_since_each(l.dates, spine.as_of_dates) as days_since_lipid_test,
        -- The linter takes the lambda's parameter d for a column.
        -- noqa: disable=RF02
        -- Recency within 730 days (NULL = no test in them): the same window at every
        -- as-of date, however long the extract's history is before it.
        list_transform(
            spine.as_of_dates, lambda d: days_between(
                list_max(
                    list_filter(h.dates, lambda e: within_days(e, d, 730))
                ),
                d
            )
        ) as days_since_hba1c_730d,
        list_transform(
            spine.as_of_dates, lambda d: days_between(
                list_max(
                    list_filter(l.dates, lambda e: within_days(e, d, 730))
                ),
                d
            )
        ) as days_since_lipid_test_730d,
        list_transform(
            spine.as_of_dates, lambda d:
            n_within_days(a.dates, d, 365) > 0
            and (
                n_within_days(h.dates, d, 365) = 0
                or n_within_days(l.dates, d, 365) = 0
            )
        ) as is_antipsychotic_unmonitored_365d -- noqa: enable=RF02
    from spine
    left join lipids as l on l.citizen_id = spine.citizen_id
    left join hba1c as h on h.citizen_id = spine.citizen_id
    left join antipsychotics as a on a.citizen_id = spine.citizen_id
)

select * from final
