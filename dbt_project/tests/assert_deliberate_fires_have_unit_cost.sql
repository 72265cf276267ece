-- Every deliberate fire must have a unit cost in ref_fire_unit_costs (an exact incident type and
-- property category row, or the incident type's default row), or the economic cost is understated.
select cube.la_code, cube.month, cube.incident_type, cube.property_category, cube.incidents
from {{ ref('int_fire__incidents_monthly') }} as cube
where cube.is_deliberate
  and cube.incident_type in {{ fire_incident_types() }}
  and not exists (
      select 1 from {{ ref('ref_fire_unit_costs') }} as c
      where c.incident_type = cube.incident_type
        and (c.property_category = cube.property_category or c.property_category is null)
  )
