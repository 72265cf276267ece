-- data.police.uk street-level records, every row of every current download: a Crime ID is not a
-- row key (blank for anti-social behaviour; the same crime may appear twice with other
-- locations or outcomes; police.uk even publishes identical rows twice), so no row is merged.
-- A later download of the same force and month replaces the earlier one in raw; here too.
-- Incremental by download (macros/incremental_versions.sql); a full refresh gives the same rows.
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['extract_date', 'stream'],
    on_schema_change='fail',
    post_hook="{{ delete_withdrawn_downloads(source('police', 'street')) }}"
) }}

with downloads as (
    {{ incremental_changed_downloads(source('police', 'street')) }}
)

select
    downloads._stream || '/' || strftime(downloads._extract_date, '%Y-%m-%d') || '/'
        || left(downloads._content_hash, 12) || '/' || downloads._row_number as street_record_id,
    downloads.crime_id,
    downloads.month,
    downloads.crime_type,
    downloads.crime_type = 'Anti-social behaviour' as is_anti_social_behaviour,
    downloads.last_outcome_category,
    downloads.context,
    downloads.reported_by,
    downloads.falls_within as force_area,
    downloads.lsoa_code,
    downloads.lsoa_name,
    downloads.location,
    downloads.longitude,
    downloads.latitude,
    downloads._stream as stream,
    {{ version_lineage('downloads') }},
    {{ run_timestamp() }} as processed_at
from downloads
