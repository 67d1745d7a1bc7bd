-- Metabolic monitoring before as_of_date: lipid tests, antipsychotics without checks.
-- Grain: citizen_id x as_of_date (every spine row).
-- Point in time: samples and redemptions before as_of_date (timelines.tl_metabolic).
select citizen_id, unnest(columns(* exclude (citizen_id)))
from timelines.tl_metabolic
