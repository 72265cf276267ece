-- Crimes and anti-social behaviour incidents (police.uk street-level layout): the latest
-- delivered version of each Incident ID (outcomes change over time). Incremental like
-- stg_fire__incidents (macros/incremental_versions.sql).
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='incident_id',
    on_schema_change='fail',
    post_hook="{{ delete_withdrawn_versions(source('police', 'crimes')) }}"
) }}

with latest as (
    {{ incremental_latest_version(source('police', 'crimes'), ['incident_id']) }}
)

select
    latest.incident_id,
    latest.crime_id,
    latest.month,
    latest.recorded_date,
    latest.crime_type,
    latest.crime_type = 'Anti-social behaviour' as is_anti_social_behaviour,
    latest.last_outcome_category,
    latest.context,
    latest.reported_by,
    latest.falls_within as force_area,
    latest.ward_code,
    latest.lsoa_code,
    latest.lsoa_name,
    latest.location,
    latest.longitude,
    latest.latitude,
    {{ version_lineage('latest') }},
    cast({{ previous_value('month') }} as date) as previous_month,
    {{ run_timestamp() }} as processed_at
from latest
{{ only_changed_versions('latest', ['incident_id']) }}
