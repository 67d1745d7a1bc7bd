-- An outcome's cohort at every eligible spine date, with its window and exit.
-- Grain: citizen_id x as_of_date; citizens in the $cohort flag, alive and resident.
-- Point in time: cohort flags at as_of_date; the exit day inside the window.

with

spine as (select citizen_id, as_of_date from main.spine),

mart as (
    select
        citizen_id,
        as_of_date,
        is_alive_resident,
        -- the cohort flag column named by the outcome's contract
        columns(lambda c: c = $cohort) as is_in_cohort
    from marts.scoring_features
),

citizens as (select citizen_id, death_date, emigration_date from raw.citizens),

final as (
    select
        spine.citizen_id,
        spine.as_of_date,
        spine.as_of_date + cast($horizon_days as integer) as window_end,
        spine.as_of_date - cast($washout_days as integer) as washout_start,
        exit_in_window(
            z.death_date, z.emigration_date, spine.as_of_date,
            spine.as_of_date + cast($horizon_days as integer)
        ) as exit_date
    from spine
    inner join mart
        on mart.citizen_id = spine.citizen_id
            and mart.as_of_date = spine.as_of_date
    inner join citizens as z on z.citizen_id = spine.citizen_id
    where mart.is_in_cohort and mart.is_alive_resident
        and is_eligible_index_date(
            spine.as_of_date, $min_washout_days, $horizon_days, $extract_start,
            $extract_date
        )
)

select * from final
