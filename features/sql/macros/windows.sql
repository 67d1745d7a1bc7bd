-- Shared macros: date windows, timeline lists, ages and units.
-- Grain: none (scalar and list macros).
-- Point in time: windows end strictly before as_of_date; callers name them.
-- The linter gives a macro's body no indent level; ours hang one level in:
-- sqlfluff:exclude_rules:LT02

-- An event dated in the n_days before as_of_date, never on or after it.
create or replace macro within_days(event_date, as_of_date, n_days) as
    event_date < as_of_date and event_date >= as_of_date - n_days;

-- Whole days from an earlier date to as_of_date.
create or replace macro days_between(from_date, to_date) as
    datediff('day', from_date, to_date);

-- Timelines (features/sql/timelines): per citizen, a list of event dates meets the
-- list of the citizen's as-of dates. How many events fall in the n_days before one.
create or replace macro n_within_days(event_dates, as_of_date, n_days) as
    coalesce(
        len(
            list_filter(
                event_dates, lambda e: within_days(e, as_of_date, n_days)
            )
        ),
        0
    );

-- The latest of a list of event dates before as_of_date; NULL if none.
create or replace macro last_before(event_dates, as_of_date) as
    list_max(list_filter(event_dates, lambda e: e < as_of_date));

-- The same for each date of a timeline's as_of_dates list: a list as long as it.
create or replace macro n_within_days_each(event_dates, as_of_dates, n_days) as
    list_transform(
        as_of_dates, lambda d: n_within_days(event_dates, d, n_days)
    );
create or replace macro days_since_each(event_dates, as_of_dates) as
    list_transform(
        as_of_dates, lambda d: days_between(last_before(event_dates, d), d)
    );

-- Least-squares slope of ys on xs (equal-length numeric lists), as regr_slope;
-- NULL when xs do not vary.
create or replace macro list_regr_slope(ys, xs) as
    (
        len(xs) * list_inner_product(cast(xs as double[]), cast(ys as double[]))
        - list_sum(xs) * list_sum(ys)
    ) / nullif(
        len(xs) * list_inner_product(cast(xs as double[]), cast(xs as double[]))
        - list_sum(xs) ** 2,
        0
    );

-- Completed years of age on a date.
create or replace macro age_years(birth_date, on_date) as
    cast(date_part('year', age(on_date, birth_date)) as integer);

-- Days of a table's covered history before a date (0 before its coverage starts).
create or replace macro covered_days(coverage_from, on_date) as
    greatest(datediff('day', coverage_from, on_date), 0);

-- HbA1c in IFCC mmol/mol; DCCT % (NPU03835) via IFCC = (DCCT - 2.15) x 10.929.
create or replace macro hba1c_mmol_mol(npu_code, value) as
    case
        when npu_code = 'NPU27300' then value
        when npu_code = 'NPU03835' then (value - 2.15) * 10.929
    end;
