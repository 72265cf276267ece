-- Fires (all motives) and deliberate fires per ward and month, the ward's rank in its area
-- (1 = most fires, ties broken by ward name) and the share of all the area's fires that month
-- in its top five wards (whole percent; NULL in a month without fires). Every ward of the area
-- (ref_wards) appears each month, with 0 when it had no fire; a ward code missing from ref_wards
-- appears under the name the brigade delivered.
with cube as (
    select * from {{ ref('int_fire__incidents_monthly') }}
    where incidents > 0 and incident_type in {{ fire_incident_types() }}
),

calendar as (
    {{ fire_area_months(ref('int_fire__incidents_monthly'), 'areas.la_code, areas.la_name') }}
),

ward_fires as (
    select
        la_code,
        month,
        ward_code,
        min(ward_name) as delivered_ward_name,
        sum(incidents) as fires,
        sum(incidents) filter (where is_deliberate) as deliberate_fires
    from cube
    group by la_code, month, ward_code
),

area_fires as (
    select la_code, month, sum(incidents) as fires
    from cube
    group by la_code, month
),

wards as (
    select calendar.la_code, calendar.la_name, calendar.month, w.ward_code, w.ward_name
    from calendar
    inner join {{ ref('ref_wards') }} as w on w.la_code = calendar.la_code
    union
    select calendar.la_code, calendar.la_name, calendar.month, f.ward_code,
           coalesce(f.delivered_ward_name, f.ward_code)
    from calendar
    inner join ward_fires as f on f.la_code = calendar.la_code and f.month = calendar.month
    where not exists (select 1 from {{ ref('ref_wards') }} as w where w.ward_code = f.ward_code)
),

ranked as (
    select
        wards.la_code,
        wards.la_name,
        wards.month,
        wards.ward_code,
        wards.ward_name,
        coalesce(ward_fires.fires, 0) as fires,
        coalesce(ward_fires.deliberate_fires, 0) as deliberate_fires,
        row_number() over (
            partition by wards.la_code, wards.month
            order by coalesce(ward_fires.fires, 0) desc, wards.ward_name
        ) as ward_rank,
        coalesce(area_fires.fires, 0) as area_fires
    from wards
    left join ward_fires
        on ward_fires.la_code = wards.la_code
        and ward_fires.month = wards.month
        and ward_fires.ward_code is not distinct from wards.ward_code
    left join area_fires
        on area_fires.la_code = wards.la_code and area_fires.month = wards.month
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
    cast(area_fires as integer) as area_fires,
    case when area_fires = 0 then null
         else cast(round(100.0 * sum(fires) filter (where ward_rank <= 5)
                    over (partition by la_code, month) / area_fires, 0) as integer)
    end as top5_share_pct
from ranked
