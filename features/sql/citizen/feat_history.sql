-- Covered history per event table: how far back the extract sees at as_of_date.
-- Grain: citizen_id x as_of_date (every spine row).
-- Point in time: days from the table's coverage start to as_of_date, never negative.
with

spine as (

    select citizen_id, as_of_date from main.spine

),

coverage as (

    select
        max(coverage_from) filter (where table_name = 'diagnoses') as diagnoses,
        max(coverage_from) filter (where table_name = 'prescriptions')
            as prescriptions,
        max(coverage_from) filter (where table_name = 'appointments')
            as appointments,
        max(coverage_from) filter (where table_name = 'lab_results')
            as lab_results,
        max(coverage_from) filter (where table_name = 'hospital_contacts')
            as hospital_contacts
    from staging.stg_coverage

),

final as (

    select
        spine.citizen_id,
        spine.as_of_date,
        covered_days(coverage.diagnoses, spine.as_of_date)
            as history_days_diagnoses,
        covered_days(coverage.prescriptions, spine.as_of_date)
            as history_days_prescriptions,
        covered_days(coverage.appointments, spine.as_of_date)
            as history_days_appointments,
        covered_days(coverage.lab_results, spine.as_of_date)
            as history_days_lab_results,
        covered_days(coverage.hospital_contacts, spine.as_of_date)
            as history_days_hospital_contacts

    from spine
    cross join coverage

)

select * from final
