-- Use of acute hospital care and of the GP in the 365 days before as_of_date.
-- Grain: citizen_id x as_of_date (every spine row).
-- Point in time: contacts starting before as_of_date only (timelines.tl_utilization).
select citizen_id, unnest(columns(* exclude (citizen_id)))
from timelines.tl_utilization
