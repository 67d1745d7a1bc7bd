-- HbA1c before as_of_date: last value, days since it, 730-day maximum, trend.
-- Grain: citizen_id x as_of_date (every spine row).
-- Point in time: samples dated before as_of_date only; NULL when none.
with

spine as (select citizen_id, as_of_date from main.spine),

-- The spine's dates: samples meet these few rows, not every citizen's row.
dates as (select distinct as_of_date from spine),

-- No 730-day window of the spine reaches back before this date.
window_start as (select min(as_of_date) - 730 as sample_date from dates),

hba1c as (
    select citizen_id, sample_date, hba1c_mmol_mol
    from intermediate.int_hba1c__converted
),

samples as (
    -- Before window_start only the last sample can matter (as the last value).
    select hba1c.*
    from hba1c
    cross join window_start
    where hba1c.sample_date >= window_start.sample_date
    union all
    select
        hba1c.citizen_id,
        max(hba1c.sample_date),
        arg_max(hba1c.hba1c_mmol_mol, hba1c.sample_date)
    from hba1c
    cross join window_start
    where hba1c.sample_date < window_start.sample_date
    group by hba1c.citizen_id
),

known as (
    select
        samples.*,
        dates.as_of_date,
        within_days(samples.sample_date, dates.as_of_date, 730) as is_in_730d,
        days_between(samples.sample_date, dates.as_of_date) as days_before
    from samples
    inner join dates on samples.sample_date < dates.as_of_date
),

summarised as (
    select
        citizen_id,
        as_of_date,
        arg_max(hba1c_mmol_mol, sample_date) as hba1c_last_mmol_mol,
        min(days_before) as days_since_hba1c,
        max(case when is_in_730d then hba1c_mmol_mol end)
            as hba1c_max_mmol_mol_730d,
        -- Least-squares slope against the date, per year; it needs two sample
        -- dates (one value per date here), else NULL rather than NaN.
        case when count_if(is_in_730d) >= 2 then regr_slope(
            case when is_in_730d then hba1c_mmol_mol end,
            case when is_in_730d then days_before end
        ) * -365.25 end as hba1c_slope_mmol_mol_per_year,
        count_if(is_in_730d) as n_hba1c_730d
    from known
    group by citizen_id, as_of_date
),

final as (
    select
        spine.citizen_id,
        spine.as_of_date,
        s.hba1c_last_mmol_mol,
        s.days_since_hba1c,
        s.hba1c_max_mmol_mol_730d,
        s.hba1c_slope_mmol_mol_per_year,
        coalesce(s.n_hba1c_730d, 0) as n_hba1c_730d
    from spine
    left join summarised as s
        on s.citizen_id = spine.citizen_id and s.as_of_date = spine.as_of_date
)

select * from final
