-- Shared expressions of the outcome SQL: eligible index dates and censoring.
-- Grain: none (scalar macros).
-- Point in time: the outcome window is [as_of_date, window_end).
-- The linter gives a macro's body no indent level; ours hang one level in:
-- sqlfluff:exclude_rules:LT02

-- An index date with the washout of history before it and the whole outcome
-- window before extract_date.
create or replace macro is_eligible_index_date(
    as_of_date, washout_days, horizon_days, extract_start, extract_date
) as
    as_of_date - cast(washout_days as integer) >= extract_start
    and as_of_date + cast(horizon_days as integer) <= extract_date;

-- The day the citizen died or emigrated inside [as_of_date, window_end); else NULL.
create or replace macro exit_in_window(
    death_date, emigration_date, as_of_date, window_end
) as
    case
        when least(death_date, emigration_date) >= as_of_date
            and least(death_date, emigration_date) < window_end
            then least(death_date, emigration_date)
    end;

-- An event outcome: 1 if the first event came on or before any exit, NULL
-- (censored) if the citizen left first, else 0.
create or replace macro event_label(event_date, exit_date) as
    cast(case
        when event_date is not null
            and (exit_date is null or event_date <= exit_date) then 1
        when exit_date is not null then null
        else 0
    end as integer);

-- The citizen left the window before any event.
create or replace macro event_censored(event_date, exit_date) as
    exit_date is not null and (event_date is null or event_date > exit_date);

-- Days from as_of_date to the first of event, exit and window end (NULLs ignored).
create or replace macro days_at_risk(
    as_of_date, event_date, exit_date, window_end
) as
    cast(datediff(
        'day', as_of_date, least(event_date, exit_date, window_end)
    ) as integer);
