-- School census attendance, one row per pupil, school and term: the latest delivered version.
-- Incremental like stg_fire__incidents (macros/incremental_versions.sql).
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['pupil_pseudonym', 'school_urn', 'academic_year_code', 'term'],
    on_schema_change='fail',
    post_hook="{{ delete_withdrawn_versions(source('education', 'attendance')) }}"
) }}

{% set keys = ['upn_pseudonym', 'school_urn', 'academic_year', 'term'] %}
{% set target_keys = ['pupil_pseudonym', 'school_urn', 'academic_year_code', 'term'] %}

with latest as (
    {{ incremental_latest_version(source('education', 'attendance'), keys, target_keys) }}
)

select
    latest.upn_pseudonym as pupil_pseudonym,
    latest.birth_month,
    latest.la_code,
    latest.school_urn,
    latest.academic_year as academic_year_code,
    substr(latest.academic_year, 1, 4) || '/' || substr(latest.academic_year, 5, 2) as academic_year,
    latest.term,
    case latest.term when 'Autumn' then 1 when 'Spring' then 2 when 'Summer' then 3 end as term_number,
    latest.ncy as national_curriculum_year,
    latest.sessions_possible,
    latest.sessions_authorised,
    latest.sessions_unauthorised,
    latest.sessions_authorised + latest.sessions_unauthorised as sessions_missed,
    latest.sen_provision,
    {{ version_lineage('latest') }},
    {{ run_timestamp() }} as processed_at
from latest
{{ only_changed_versions('latest', keys, target_keys) }}
