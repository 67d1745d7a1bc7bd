-- purpose: cohort citizens a programme's clinical rules keep off this week's list
-- grain:   citizen_id (first rule met: screened, then inpatient)
-- point in time: lab samples on/before $as_of; admissions open at $as_of
with

labs as (
    -- HbA1c (NPU27300, DCCT NPU03835) and lipids (NPU01566, NPU01568), as is_lipid_test
    select
        citizen_id,
        max(case when npu_code in ('NPU27300', 'NPU03835') then sample_date end)
            as last_hba1c,
        max(case when npu_code in ('NPU01566', 'NPU01568') then sample_date end)
            as last_lipid
    from raw.lab_results
    where sample_date <= cast($as_of as date)
    group by citizen_id
),

screened_by_labs as (
    select citizen_id
    from labs
    where last_hba1c > cast($as_of as date) - cast($screened_days as integer)
        and last_lipid > cast($as_of as date) - cast($screened_days as integer)
),

inpatients as (
    -- admitted on or before $as_of and not discharged by it (null end = ongoing)
    select distinct citizen_id
    from raw.hospital_contacts
    where contact_type in ('acute_admission', 'planned_admission')
        and start_date <= cast($as_of as date)
        and (end_date is null or end_date > cast($as_of as date))
),

flags as (
    select citizen_id, 'screened' as rule, 1 as priority
    from screened_by_labs
    where $screened_days > 0
    union all
    select citizen_id, 'inpatient' as rule, 2 as priority
    from inpatients
    where $exclude_inpatients
),

final as (
    select citizen_id, arg_min(rule, priority) as exclusion
    from flags
    group by citizen_id
)

select * from final
