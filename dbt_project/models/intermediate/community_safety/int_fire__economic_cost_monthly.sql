-- Economic cost of deliberate fires per area, month and cost category: each deliberate fire
-- costs the unit cost of its incident type and property category (ref_fire_unit_costs; a row
-- with a blank property category is the default for its incident type). Every area and month
-- from the first to the last month with fire data, with 0 when there was no deliberate fire.
with deliberate as (
    select la_code, month, incident_type, property_category, sum(incidents) as fires
    from {{ ref('int_fire__incidents_monthly') }}
    where is_deliberate and incident_type in {{ fire_incident_types() }}
    group by la_code, month, incident_type, property_category
),

costed as (
    select
        deliberate.la_code,
        deliberate.month,
        coalesce(exact.cost_category, fallback.cost_category) as cost_category,
        deliberate.fires,
        deliberate.fires * coalesce(exact.unit_cost_gbp, fallback.unit_cost_gbp) as cost_gbp
    from deliberate
    left join {{ ref('ref_fire_unit_costs') }} as exact
        on exact.incident_type = deliberate.incident_type
        and exact.property_category = deliberate.property_category
    left join {{ ref('ref_fire_unit_costs') }} as fallback
        on fallback.incident_type = deliberate.incident_type
        and fallback.property_category is null
),

calendar as (
    {{ fire_area_months(ref('int_fire__incidents_monthly')) }}
),

categories as (
    select * from (values
        (1, 'Buildings & Vehicles'),
        (2, 'All others fires not involving Buildings or Vehicles'),
        (3, 'Total')
    ) as c (sort_order, cost_category)
)

select
    calendar.la_code,
    calendar.month,
    categories.sort_order,
    categories.cost_category,
    cast(coalesce(sum(costed.fires), 0) as integer) as deliberate_fires,
    cast(coalesce(sum(costed.cost_gbp), 0) as bigint) as cost_gbp
from calendar
cross join categories
left join costed
    on costed.la_code = calendar.la_code
    and costed.month = calendar.month
    and (categories.cost_category = 'Total' or costed.cost_category = categories.cost_category)
group by calendar.la_code, calendar.month, categories.sort_order, categories.cost_category
