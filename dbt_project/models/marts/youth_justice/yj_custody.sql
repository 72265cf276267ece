-- Use of custody by financial year (April-March, written '2023-24'): custodial sentences (Detention
-- and Training Orders and Section 250 detention, counted as sentences, not children, by sentence =
-- outcome date) and remands to youth detention accommodation (counted by START_DATE, or the outcome
-- date when no start date is recorded), in the area the outcome was given. No age filter: these are
-- youth disposals, and the birth-month age rule would wrongly drop some 17-year-olds. Rate:
-- custodial sentences per 1,000 children aged 10-17 (mid-year estimate for the year the financial
-- year starts in). The financial year holding data_as_of is to date (`period_complete` false).
with bounds as (
    select * from {{ ref('int_youth_justice__data_bounds') }}
),

years as (
    select cast(s.fy_start as date) as fy_start
    from bounds, generate_series(
        make_date(cast(year(bounds.first_date - interval 3 month) as integer), 4, 1),
        make_date(cast(year(bounds.data_as_of - interval 3 month) as integer), 4, 1),
        interval 1 year) as s (fy_start)
),

spine as (
    select
        a.la_code,
        a.la_name,
        y.fy_start,
        cast(y.fy_start + interval 1 year - interval 1 day as date) as fy_end,
        year(y.fy_start) || '-' || right(cast(year(y.fy_start) + 1 as varchar), 2) as financial_year
    from {{ ref('ref_areas') }} as a
    cross join years as y
),

events as (
    select
        la_code,
        case when is_custodial then outcome_date else coalesce(start_date, outcome_date) end
            as counted_date,
        is_custodial,
        is_remand
    from {{ ref('int_youth_justice__outcomes_attributed') }}
    where is_custodial or is_remand
),

counts as (
    select
        s.la_code,
        s.fy_start,
        count(e.la_code) filter (where e.is_custodial) as custodial_sentences,
        count(e.la_code) filter (where e.is_remand) as remands
    from spine as s
    left join events as e
        on e.la_code = s.la_code and e.counted_date between s.fy_start and s.fy_end
    group by all
),

populated as (
    select s.*, year(s.fy_start) as population_year, pop.population_10_17
    from spine as s
    asof left join {{ ref('ref_populations') }} as pop
        on pop.la_code = s.la_code and year(s.fy_start) >= pop.year
)

select
    p.la_code,
    p.la_name,
    p.financial_year,
    p.fy_start as period_start,
    p.fy_end as period_end,
    c.custodial_sentences,
    c.remands,
    p.population_10_17,
    round(c.custodial_sentences * 1000.0 / nullif(p.population_10_17, 0), 2) as custody_rate_per_1000,
    p.fy_end <= b.data_as_of as period_complete
from populated as p
cross join bounds as b
inner join counts as c using (la_code, fy_start)
