-- Shared macros: a code's condition, complication and covariate group.
-- Grain: none (scalar macros over one code).
-- Point in time: none; callers date the events the codes belong to.
-- The linter gives a macro's body no indent level; ours hang one level in:
-- sqlfluff:exclude_rules:LT02

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


-- Late diabetes complication groups (SKS DE10-DE14 with fourth character 2-6,
-- DH360 diabetic retinopathy, DL97 diabetic foot ulcer); NULL for other codes.
-- The outcome diabetes_harm_365d counts a group as new with this same macro.
create or replace macro complication_group(code_system, code) as
    case
        when code_system <> 'SKS' then null
        when
            left(code, 4) between 'DE10' and 'DE14'
            then case substr(code, 5, 1)
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
        when
            'lab'
            then case when prefix(upper(code), 'NPU') then '' else 'lab_' end
    end
    || case
        when family in ('diabetes_admission', 'psychiatric') then ''
        else regexp_replace(lower(code), '[^a-z0-9]+', '_', 'g')
    end;
