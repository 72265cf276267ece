-- One row per area and month from the first to the last month with any fire or crime data, so
-- marts show months without incidents as zeros rather than leaving them out.
with bounds as (
    select min(month) as first_month, max(month) as last_month
    from (
        select month from {{ ref('stg_fire__incidents') }}
    )
)

select a.la_code, a.la_name, cast(m.month as date) as month
from {{ ref('ref_areas') }} as a
cross join bounds
cross join generate_series(bounds.first_month, bounds.last_month, interval 1 month) as m(month)
