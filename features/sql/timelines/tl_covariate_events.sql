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

events as (
    select e.*
    from intermediate.int_covariate_events__unioned as e
    semi join candidates using (citizen_id)
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
