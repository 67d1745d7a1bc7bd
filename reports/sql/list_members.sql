-- Who is on one list: the selection the weekly audit compares with the cohort.
-- Grain: citizen_id.
-- Point in time: the list as stored in outreach.lists.
with

lists as (select list_id, citizen_id from outreach.lists),

final as (

    select distinct citizen_id
    from lists
    where list_id = $list_id

)

select * from final
