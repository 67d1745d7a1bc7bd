-- Shared expressions for every feature layer: windows, code lists, units.
-- Grain: none (scalar macros).
-- Point in time: windows end strictly before as_of_date; callers name them.

-- An event dated in the n_days before as_of_date, never on or after it.
create or replace macro within_days(event_date, as_of_date, n_days) as
    event_date < as_of_date and event_date >= as_of_date - n_days;

-- Whole days from an earlier date to as_of_date.
create or replace macro days_between(from_date, to_date) as
    datediff('day', from_date, to_date);

-- Timelines (features/sql/timelines): per citizen, a list of event dates meets the
-- list of the citizen's as-of dates. How many events fall in the n_days before one.
create or replace macro n_within_days(event_dates, as_of_date, n_days) as
    coalesce(
        len(list_filter(event_dates, lambda e: within_days(e, as_of_date, n_days))),
        0
    );

-- The latest of a list of event dates before as_of_date; NULL if none.
create or replace macro last_before(event_dates, as_of_date) as
    list_max(list_filter(event_dates, lambda e: e < as_of_date));

-- The same for each date of a timeline's as_of_dates list: a list as long as it.
create or replace macro n_within_days_each(event_dates, as_of_dates, n_days) as
    list_transform(as_of_dates, lambda d: n_within_days(event_dates, d, n_days));
create or replace macro days_since_each(event_dates, as_of_dates) as
    list_transform(
        as_of_dates, lambda d: days_between(last_before(event_dates, d), d)
    );

-- Least-squares slope of ys on xs (equal-length numeric lists), as regr_slope;
-- NULL when xs do not vary.
create or replace macro list_regr_slope(ys, xs) as
    (
        len(xs) * list_inner_product(xs::double[], ys::double[])
        - list_sum(xs) * list_sum(ys)
    ) / nullif(
        len(xs) * list_inner_product(xs::double[], xs::double[])
        - list_sum(xs) ** 2,
        0
    );

-- Completed years of age on a date.
create or replace macro age_years(birth_date, on_date) as
    cast(date_part('year', age(on_date, birth_date)) as integer);

-- Days of a table's covered history before a date (0 before its coverage starts).
create or replace macro covered_days(coverage_from, on_date) as
    greatest(datediff('day', coverage_from, on_date), 0);

-- HbA1c in IFCC mmol/mol; DCCT % (NPU03835) via IFCC = (DCCT - 2.15) x 10.929.
create or replace macro hba1c_mmol_mol(npu_code, value) as
    case
        when npu_code = 'NPU27300' then value
        when npu_code = 'NPU03835' then (value - 2.15) * 10.929
    end;

-- ATC groups.
create or replace macro is_glucose_lowering(atc) as prefix(atc, 'A10');
create or replace macro is_statin(atc) as
    left(atc, 5) in ('C10AA', 'C10BA', 'C10BX');
create or replace macro is_antihypertensive(atc) as
    left(atc, 3) in ('C02', 'C03', 'C07', 'C08', 'C09');
create or replace macro is_antipsychotic(atc) as
    prefix(atc, 'N05A') and not prefix(atc, 'N05AN');

-- Lipid tests: P-cholesterol and P-cholesterol LDL (NPU codes).
create or replace macro is_lipid_test(npu) as npu in ('NPU01566', 'NPU01568');

-- OSDC inclusion drugs: A10 without GLP-1 analogues (A10BJ), SGLT2 inhibitors
-- (A10BK), insulin/GLP-1 combinations (A10AE54, A10AE56) and the A10BD
-- combinations that contain an SGLT2 inhibitor.
create or replace macro is_osdc_glucose_lowering(atc) as
    prefix(atc, 'A10')
    and left(atc, 5) not in ('A10BJ', 'A10BK')
    and atc not in ('A10AE54', 'A10AE56')
    and atc not in (
        'A10BD15', 'A10BD16', 'A10BD19', 'A10BD20', 'A10BD21',
        'A10BD23', 'A10BD24', 'A10BD25', 'A10BD27', 'A10BD29'
    );
create or replace macro is_insulin(atc) as
    prefix(atc, 'A10A') and atc not in ('A10AE54', 'A10AE56');

-- Diabetes diagnoses: SKS DE10-DE14, ICPC-2 T89 (type 1) and T90 (type 2).
create or replace macro is_diabetes_diagnosis(code_system, code) as
    (code_system = 'SKS' and left(code, 4) between 'DE10' and 'DE14')
    or (code_system = 'ICPC2' and left(code, 3) in ('T89', 'T90'));
