-- Every broad covariate the extract can give: family, code, window, plain reasons.
-- Grain: covariate_id (names from features/sql/seeds; never a raw code in a reason).
-- Point in time: none; the vocabulary of the whole extract (values live elsewhere).
with

groups as (
    select distinct family, code, covariate_key, '' as unit
    from timelines.tl_covariate_events
    union all
    select distinct
        'lab' as family, npu_code as code, covariate_key,
        coalesce(unit, '') as unit
    from timelines.tl_covariate_labs
),

atc as (select * from seeds.atc_names),

named as (
    -- The group's own name, else its family's fallback (ATC level 1, ICD-10
    -- chapter, ...): a reason never shows a raw code.
    select
        g.*,
        coalesce(
            a4.name_da, a3.name_da, a1.name_da,
            d.name_da, ch.name_da, ct.name_da,
            lab.name_da, case g.family when 'lab' then 'en laboratorieanalyse'
                when 'contact' then 'hospitalskontakter' else 'andre problemer'
            end
        ) as name_da,
        coalesce(
            a4.name_en, a3.name_en, a1.name_en,
            d.name_en, ch.name_en, ct.name_en,
            lab.name_en, case g.family when 'lab' then 'a laboratory analysis'
                when 'contact' then 'hospital contacts' else 'other problems'
            end
        ) as name_en
    from groups as g
    left join atc as a4
        on g.family = 'atc4' and a4.level = '4' and a4.code = g.code
    left join atc as a3
        on g.family in ('atc3', 'atc4') and a3.level = '3'
            and a3.code = left(g.code, 4)
    left join atc as a1
        on g.family in ('atc3', 'atc4') and a1.level = '1'
            and a1.code = left(g.code, 1)
    left join seeds.diagnosis_names as d
        on d.system
            = case g.family when 'sks' then 'SKS' when 'icpc' then 'ICPC2' end
            and d.code = g.code
    left join seeds.icd10_chapters as ch
        on g.family = 'sks'
            and substr(g.code, 2, 3) between ch.first and ch.last
    left join seeds.contact_types as ct
        on g.family = 'contact' and ct.contact_type = g.code
    left join seeds.lab_names as lab
        on g.family = 'lab' and lab.npu_code = g.code
),

final as (
    select
        n.covariate_key || f.suffix as covariate_id,
        n.family,
        n.code,
        f."window",
        replace(replace(f.description, '{name}', n.name_en), '{code}', n.code)
            as description,
        replace(replace(f.reason_da, '{name}', n.name_da), '{unit}', n.unit)
            as reason_da,
        replace(replace(f.reason_en, '{name}', n.name_en), '{unit}', n.unit)
            as reason_en,
        replace(f.reason_missing_da, '{name}', n.name_da) as reason_missing_da,
        replace(f.reason_missing_en, '{name}', n.name_en) as reason_missing_en,
        replace(f.unit, '{unit}', n.unit) as unit,
        cast(f.absent_value as double) as absent_value,
        f.source_table
    from named as n
    inner join seeds.broad_families as f on f.family = n.family
)

select * from final
