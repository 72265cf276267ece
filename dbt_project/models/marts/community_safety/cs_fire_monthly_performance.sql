-- The fire brigade's district monthly performance table: each indicator per area and month with
-- the same month a year earlier, the percent change and the direction of travel.
with indicators as (
    select * from {{ ref('int_fire__indicators_monthly') }}
)

select
    cur.la_code,
    areas.la_name,
    cur.month,
    cur.indicator,
    cur.sort_order,
    cur.value,
    prev.value as value_previous_year,
    {{ pct_change('cur.value', 'prev.value') }} as pct_change,
    {{ direction('cur.value', 'prev.value') }} as direction
from indicators as cur
inner join {{ ref('ref_areas') }} as areas on areas.la_code = cur.la_code
left join indicators as prev
    on prev.la_code = cur.la_code
    and prev.indicator = cur.indicator
    and prev.month = cast(cur.month - interval 12 month as date)
