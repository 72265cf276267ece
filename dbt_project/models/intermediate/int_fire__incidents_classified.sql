-- Fire incidents with the district performance report's classifications and unit cost.
-- Fires are primary, secondary and chimney fires; a 'Not known' motive counts as accidental.
-- Accidental dwelling fires are accidental primary fires in dwellings (national convention).
select
    i.*,
    i.incident_type in ('Primary fire', 'Secondary fire', 'Chimney fire') as is_fire,
    i.accidental_or_deliberate = 'Deliberate' as is_deliberate,
    i.incident_type = 'Primary fire'
        and i.property_category = 'Dwelling'
        and coalesce(i.accidental_or_deliberate, 'Not known') <> 'Deliberate' as is_accidental_dwelling_fire,
    c.cost_category,
    c.unit_cost_gbp
from {{ ref('stg_fire__incidents') }} as i
left join {{ ref('ref_fire_unit_costs') }} as c
    on c.incident_type = i.incident_type
    and c.property_category = i.property_category
    and i.accidental_or_deliberate = 'Deliberate'