create or replace macro is_type1_diagnosis(code_system, code) as
    (code_system = 'SKS' and prefix(code, 'DE10'))
    or (code_system = 'ICPC2' and prefix(code, 'T89'));
create or replace macro is_type2_diagnosis(code_system, code) as
    (code_system = 'SKS' and prefix(code, 'DE11'))
    or (code_system = 'ICPC2' and prefix(code, 'T90'));

-- Pregnancy endings (births, miscarriages, abortions), as in OSDC.
create or replace macro is_pregnancy_ending(code_system, code) as
    (
        code_system = 'SKS'
        and (
            left(code, 4) between 'DO00' and 'DO06'
            or left(code, 4) between 'DO80' and 'DO84'
            or left(code, 4) in ('DZ33', 'DZ37')
        )
    )
    or (
        code_system = 'ICPC2'
        and left(code, 3) in ('W82', 'W83', 'W90', 'W91', 'W92', 'W93')
    );

-- Chronic condition groups; NULL when a code belongs to none. Code ranges
-- compare the leading characters as text ('DI20' <= left(code, 4) <= 'DI25').
create or replace macro condition_group(code_system, code) as
    case
        when code_system = 'SKS' then case
            when left(code, 4) in ('DF20', 'DF25', 'DF31') then 'smi'
            when left(code, 4) = 'DJ44' then 'copd'
            when left(code, 4) between 'DI20' and 'DI25'
                or left(code, 4) between 'DI34' and 'DI37'
                or left(code, 4) in ('DI48', 'DI50')
                then 'heart_disease'
            when left(code, 4) between 'DC00' and 'DC97'
                and left(code, 4) <> 'DC44'
                then 'cancer'
            when left(code, 5) = 'DM545' then 'chronic_back_pain'
        end
        when code_system = 'ICPC2' then case
            when left(code, 3) in ('P72', 'P73') then 'smi'
            when left(code, 3) = 'R95' then 'copd'
            when left(code, 3) between 'K74' and 'K78' or left(code, 3) = 'K83'
                then 'heart_disease'
            when left(code, 3) in (
                'A79', 'B72', 'B73', 'B74', 'D74', 'D75', 'D76', 'D77', 'L71',
                'N74', 'R84', 'R85', 'T71', 'U75', 'U76', 'U77', 'W72', 'X75',
                'X76', 'X77', 'Y77', 'Y78'
            )
                then 'cancer'
            when left(code, 3) in ('L03', 'L86') then 'chronic_back_pain'
        end
    end;

-- Any psychiatric diagnosis: SKS chapter F, ICPC-2 P70-P99.
create or replace macro is_psychiatric_diagnosis(code_system, code) as
    (code_system = 'SKS' and prefix(code, 'DF'))
    or (code_system = 'ICPC2' and left(code, 3) between 'P70' and 'P99');

-- Late diabetes complication groups (SKS DE10-DE14 with fourth character 2-6,
-- DH360 diabetic retinopathy, DL97 diabetic foot ulcer); NULL for other codes.
-- The outcome diabetes_harm_365d counts a group as new with this same macro.
create or replace macro complication_group(code_system, code) as
    case
        when code_system <> 'SKS' then null
        when left(code, 4) between 'DE10' and 'DE14' then case substr(code, 5, 1)
            when '2' then 'kidney'
            when '3' then 'eye'
            when '4' then 'nerve'
            when '5' then 'circulation'
            when '6' then 'foot_other'
        end
        when prefix(code, 'DH360') then 'eye'
        when prefix(code, 'DL97') then 'foot_other'
    end;

-- Broad covariates (marts.broad_covariates): the id stem of a family's code, a
-- safe lower-case identifier whose prefix no curated feature uses.
create or replace macro covariate_key(family, code) as
    case family
        when 'atc3' then 'atc3_'
        when 'atc4' then 'atc4_'
        when 'sks' then 'sks_'
        when 'icpc' then 'icpc_'
        when 'contact' then 'hosp_'
        when 'diabetes_admission' then 'hosp_diabetes_admission'
        when 'psychiatric' then 'psych_contact'
        when 'lab' then case when prefix(upper(code), 'NPU') then '' else 'lab_' end
    end
    || case
        when family in ('diabetes_admission', 'psychiatric') then ''
        else regexp_replace(lower(code), '[^a-z0-9]+', '_', 'g')
    end;
