-- Recorded crime and anti-social behaviour per area, month and crime type (police.uk
-- categories; anti-social behaviour is one of them): the count, the same month a year earlier,
-- percent change and direction, the rolling 12-month total (this and the previous 11 months;
-- NULL until 12 months of data exist) and the rate per 1,000 residents (population of the
-- month's calendar year, or the latest earlier year available in ref_populations). Counts come
-- from both police sources as int_crime__records_attributed attributes them.
with counts as (
    select * from {{ ref('int_crime__monthly_counts') }}
),

span as (
    select min(month) as first_month, max(month) as last_month
    from counts where incidents > 0
),

calendar as (
    select areas.la_code, areas.la_name, cast(m.month as date) as month, types.crime_type
    from {{ ref('ref_areas') }} as areas
    cross join span
    cross join generate_series(span.first_month, span.last_month, interval 1 month) as m (month)
    cross join (select distinct crime_type from counts) as types
),

filled as (
    select
        calendar.la_code,
        calendar.la_name,
        calendar.month,
        calendar.crime_type,
        coalesce(counts.incidents, 0) as incidents
    from calendar
    left join counts
        on counts.la_code = calendar.la_code
        and counts.month = calendar.month
        and counts.crime_type = calendar.crime_type
),

windowed as (
    select
        filled.*,
        sum(filled.incidents) over (
            partition by filled.la_code, filled.crime_type order by filled.month
            range between interval 11 month preceding and current row
        ) as rolling_sum
    from filled
),

populations as (
    select
        windowed.la_code,
        windowed.month,
        max(pop.year) as population_year
    from (select distinct la_code, month from windowed) as windowed
    inner join {{ ref('ref_populations') }} as pop
        on pop.la_code = windowed.la_code and pop.year <= year(windowed.month)
    group by windowed.la_code, windowed.month
)

select
    cur.la_code,
    cur.la_name,
    cur.month,
    cur.crime_type,
    cast(cur.incidents as integer) as incidents,
    cast(prev.incidents as integer) as incidents_previous_year,
    {{ pct_change('cur.incidents', 'prev.incidents') }} as pct_change,
    {{ direction('cur.incidents', 'prev.incidents') }} as direction,
    case when cur.month >= cast((select span.first_month from span) + interval 11 month as date)
         then cast(cur.rolling_sum as integer) end as rolling_12m,
    cast(round(cur.incidents * 1000.0 / pop.population_total, 2) as decimal(12, 2)) as rate_per_1000_population,
    populations.population_year
from windowed as cur
left join windowed as prev
    on prev.la_code = cur.la_code
    and prev.crime_type = cur.crime_type
    and prev.month = cast(cur.month - interval 12 month as date)
left join populations
    on populations.la_code = cur.la_code and populations.month = cur.month
left join {{ ref('ref_populations') }} as pop
    on pop.la_code = cur.la_code and pop.year = populations.population_year
