-- Who the citizen is at as_of_date: age, sex, living situation, GP, language.
-- Grain: citizen_id x as_of_date (every spine row).
-- Point in time: age and residence from dates before as_of_date; rest snapshot.
with

spine as (

    select citizen_id, as_of_date from main.spine

),

citizens as (

    select * from staging.stg_citizens

),

final as (

    select
        spine.citizen_id,
        spine.as_of_date,

        ---------- cohort
        citizens.birth_date < spine.as_of_date
        and coalesce(citizens.death_date >= spine.as_of_date, true)
        and coalesce(citizens.emigration_date >= spine.as_of_date, true)
            as is_alive_resident,

        ---------- features
        case
            when citizens.birth_date < spine.as_of_date
                then age_years(citizens.birth_date, spine.as_of_date)
        end as age_years,
        citizens.sex = 'F' as is_female,
        citizens.living_situation,
        citizens.gp_clinic_id is null as has_no_gp,
        coalesce(citizens.preferred_language <> 'da', false)
            as is_language_not_danish

    from spine
    left join citizens on citizens.citizen_id = spine.citizen_id

)

select * from final
