-- Recorded crimes and anti-social behaviour incidents per area, month and crime type. The area
-- is the local authority of the incident's ward (ref_wards). Every area and all 14 police.uk
-- crime types appear for each month computed, with 0 when none was recorded.
-- Incremental by month: a run recomputes the months holding incidents processed by
-- stg_police__crimes since the last run, the months they moved out of, and any month whose
-- stored total no longer matches staging.
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='month',
    on_schema_change='fail'
) }}

with crimes as (
    select * from {{ ref('stg_police__crimes') }}
),

located as (  -- crimes in a ward of ref_wards, the ones the areas' counts hold
    select crimes.month from crimes
    semi join {{ ref('ref_wards') }} as wards on wards.ward_code = crimes.ward_code
),

months as (
    select month from crimes where {{ processed_since_last_run() }}
    {% if is_incremental() %}
    union
    select previous_month from crimes
    where {{ processed_since_last_run() }} and previous_month is not null
    union
    -- reconciliation: months whose stored total no longer matches staging (a record withdrawn
    -- by a re-issued extract leaves no processed row behind); one scan of the month column
    select month from (
        {{ monthly_count_drift('located', this, 'month') }}
    )
    {% endif %}
),

counted as (
    select
        wards.la_code,
        crimes.month,
        crimes.crime_type,
        count(*) as incidents,
        max(crimes.processed_at) as processed_at
    from crimes
    inner join {{ ref('ref_wards') }} as wards on wards.ward_code = crimes.ward_code
    where crimes.month in (select month from months)
    group by wards.la_code, crimes.month, crimes.crime_type
),

grid as (
    select areas.la_code, months.month, types.crime_type
    from {{ ref('ref_areas') }} as areas
    cross join (select distinct month from months) as months
    cross join (
        select unnest({{ crime_types() }}) as crime_type
    ) as types
)

select
    grid.la_code,
    grid.month,
    grid.crime_type,
    cast(coalesce(counted.incidents, 0) as integer) as incidents,
    counted.processed_at
from grid
left join counted
    on counted.la_code = grid.la_code
    and counted.month = grid.month
    and counted.crime_type = grid.crime_type
