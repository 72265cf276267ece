-- Where the police records of each force and month went: which source the month rests on (the
-- partner extract when it has any record for that force and month, else police.uk), and of the
-- records counted, how many are in an onboarded area, located outside the areas onboarded, or
-- unlocated (police.uk "No Location"). Nothing is dropped: partner + police.uk records =
-- counted + not counted, counted = in areas + outside areas + unlocated.
with records as (
    select * from {{ ref('int_crime__records_attributed') }}
),

per_force_month as (
    select
        coalesce(force, 'not stated') as force,
        month,
        count(*) filter (where record_source = 'partner extract') as partner_records,
        count(*) filter (where record_source = 'police.uk') as police_uk_records,
        count(*) filter (where is_counted) as counted_records,
        count(*) filter (where is_counted and location_status = 'in area') as in_areas,
        count(*) filter (where is_counted and location_status = 'outside areas') as outside_areas,
        count(*) filter (where is_counted and location_status = 'unlocated') as unlocated,
        count(*) filter (where not is_counted) as not_counted
    from records
    group by all
)

select
    force || '/' || strftime(month, '%Y-%m') as attribution_key,
    force,
    month,
    case when partner_records > 0 then 'partner extract' else 'police.uk' end as counted_source,
    cast(partner_records as integer) as partner_records,
    cast(police_uk_records as integer) as police_uk_records,
    cast(counted_records as integer) as counted_records,
    cast(in_areas as integer) as in_areas,
    cast(outside_areas as integer) as outside_areas,
    cast(unlocated as integer) as unlocated,
    cast(not_counted as integer) as not_counted
from per_force_month
