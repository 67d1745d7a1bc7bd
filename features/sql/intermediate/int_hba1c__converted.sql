-- HbA1c samples in IFCC mmol/mol, one value per citizen and sample date.
-- Grain: citizen_id x sample_date.
-- Point in time: none here; feature views keep sample_date < as_of_date.
with

lab_results as (

    select * from staging.stg_lab_results

),

converted as (

    select
        citizen_id,
        sample_date,
        hba1c_mmol_mol(npu_code, value) as hba1c_mmol_mol

    from lab_results
    where npu_code in ('NPU27300', 'NPU03835')

),

final as (

    -- OSDC de-duplicates samples taken on the same date; keep the highest.
    select
        citizen_id,
        sample_date,
        max(hba1c_mmol_mol) as hba1c_mmol_mol

    from converted
    group by citizen_id, sample_date

)

select * from final
