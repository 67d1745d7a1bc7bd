-- OSDC-style diabetes inclusion events: diagnoses, high HbA1c, drugs.
-- Grain: one row per event (citizen_id, event_source, event_date; repeats).
-- Point in time: dated by diagnosis, sample or redemption; used if < as_of.
with

citizens as (select citizen_id, sex, birth_date from staging.stg_citizens),

diagnoses as (select * from staging.stg_diagnoses),

lab_results as (select * from staging.stg_lab_results),

prescriptions as (select * from staging.stg_prescriptions),

diagnosis_events as (
    select
        citizen_id,
        'diagnosis' as event_source,
        diagnosis_date as event_date,
        false as is_insulin,
        cast(null as integer) as days_supply,
        -- Type-specific: primary hospital (SKS) diagnoses or GP codes.
        is_type1_diagnosis(code_system, code)
        and coalesce(diagnosis_type, 'A') = 'A' as is_type1_diagnosis,
        is_type2_diagnosis(code_system, code)
        and coalesce(diagnosis_type, 'A') = 'A' as is_type2_diagnosis

    from diagnoses
    where is_diabetes_diagnosis(code_system, code)
),

hba1c_events as (
    select
        citizen_id,
        'hba1c' as event_source,
        sample_date as event_date,
        false as is_insulin,
        cast(null as integer) as days_supply,
        false as is_type1_diagnosis,
        false as is_type2_diagnosis

    from lab_results
    -- 48 mmol/mol; 6.5 % DCCT converts to 47.5, so compare in its own unit.
    where (npu_code = 'NPU27300' and value >= 48)
        or (npu_code = 'NPU03835' and value >= 6.5)
),

drug_events as (
    select
        prescriptions.citizen_id,
        'glucose_lowering_drug' as event_source,
        prescriptions.redeemed_date as event_date,
        is_insulin(prescriptions.atc_code) as is_insulin,
        prescriptions.days_supply,
        false as is_type1_diagnosis,
        false as is_type2_diagnosis

    from prescriptions
    inner join citizens on citizens.citizen_id = prescriptions.citizen_id
    where prescriptions.redeemed_date is not null
        and is_osdc_glucose_lowering(prescriptions.atc_code)
        -- OSDC: metformin in women under 40 may treat polycystic ovaries.
        and not (
            prescriptions.atc_code = 'A10BA02'
            and citizens.sex = 'F'
            and age_years(citizens.birth_date, prescriptions.redeemed_date) < 40
        )
),

final as (
    select * from diagnosis_events
    union all
    select * from hba1c_events
    union all
    select * from drug_events
)

select * from final
