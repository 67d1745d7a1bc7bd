-- Dated events of the broad covariate groups: drug classes, diagnoses, contacts.
-- Grain: citizen_id x covariate_key (the group's event dates as one ascending list).
-- Point in time: none here; marts.broad_covariates keeps dates before as_of_date.
with

-- Only citizens who may be in a model cohort at some date (a diabetes inclusion
-- event or an SMI onset): a superset of has_diabetes or has_smi, far fewer rows.
candidates as (
    select citizen_id from intermediate.int_diabetes_events__unioned
    union
    select citizen_id from intermediate.int_conditions__dated
    where smi_onset_date is not null
),

redemptions as (
    -- Dated by redemption: a prescription not (yet) redeemed is no event.
    select citizen_id, redeemed_date as event_date, upper(atc_code) as atc
    from staging.stg_prescriptions
    semi join candidates using (citizen_id)
    where redeemed_date is not null
),

diagnoses as (
    select citizen_id, diagnosis_date as event_date, code_system, code, source
    from staging.stg_diagnoses semi join candidates using (citizen_id)
),

contacts as (
    select citizen_id, start_date as event_date, contact_type, primary_diagnosis
    from staging.stg_hospital_contacts semi join candidates using (citizen_id)
),

events as (
    select citizen_id, event_date, 'atc3' as family, left(atc, 4) as code
    from redemptions where length(atc) >= 4
    union all
    select citizen_id, event_date, 'atc4', left(atc, 5)
    from redemptions where length(atc) >= 5
    union all
    -- ICD-10 category: D + letter + two digits; one event per day.
    select distinct citizen_id, event_date, 'sks', left(code, 4)
    from diagnoses
    where code_system = 'SKS' and regexp_matches(code, '^D[A-Z][0-9]{2}')
    union all
    select distinct citizen_id, event_date, 'icpc', left(code, 1)
    from diagnoses where code_system = 'ICPC2' and regexp_matches(code, '^[A-Z]')
    union all
    select citizen_id, event_date, 'contact', contact_type
    from contacts where contact_type is not null
    union all
    select citizen_id, event_date, 'diabetes_admission', 'DE10-DE14'
    from contacts
    where contact_type = 'acute_admission'
        and left(primary_diagnosis, 4) in ('DE10', 'DE11', 'DE13', 'DE14')
    union all
    -- Psychiatric contact days: hospital contacts for DF*, diagnoses by psychiatry.
    select distinct citizen_id, event_date, 'psychiatric', 'DF'
    from (
        select citizen_id, event_date from contacts
        where prefix(primary_diagnosis, 'DF')
        union all
        select citizen_id, event_date from diagnoses where source = 'psychiatry'
    )
),

final as (
    select
        citizen_id,
        family,
        code,
        covariate_key(family, code) as covariate_key,
        family in ('sks', 'icpc', 'diabetes_admission') as has_ever,
        list(event_date order by event_date) as event_dates
    from events
    where event_date is not null
    group by all
)

select * from final
