-- Fire incidents: the latest delivered version of each INCIDENT_ID, typed and classified.
-- Incremental: a night re-derives only the incidents delivered (or withdrawn) since the last run
-- (macros/incremental_versions.sql); a full refresh gives the same table.
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='incident_id',
    on_schema_change='fail',
    post_hook="{{ delete_withdrawn_versions(source('fire', 'incidents')) }}"
) }}

with latest as (
    {{ incremental_latest_version(source('fire', 'incidents'), ['incident_id']) }}
)

select
    latest.incident_id,
    latest.call_datetime,
    cast(date_trunc('month', latest.call_datetime) as date) as month,
    latest.frs_name as fire_service_name,
    latest.la_code,
    latest.ward_code,
    latest.ward_name,
    latest.lsoa_code,
    latest.incident_type,
    latest.property_category,
    latest.accidental_or_deliberate,
    latest.incident_type in {{ fire_incident_types() }} as is_fire,
    coalesce(latest.accidental_or_deliberate = 'Deliberate', false) as is_deliberate,
    latest.fatalities,
    latest.casualties,
    latest.rescues,
    {{ version_lineage('latest') }},
    cast({{ previous_value('month') }} as date) as previous_month,
    {{ run_timestamp() }} as processed_at
from latest
{{ only_changed_versions('latest', ['incident_id']) }}
