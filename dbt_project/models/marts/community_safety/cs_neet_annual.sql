-- The annual NEET figure: per area and academic year, the average of the December, January and
-- February monthly figures (cohort, NEET, not known) and the percentages of the averages
-- (1 dp). Academic year 2023/24 averages December 2023, January 2024 and February 2024.
-- months_included < 3 marks a year whose winter months are not all in the data yet.
with winter as (
    select
        *,
        case when month(month) = 12 then year(month) else year(month) - 1 end as start_year
    from {{ ref('cs_neet_monthly') }}
    where month(month) in (12, 1, 2)
)

select
    la_code,
    any_value(la_name) as la_name,
    cast(start_year as varchar) || '/' || substr(cast(start_year + 1 as varchar), 3, 2) as academic_year,
    cast(count(*) as integer) as months_included,
    cast(round(avg(cohort), 1) as decimal(10, 1)) as cohort,
    cast(round(avg(neet), 1) as decimal(10, 1)) as neet,
    cast(round(avg(not_known), 1) as decimal(10, 1)) as not_known,
    case when sum(cohort) > 0 then cast(round(100.0 * sum(neet) / sum(cohort), 1) as decimal(5, 1)) end as neet_pct,
    case when sum(cohort) > 0 then cast(round(100.0 * sum(not_known) / sum(cohort), 1) as decimal(5, 1)) end
        as not_known_pct
from winter
group by la_code, start_year
