-- Fires per ward and month, ranked; top5_share_pct is the share of all the area's fires that
-- month in its five wards with most fires (ties broken by ward name). Wards without fires show 0.
with fires as (
    select la_code, month, ward_code, count(*) as fires,
           count(*) filter (where is_deliberate) as deliberate_fires
    from {{ ref('int_fire__incidents_classified') }}
    where is_fire
    group by la_code, month, ward_code
),

grid as (
    select
        cal.la_code,
        cal.la_name,
        cal.month,
        w.ward_code,
        w.ward_name,
        coalesce(f.fires, 0) as fires,
        coalesce(f.deliberate_fires, 0) as deliberate_fires
    from {{ ref('int_calendar__area_months') }} as cal
    inner join {{ ref('ref_wards') }} as w on w.la_code = cal.la_code
    left join fires as f
        on f.la_code = cal.la_code and f.month = cal.month and f.ward_code = w.ward_code
),

ranked as (
    select
        *,
        row_number() over (partition by la_code, month order by fires desc, ward_name) as ward_rank,
        sum(fires) over (partition by la_code, month) as area_fires
    from grid
)

select
    la_code,
    la_name,
    month,
    ward_code,
    ward_name,
    cast(fires as integer) as fires,
    cast(deliberate_fires as integer) as deliberate_fires,
    cast(ward_rank as integer) as ward_rank,
    case when area_fires = 0 then null
         else round(100.0 * sum(fires) filter (where ward_rank <= 5)
                    over (partition by la_code, month) / area_fires, 0)::integer
    end as top5_share_pct
from ranked
