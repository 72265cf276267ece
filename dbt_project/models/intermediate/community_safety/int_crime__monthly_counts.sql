-- Recorded crimes and anti-social behaviour incidents per area, month and crime type, from both
-- police sources as int_crime__records_attributed counts them (the area of the record's ward,
-- else the one named in its LSOA name; a force's partner extract wins over its police.uk rows
-- for the months it covers). Every area and all 14 police.uk crime types appear for each month
-- computed, with 0 when none was recorded.
-- Incremental by month: a run recomputes the months holding records int_crime__records_attributed
-- placed since the last run (new or changed records, police.uk rows whose month the partner
-- extract started or stopped covering), the months they moved out of, and any month whose
-- stored total no longer matches the records counted now (a record withdrawn).
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='month',
    on_schema_change='fail'
) }}

with records as (
    select * from {{ ref('int_crime__records_attributed') }}
),

counted_records as (  -- the records the areas' counts hold
    select la_code, month, crime_type, processed_at from records
    where is_counted and la_code is not null
),

months as (
    select month from records where {{ processed_since_last_run() }}
    {% if is_incremental() %}
    union
    select previous_month from records
    where {{ processed_since_last_run() }} and previous_month is not null
    union
    -- reconciliation: months whose stored total no longer matches (a record withdrawn by a
    -- re-issued extract leaves no processed row behind); one pass over the counted records
    select month from (
        {{ monthly_count_drift('counted_records', this, 'month') }}
    )
    {% endif %}
),

counted as (
    select
        la_code,
        month,
        crime_type,
        count(*) as incidents,
        max(processed_at) as processed_at
    from counted_records
    where month in (select months.month from months)
    group by la_code, month, crime_type
),

grid as (
    select areas.la_code, months.month, types.crime_type
    from {{ ref('ref_areas') }} as areas
    cross join (select distinct month from months) as months
    cross join (
        select unnest({{ code_list('crime_type') }}) as crime_type
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
