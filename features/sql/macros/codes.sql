-- Shared macros: code lists (ATC drug groups, diagnoses, lab tests).
-- Grain: none (scalar predicates over one code).
-- Point in time: none; callers date the events the codes belong to.
-- The linter gives a macro's body no indent level; ours hang one level in:
-- sqlfluff:exclude_rules:LT02

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


-- Any psychiatric diagnosis: SKS chapter F, ICPC-2 P70-P99.
create or replace macro is_psychiatric_diagnosis(code_system, code) as
    (code_system = 'SKS' and prefix(code, 'DF'))
    or (code_system = 'ICPC2' and left(code, 3) between 'P70' and 'P99');
