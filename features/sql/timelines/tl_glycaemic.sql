-- HbA1c history before each as-of date, one timeline per citizen.
-- Grain: citizen_id; every list is aligned with the as_of_date list (ascending).
-- Point in time: each element reads samples dated before its as_of_date only.
with

spine as (
    select citizen_id, list(as_of_date order by as_of_date) as as_of_dates
    from main.spine
    group by citizen_id
),

samples as (
    -- One sample per date (int_hba1c__converted), in date order.
    select
        citizen_id,
        list(
            { 'sample_date': sample_date, 'value': hba1c_mmol_mol }
            order by sample_date
        ) as samples
    from intermediate.int_hba1c__converted
    group by citizen_id
),

windows as (
    select
        spine.citizen_id,
        spine.as_of_dates,
        s.samples,
        list_transform(spine.as_of_dates, lambda as_of: list_filter(
            s.samples, lambda x: within_days(x.sample_date, as_of, 730) -- noqa: RF01, RF02
        )) as samples_730d
    from spine
    left join samples as s on s.citizen_id = spine.citizen_id
),

final as (
    select
        citizen_id,
        as_of_dates as as_of_date,
        list_transform(as_of_dates, lambda as_of: list_filter(
            samples, lambda x: x.sample_date < as_of
        )[-1].value) as hba1c_last_mmol_mol,
        days_since_each([x.sample_date for x in samples], as_of_dates)
            as days_since_hba1c,
        list_transform(samples_730d, lambda w: list_max(
            list_transform(w, lambda x: x.value)
        )) as hba1c_max_mmol_mol_730d,
        -- Least-squares slope against the date, per year; it needs two sample
        -- dates (one value per date here), else NULL rather than NaN.
        list_transform(samples_730d, lambda w: case when len(w) >= 2 then
                list_regr_slope(
                    list_transform(w, lambda x: x.value),
                    list_transform(
                        w,
                        lambda x: days_between(w[1].sample_date, x.sample_date)
                    )
                ) * 365.25
        end) as hba1c_slope_mmol_mol_per_year,
        list_transform(samples_730d, lambda w: coalesce(len(w), 0))
            as n_hba1c_730d
    from windows
)

select * from final
