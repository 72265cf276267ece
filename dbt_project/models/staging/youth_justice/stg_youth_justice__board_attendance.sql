-- Management board attendance, one row per meeting, area and partner (the latest version).
with latest as (
    {{ latest_version(source('youth_justice', 'board_attendance'), ['meeting_date', 'la_code', 'partner']) }}
)

select
    meeting_date,
    cast(date_trunc('quarter', meeting_date) as date) as quarter,
    la_code,
    partner,
    senior_attended,
    _extract_date as extract_date,
    _source_file as source_file
from latest
