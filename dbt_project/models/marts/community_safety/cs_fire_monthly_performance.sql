-- The district monthly performance table: each indicator per area and month with the same month
-- a year earlier, the percent change and the direction of travel.
with incidents as (
    select * from {{ ref('int_fire__incidents_classified') }}
),

monthly as (
    select
        la_code,
        month,
        count(*) filter (where is_fire) as total_fires,
        count(*) filter (where is_fire and is_deliberate) as total_deliberate_fires,
        count(*) filter (where is_deliberate and incident_type = 'Primary fire') as deliberate_primary_fires,
        count(*) filter (where is_deliberate and incident_type = 'Secondary fire') as deliberate_secondary_fires,
        count(*) filter (where is_accidental_dwelling_fire) as accidental_dwelling_fires,
        coalesce(sum(fatalities) filter (where is_accidental_dwelling_fire), 0) as accidental_dwelling_fire_fatalities,
        coalesce(sum(casualties) filter (where is_accidental_dwelling_fire), 0) as accidental_dwelling_fire_injuries
    from incidents
    group by la_code, month
),

indicators as (
    select
        cal.la_code,
        cal.la_name,
        cal.month,
        unnested.indicator,
        unnested.sort_order,
        unnested.value
    from {{ ref('int_calendar__area_months') }} as cal
    left join monthly as m using (la_code, month)
    cross join lateral (
        select * from (values
            (1, 'Total Fires', coalesce(m.total_fires, 0)),
            (2, 'Total Deliberate Fires', coalesce(m.total_deliberate_fires, 0)),
            (3, 'Deliberate Primary Fires', coalesce(m.deliberate_primary_fires, 0)),
            (4, 'Deliberate Secondary Fires', coalesce(m.deliberate_secondary_fires, 0)),
            (5, 'Accidental Dwelling Fires', coalesce(m.accidental_dwelling_fires, 0)),
            (6, 'Accidental Dwelling Fire Fatalities', coalesce(m.accidental_dwelling_fire_fatalities, 0)),
            (7, 'Accidental Dwelling Fire Injuries', coalesce(m.accidental_dwelling_fire_injuries, 0))
        ) as v(sort_order, indicator, value)
    ) as unnested
)

select
    cur.la_code,
    cur.la_name,
    cur.month,
    cur.indicator,
    cur.sort_order,
    cast(cur.value as integer) as value,
    cast(prev.value as integer) as value_previous_year,
    {{ pct_change('cur.value', 'prev.value') }} as pct_change,
    {{ direction('cur.value', 'prev.value') }} as direction
from indicators as cur
left join indicators as prev
    on prev.la_code = cur.la_code
    and prev.indicator = cur.indicator
    and prev.month = cur.month - interval 12 month
