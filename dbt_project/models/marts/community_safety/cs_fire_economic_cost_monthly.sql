-- Economic cost of deliberate fires per area and month: count x unit cost by cost category.
with costs as (
    select la_code, month, cost_category, sum(unit_cost_gbp) as cost_gbp
    from {{ ref('int_fire__incidents_classified') }}
    where is_fire and is_deliberate
    group by la_code, month, cost_category
),

categories as (
    select * from (values
        (1, 'Buildings & Vehicles'),
        (2, 'All others fires not involving Buildings or Vehicles'),
        (3, 'Total')
    ) as c(sort_order, cost_category)
),

grid as (
    select
        cal.la_code,
        cal.la_name,
        cal.month,
        cat.cost_category,
        cat.sort_order,
        case
            when cat.cost_category = 'Total'
                then coalesce((select sum(c.cost_gbp) from costs as c
                               where c.la_code = cal.la_code and c.month = cal.month), 0)
            else coalesce((select sum(c.cost_gbp) from costs as c
                           where c.la_code = cal.la_code and c.month = cal.month
                             and c.cost_category = cat.cost_category), 0)
        end as cost_gbp
    from {{ ref('int_calendar__area_months') }} as cal
    cross join categories as cat
)

select
    cur.la_code,
    cur.la_name,
    cur.month,
    cur.cost_category,
    cur.sort_order,
    cast(cur.cost_gbp as bigint) as cost_gbp,
    cast(prev.cost_gbp as bigint) as cost_gbp_previous_year,
    {{ pct_change('cur.cost_gbp', 'prev.cost_gbp') }} as pct_change,
    {{ direction('cur.cost_gbp', 'prev.cost_gbp') }} as direction
from grid as cur
left join grid as prev
    on prev.la_code = cur.la_code
    and prev.cost_category = cur.cost_category
    and prev.month = cur.month - interval 12 month
