-- Young people of academic age 16-17 per area and month: the cohort known to the tracking
-- system, how many are NEET and how many have an activity not known, and their percentages of
-- the cohort (1 dp). Every area appears for every month from the first to the last month of data.
with people as (
    select * from {{ ref('stg_education__neet') }}
),

calendar as (
    select areas.la_code, areas.la_name, cast(m.month as date) as month
    from {{ ref('ref_areas') }} as areas
    cross join (select min(month) as first_month, max(month) as last_month from people) as span
    cross join generate_series(span.first_month, span.last_month, interval 1 month) as m (month)
),

monthly as (
    select
        la_code,
        month,
        count(*) as cohort,
        count(*) filter (where activity_group = 'NEET') as neet,
        count(*) filter (where activity_group = 'NOT_KNOWN') as not_known
    from people
    group by la_code, month
)

select
    calendar.la_code,
    calendar.la_name,
    calendar.month,
    cast(coalesce(monthly.cohort, 0) as integer) as cohort,
    cast(coalesce(monthly.neet, 0) as integer) as neet,
    cast(coalesce(monthly.not_known, 0) as integer) as not_known,
    case when monthly.cohort > 0 then cast(round(100.0 * monthly.neet / monthly.cohort, 1) as decimal(5, 1)) end
        as neet_pct,
    case when monthly.cohort > 0 then cast(round(100.0 * monthly.not_known / monthly.cohort, 1) as decimal(5, 1)) end
        as not_known_pct
from calendar
left join monthly on monthly.la_code = calendar.la_code and monthly.month = calendar.month
