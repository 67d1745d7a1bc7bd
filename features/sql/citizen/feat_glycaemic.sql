-- HbA1c before as_of_date: last value, days since it, 730-day maximum, trend.
-- Grain: citizen_id x as_of_date (every spine row).
-- Point in time: samples dated before as_of_date only (timelines.tl_glycaemic).
select citizen_id, unnest(columns(* exclude (citizen_id)))
from timelines.tl_glycaemic
