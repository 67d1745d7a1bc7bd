-- Attendance: missed and cancelled appointments, days since attended controls.
-- Grain: citizen_id x as_of_date (every spine row).
-- Point in time: appointments scheduled before as_of_date (timelines.tl_attendance).
select citizen_id, unnest(columns(* exclude (citizen_id)))
from timelines.tl_attendance
