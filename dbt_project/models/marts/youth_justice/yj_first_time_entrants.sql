-- First-time entrants (FTE) per 100,000 children aged 10-17, for the 12 months ending each quarter
-- end (period_type 'rolling_12_months') and for each calendar year ('calendar_year'; the same
-- figures as the rolling period ending 31 December, listed separately so either series is complete).
-- Only periods wholly inside the data (from the first quarter with an outcome to data_as_of) appear.
-- FTE: a child's first substantive outcome ever, aged 10-17 on its date, counted in the area the
-- outcome was given (int_youth_justice__entrants_identified). Population: the mid-year estimate for
-- the year holding the period's mid-point (the latest earlier year if that one is not loaded).
with bounds as (
    select * from {{ ref('int_youth_justice__data_bounds') }}
),

quarter_ends as (
    select cast(s.q + interval 3 month - interval 1 day as date) as period_end
    from bounds, generate_series(bounds.first_quarter, bounds.last_quarter, interval 3 month) as s (q)
),

periods as (
    select 'rolling_12_months' as period_type,
           cast(period_end - interval 12 month + interval 1 day as date) as period_start, period_end
    from quarter_ends
    union all
    select 'calendar_year', cast(date_trunc('year', period_end) as date), period_end
    from quarter_ends
    where month(period_end) = 12
),

complete_periods as (
    select p.*, year(p.period_start + interval 6 month) as population_year
    from periods as p, bounds
    where p.period_start >= bounds.first_quarter and p.period_end <= bounds.data_as_of
),

spine as (
    select a.la_code, a.la_name, p.*
    from {{ ref('ref_areas') }} as a
    cross join complete_periods as p
),

counts as (
    select s.la_code, s.period_type, s.period_end, count(e.child_id_pseudonym) as fte_count
    from spine as s
    left join {{ ref('int_youth_justice__entrants_identified') }} as e
        on e.la_code = s.la_code
        and e.is_first_time_entrant
        and e.first_substantive_outcome_date between s.period_start and s.period_end
    group by all
),

populated as (
    select s.*, pop.population_10_17
    from spine as s
    asof left join {{ ref('ref_populations') }} as pop
        on pop.la_code = s.la_code and s.population_year >= pop.year
)

select
    p.la_code,
    p.la_name,
    p.period_type,
    p.period_start,
    p.period_end,
    c.fte_count,
    p.population_10_17,
    round(c.fte_count * 100000.0 / nullif(p.population_10_17, 0), 0) as rate_per_100k
from populated as p
inner join counts as c using (la_code, period_type, period_end)
