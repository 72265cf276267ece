-- Fire incidents counted per area, month, ward, incident type, property category and motive
-- (deliberate or not), with fatalities, injuries and rescues: the small cube every fire mart is
-- computed from. Area-months with no incident at all get one row with incidents = 0.
-- Incremental by month: a run recomputes the months holding incidents processed by
-- stg_fire__incidents since the last run, the months they moved out of, and any month whose
-- stored total no longer matches staging.
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='month',
    on_schema_change='fail'
) }}

with incidents as (
    select * from {{ ref('stg_fire__incidents') }}
),

months as (
    select month from incidents where {{ processed_since_last_run() }}
    {% if is_incremental() %}
    union
    select previous_month from incidents
    where {{ processed_since_last_run() }} and previous_month is not null
    union
    -- reconciliation: months whose stored total no longer matches staging (a record withdrawn
    -- by a re-issued extract leaves no processed row behind); one scan of the month column
    select month from (
        {{ monthly_count_drift('incidents', this, 'month') }}
    )
    {% endif %}
),

counted as (
    select
        la_code,
        month,
        ward_code,
        min(ward_name) as ward_name,
        incident_type,
        property_category,
        is_deliberate,
        count(*) as incidents,
        sum(fatalities) as fatalities,
        sum(casualties) as casualties,
        sum(rescues) as rescues,
        max(processed_at) as processed_at
    from incidents
    where month in (select months.month from months)
    group by la_code, month, ward_code, incident_type, property_category, is_deliberate
),

empty_area_months as (
    select areas.la_code, months.month
    from {{ ref('ref_areas') }} as areas
    cross join (select distinct month from months) as months
    where not exists (
        select 1 from counted where counted.la_code = areas.la_code and counted.month = months.month
    )
)

select
    la_code, month, ward_code, ward_name, incident_type, property_category, is_deliberate,
    cast(incidents as integer) as incidents,
    cast(fatalities as integer) as fatalities,
    cast(casualties as integer) as casualties,
    cast(rescues as integer) as rescues,
    processed_at
from counted
union all
select
    la_code, month, null, null, null, null, null,
    0, 0, 0, 0, cast(null as timestamp)
from empty_area_months
