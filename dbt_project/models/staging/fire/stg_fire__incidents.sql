-- Fire incidents, the latest delivered version of each incident.
with latest as (
    {{ latest_version(source('fire', 'incidents'), ['incident_id']) }}
)

select
    incident_id,
    call_datetime,
    cast(date_trunc('month', call_datetime) as date) as month,
    la_code,
    ward_code,
    ward_name,
    lsoa_code,
    incident_type,
    property_category,
    accidental_or_deliberate,
    fatalities,
    casualties,
    rescues,
    _extract_date as extract_date,
    _source_file as source_file
from latest
