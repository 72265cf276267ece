-- Economic cost of deliberate fires per area and month by cost category (Buildings & Vehicles;
-- All others fires not involving Buildings or Vehicles; Total), with the same month a year
-- earlier, percent change and direction as in the fire performance table.
with costs as (
    select * from {{ ref('int_fire__economic_cost_monthly') }}
)

select
    cur.la_code,
    areas.la_name,
    cur.month,
    cur.cost_category,
    cur.sort_order,
    cur.deliberate_fires,
    cur.cost_gbp,
    prev.cost_gbp as cost_gbp_previous_year,
    {{ pct_change('cur.cost_gbp', 'prev.cost_gbp') }} as pct_change,
    {{ direction('cur.cost_gbp', 'prev.cost_gbp') }} as direction
from costs as cur
inner join {{ ref('ref_areas') }} as areas on areas.la_code = cur.la_code
left join costs as prev
    on prev.la_code = cur.la_code
    and prev.cost_category = cur.cost_category
    and prev.month = cast(cur.month - interval 12 month as date)
