-- The audit frame: each scored citizen's risk, audit attributes and care indicators.
-- Grain: citizen_id (one model_uri x as_of_date: the cohort that model ranked).
-- Point in time: attributes and indicators as of $as_of_date (events before it).
with

scores as (

    select citizen_id, as_of_date, risk_score, risk_rank
    from scoring.scores
    where model_uri = $model_uri and as_of_date = $as_of_date

),

attributes as (select * from marts.audit_attributes),

care as (

    select
        citizen_id,
        as_of_date,
        days_since_eye_screening,
        days_since_diabetes_control,
        days_since_hba1c,
        n_unredeemed_365d
    from marts.scoring_features

),

final as (

    select
        scores.citizen_id,
        scores.risk_score as y_score,
        scores.risk_rank,
        attributes.sex,
        attributes.age_band,
        attributes.education_level,
        attributes.origin,
        attributes.living_situation,
        attributes.municipality_code,
        attributes.has_smi,
        attributes.gp_contact_level,
        coalesce(care.days_since_eye_screening < 365, false)
            as attended_screening_365d,
        coalesce(care.days_since_diabetes_control < 365, false)
            as attended_control_365d,
        coalesce(care.days_since_hba1c < 365, false) as has_hba1c_test_365d,
        coalesce(care.n_unredeemed_365d = 0, true) as redeemed_all_365d
    from scores
    inner join attributes
        on attributes.citizen_id = scores.citizen_id
            and attributes.as_of_date = scores.as_of_date
    left join care
        on care.citizen_id = scores.citizen_id
            and care.as_of_date = scores.as_of_date

)

select * from final
