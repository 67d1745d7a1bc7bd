-- Results of the common laboratory analytes, one list per citizen and analyte.
-- Grain: citizen_id x npu_code (samples as one list in date order).
-- Point in time: none here; marts.broad_covariates keeps samples before as_of_date.
with

-- Only citizens who may be in a model cohort at some date (a diabetes inclusion
-- event or an SMI onset): a superset of has_diabetes or has_smi, far fewer rows.
candidates as (
    select citizen_id from intermediate.int_diabetes_events__unioned
    union
    select citizen_id from intermediate.int_conditions__dated
    where smi_onset_date is not null
),

samples as (
    select
        l.citizen_id, l.sample_date, upper(l.npu_code) as npu_code, l.value,
        l.unit
    from staging.stg_lab_results as l
    semi join candidates using (citizen_id)
    where
        l.value is not null and l.sample_date is not null
        and l.npu_code is not null
),

citizens as (select count(*) as n_citizens from staging.stg_citizens),

common as (
    -- Common: measured for at least 100 citizens (1 % of a smaller extract's).
    select samples.npu_code, mode(samples.unit) as unit
    from samples
    cross join citizens
    group by samples.npu_code, citizens.n_citizens
    having count(distinct samples.citizen_id)
        >= least(100, ceil(0.01 * citizens.n_citizens))
),

final as (
    select
        samples.citizen_id,
        samples.npu_code,
        covariate_key('lab', samples.npu_code) as covariate_key,
        common.unit,
        list(
            { 'sample_date': samples.sample_date, 'value': samples.value }
            order by samples.sample_date, samples.value
        ) as samples
    from samples
    inner join common on common.npu_code = samples.npu_code
    group by all
)

select * from final
