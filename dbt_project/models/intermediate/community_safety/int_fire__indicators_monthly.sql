-- The district performance report's fire indicators per area and month, for every month from
-- the first to the last month with fire data (0 when nothing happened):
--   fires = primary + secondary + chimney fires; 'Not known' (or blank) motive counts as
--   accidental; an accidental dwelling fire is an accidental primary fire in a dwelling
--   (national convention: chimney fires are a separate class); fatalities and injuries are
--   those at accidental dwelling fires.
with cube as (
    select
        *,
        incident_type in {{ fire_incident_types() }} as is_fire,
        incident_type = 'Primary fire' and property_category = 'Dwelling' and not is_deliberate
            as is_accidental_dwelling_fire
    from {{ ref('int_fire__incidents_monthly') }}
),

calendar as (
    {{ fire_area_months('cube') }}
),

monthly as (
    select
        la_code,
        month,
        sum(incidents) filter (where is_fire) as total_fires,
        sum(incidents) filter (where is_fire and is_deliberate) as total_deliberate_fires,
        sum(incidents) filter (where incident_type = 'Primary fire' and is_deliberate)
            as deliberate_primary_fires,
        sum(incidents) filter (where incident_type = 'Secondary fire' and is_deliberate)
            as deliberate_secondary_fires,
        sum(incidents) filter (where is_accidental_dwelling_fire) as accidental_dwelling_fires,
        sum(fatalities) filter (where is_accidental_dwelling_fire)
            as accidental_dwelling_fire_fatalities,
        sum(casualties) filter (where is_accidental_dwelling_fire)
            as accidental_dwelling_fire_injuries
    from cube
    group by la_code, month
)

select
    calendar.la_code,
    calendar.month,
    indicators.sort_order,
    indicators.indicator,
    cast(indicators.value as integer) as value
from calendar
left join monthly
    on monthly.la_code = calendar.la_code and monthly.month = calendar.month
-- lateral: `monthly` is the outer row (sqlfluff's RF03 reads the values list as a single table)
cross join lateral (
    select * from (values
        (1, 'Total Fires', coalesce(monthly.total_fires, 0)),  -- noqa: RF03
        (2, 'Total Deliberate Fires', coalesce(monthly.total_deliberate_fires, 0)),
        (3, 'Deliberate Primary Fires', coalesce(monthly.deliberate_primary_fires, 0)),
        (4, 'Deliberate Secondary Fires', coalesce(monthly.deliberate_secondary_fires, 0)),
        (5, 'Accidental Dwelling Fires', coalesce(monthly.accidental_dwelling_fires, 0)),
        (6, 'Accidental Dwelling Fire Fatalities', coalesce(monthly.accidental_dwelling_fire_fatalities, 0)),
        (7, 'Accidental Dwelling Fire Injuries', coalesce(monthly.accidental_dwelling_fire_injuries, 0))
    ) as v (sort_order, indicator, value)
) as indicators
