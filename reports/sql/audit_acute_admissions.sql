-- Per scored citizen: acute admissions with a diabetes primary diagnosis.
-- Grain: citizen_id (one model_uri x as_of_date: the cohort that model ranked).
-- Point in time: admissions starting in [$as_of_date - $lookback_days, $as_of_date).
with

scores as (
    select citizen_id, as_of_date from scoring.scores
    where model_uri = $model_uri and as_of_date = $as_of_date
),

acute as (
    select a.citizen_id, count(*) as n_acute
    from raw.hospital_contacts as a
    inner join scores as s on s.citizen_id = a.citizen_id
    where a.contact_type = 'acute_admission'
        and regexp_matches(a.primary_diagnosis, '^DE1[016]')
        and a.start_date >= s.as_of_date - cast($lookback_days as integer)
        and a.start_date < s.as_of_date
    group by a.citizen_id
),

final as (
    select
        scores.citizen_id,
        coalesce(acute.n_acute, 0) as n_acute_diabetes_admissions
    from scores
    left join acute on acute.citizen_id = scores.citizen_id
)

select * from final
