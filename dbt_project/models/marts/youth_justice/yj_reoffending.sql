-- Binary reoffending rate and reoffences per reoffender for quarterly cohorts (YJB/MoJ model), one
-- row per area and cohort quarter from the first quarter with an outcome to the quarter of
-- data_as_of (zeros where nobody entered a cohort). Cohort and reoffence rules:
-- int_youth_justice__reoffending_tracked. `tracking_complete` is true once 18 months have passed
-- since the cohort quarter ended, judged against data_as_of (the latest extract date): before then
-- a reoffence can still be proven and the rates are provisional.
with bounds as (
    select * from {{ ref('int_youth_justice__data_bounds') }}
),

spine as (
    select a.la_code, a.la_name, cast(s.q as date) as cohort_quarter
    from {{ ref('ref_areas') }} as a
    cross join bounds
    cross join generate_series(bounds.first_quarter, bounds.last_quarter, interval 3 month) as s (q)
),

cohorts as (
    select
        la_code,
        cohort_quarter,
        count(*) as cohort_size,
        count(*) filter (where is_reoffender) as reoffenders,
        sum(reoffences) as reoffences
    from {{ ref('int_youth_justice__reoffending_tracked') }}
    group by all
)

select
    s.la_code,
    s.la_name,
    s.cohort_quarter,
    coalesce(c.cohort_size, 0) as cohort_size,
    coalesce(c.reoffenders, 0) as reoffenders,
    cast(coalesce(c.reoffences, 0) as bigint) as reoffences,
    round(c.reoffenders * 100.0 / nullif(c.cohort_size, 0), 1) as binary_rate_pct,
    round(c.reoffences * 1.0 / nullif(c.reoffenders, 0), 2) as reoffences_per_reoffender,
    cast(s.cohort_quarter + interval 21 month - interval 1 day as date) <= b.data_as_of
        as tracking_complete
from spine as s
cross join bounds as b
left join cohorts as c using (la_code, cohort_quarter)
