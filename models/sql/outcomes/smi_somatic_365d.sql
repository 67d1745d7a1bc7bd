-- smi_somatic_365d: new diabetes or heart disease, or an acute somatic admission.
-- grain: citizen_id x as_of_date; citizens with severe mental illness.
-- point in time: events in [as_of_date, as_of_date + $horizon_days); eligible dates.

with

spine as (select citizen_id, as_of_date from main.spine),

mart as (
    select
        citizen_id, as_of_date, has_smi, has_diabetes, has_heart_disease,
        is_alive_resident,
    from marts.scoring_features
),

citizens as (select citizen_id, death_date, emigration_date from raw.citizens),

contacts as (
    select citizen_id, start_date, contact_type, primary_diagnosis
    from raw.hospital_contacts
),

-- diabetes: SKS DE10-DE14, ICPC-2 T89/T90; heart: SKS DI20-DI25, DI34-DI37,
-- DI48, DI50, ICPC-2 K74-K78, K83 (the same groups as the feature cohorts)
somatic_diagnoses as (
    select
        citizen_id,
        diagnosis_date,
        case
            when regexp_matches(code, '^DE1[0-4]')
                or (code_system = 'ICPC2' and left(code, 3) in ('T89', 'T90'))
                then 'diabetes'
            else 'heart'
        end as disease_group,
    from raw.diagnoses
    where regexp_matches(code, '^DE1[0-4]|^DI2[0-5]|^DI3[4-7]|^DI48|^DI50')
        or (code_system = 'ICPC2' and left(code, 3) in (
            'T89', 'T90', 'K74', 'K75', 'K76', 'K77', 'K78', 'K83'
        ))
),

-- cohort ------------------------------------------------------------------
cohort as (
    select
        spine.citizen_id,
        spine.as_of_date,
        spine.as_of_date + cast($horizon_days as integer) as window_end,
        exit_in_window(
            z.death_date, z.emigration_date, spine.as_of_date,
            spine.as_of_date + cast($horizon_days as integer)
        ) as exit_date,
        spine.as_of_date - cast($washout_days as integer) as washout_start,
        mart.has_diabetes,
        mart.has_heart_disease,
    from spine
    inner join mart on mart.citizen_id = spine.citizen_id
        and mart.as_of_date = spine.as_of_date
    inner join citizens as z on z.citizen_id = spine.citizen_id
    where mart.has_smi and mart.is_alive_resident
        and is_eligible_index_date(
            spine.as_of_date, $washout_days, $horizon_days, $extract_start,
            $extract_date
        )
),

-- new: not in the cohort flag at as_of_date, no record in the washout -------
new_diagnoses as (
    select c.citizen_id, c.as_of_date, d.diagnosis_date as event_date,
    from cohort as c
    inner join somatic_diagnoses as d on d.citizen_id = c.citizen_id
        and d.diagnosis_date >= c.as_of_date and d.diagnosis_date < c.window_end
    where (
        (d.disease_group = 'diabetes' and not coalesce(c.has_diabetes, false))
        or (d.disease_group = 'heart' and not coalesce(c.has_heart_disease, false))
    )
    and not exists (
        select 1 from somatic_diagnoses as p
        where p.citizen_id = c.citizen_id
            and p.disease_group = d.disease_group
            and p.diagnosis_date >= c.washout_start
            and p.diagnosis_date < c.as_of_date
    )
),

somatic_admissions as (
    select c.citizen_id, c.as_of_date, h.start_date as event_date,
    from cohort as c
    inner join contacts as h on h.citizen_id = c.citizen_id
        and h.start_date >= c.as_of_date and h.start_date < c.window_end
    where h.contact_type = 'acute_admission'
        and h.primary_diagnosis is not null
        and not starts_with(h.primary_diagnosis, 'DF')
),

first_events as (
    select citizen_id, as_of_date, min(event_date) as event_date,
    from (
        select * from new_diagnoses
        union all
        select * from somatic_admissions
    )
    group by citizen_id, as_of_date
),

final as (
    select
        c.citizen_id,
        c.as_of_date,
        event_label(e.event_date, c.exit_date) as label,
        event_censored(e.event_date, c.exit_date) as is_censored,
        days_at_risk(c.as_of_date, e.event_date, c.exit_date, c.window_end)
            as time_at_risk_days,
    from cohort as c
    left join first_events as e
        on e.citizen_id = c.citizen_id and e.as_of_date = c.as_of_date
)

select * from final
