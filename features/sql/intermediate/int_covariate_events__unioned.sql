-- Dated events of the broad covariate groups: drug classes, diagnoses, contacts.
-- Grain: one row per event (citizen_id, event_date, family, code), every citizen.
-- Point in time: none here; marts.broad_covariates keeps dates before as_of_date.
with

redemptions as (
    -- Dated by redemption: a prescription not (yet) redeemed is no event.
    select citizen_id, redeemed_date as event_date, upper(atc_code) as atc
    from staging.stg_prescriptions
    where redeemed_date is not null
),

diagnoses as (
    select citizen_id, diagnosis_date as event_date, code_system, code, source
    from staging.stg_diagnoses
),

contacts as (
    select citizen_id, start_date as event_date, contact_type, primary_diagnosis
    from staging.stg_hospital_contacts
),

final as (
    select citizen_id, event_date, 'atc3' as family, left(atc, 4) as code
    from redemptions
    where length(atc) >= 4
    union all
    select citizen_id, event_date, 'atc4' as family, left(atc, 5) as code
    from redemptions
    where length(atc) >= 5
    union all
    -- ICD-10 category: D + letter + two digits; one event per day.
    select distinct
        citizen_id, event_date, 'sks' as family, left(code, 4) as code
    from diagnoses
    where code_system = 'SKS' and regexp_matches(code, '^D[A-Z][0-9]{2}')
    union all
    select distinct
        citizen_id, event_date, 'icpc' as family, left(code, 1) as code
    from diagnoses
    where code_system = 'ICPC2' and regexp_matches(code, '^[A-Z]')
    union all
    select citizen_id, event_date, 'contact' as family, contact_type as code
    from contacts
    where contact_type is not null
    union all
    select
        citizen_id, event_date, 'diabetes_admission' as family,
        'DE10-DE14' as code
    from contacts
    where contact_type = 'acute_admission'
        and left(primary_diagnosis, 4) in ('DE10', 'DE11', 'DE13', 'DE14')
    union all
    -- Psychiatric contact days: hospital contacts for DF*, diagnoses by psychiatry.
    select distinct
        citizen_id, event_date, 'psychiatric' as family, 'DF' as code
    from (
        select citizen_id, event_date from contacts
        where prefix(primary_diagnosis, 'DF')
        union all
        select citizen_id, event_date from diagnoses
        where source = 'psychiatry'
    ) as psychiatric
)

select * from final
