-- Ethnic disproportionality of the children in the youth justice system, for the 12 months ending
-- each quarter end (periods wholly inside the data, as yj_first_time_entrants). Cohort: children aged
-- 10-17 with a substantive outcome (caution or conviction) in the period, each counted once, in the
-- area of their first such outcome in the period; ethnicity from the latest child record.
-- Shares are of children (and population) of known ethnicity: 'Not known' shows its count but no
-- shares. relative_rate_index = cohort share / population share (the group's over- or
-- under-representation; 1.00 = proportionate), 2 decimals; shares 1 decimal. Population: 10-17 by
-- ethnic group for the year holding the period's mid-point (latest earlier year if not loaded).
with bounds as (
    select * from {{ ref('int_youth_justice__data_bounds') }}
),

ethnicities (ethnicity_order, ethnicity) as (
    values (1, 'White'), (2, 'Mixed'), (3, 'Asian'), (4, 'Black'), (5, 'Other'), (6, 'Not known')
),

periods as (
    select
        cast(s.q + interval 3 month - interval 12 month as date) as period_start,
        cast(s.q + interval 3 month - interval 1 day as date) as period_end
    from bounds, generate_series(bounds.first_quarter, bounds.last_quarter, interval 3 month) as s (q)
),

spine as (
    select a.la_code, a.la_name, p.*, year(p.period_start + interval 6 month) as population_year,
           e.ethnicity_order, e.ethnicity
    from {{ ref('ref_areas') }} as a
    cross join periods as p
    cross join bounds as b
    cross join ethnicities as e
    where p.period_start >= b.first_quarter and p.period_end <= b.data_as_of
),

cohort as (
    select distinct on (p.period_end, o.child_id_pseudonym)
        p.period_end, o.child_id_pseudonym, o.la_code, coalesce(o.ethnicity, 'Not known') as ethnicity
    from (select distinct period_start, period_end from spine) as p
    inner join {{ ref('int_youth_justice__outcomes_attributed') }} as o
        on o.outcome_date between p.period_start and p.period_end
    where o.is_substantive and o.is_aged_10_17 and o.la_code is not null
    order by p.period_end, o.child_id_pseudonym, o.outcome_date, o.ladder_rank, o.outcome_id
),

counted as (
    select s.*, count(c.child_id_pseudonym) as cohort_count
    from spine as s
    left join cohort as c using (la_code, period_end, ethnicity)
    group by all
),

population_years as (
    select distinct la_code, population_year from spine
),

population as (
    select y.la_code, y.population_year, pe.ethnicity, pe.population_10_17
    from population_years as y
    inner join (
        select la_code, max(pe2.year) as year, y2.population_year
        from population_years as y2
        inner join {{ ref('ref_population_ethnicity') }} as pe2 using (la_code)
        where pe2.year <= y2.population_year
        group by la_code, y2.population_year
    ) as chosen using (la_code, population_year)
    inner join {{ ref('ref_population_ethnicity') }} as pe
        on pe.la_code = y.la_code and pe.year = chosen.year
),

shares as (
    select
        c.*,
        p.population_10_17,
        c.cohort_count * 1.0 / nullif(sum(case when c.ethnicity <> 'Not known' then c.cohort_count end)
            over (partition by c.la_code, c.period_end), 0) as cohort_share,
        p.population_10_17 * 1.0 / nullif(sum(p.population_10_17)
            over (partition by c.la_code, c.period_end), 0) as population_share
    from counted as c
    left join population as p using (la_code, population_year, ethnicity)
)

select
    la_code,
    la_name,
    period_start,
    period_end,
    ethnicity,
    cohort_count,
    case when ethnicity <> 'Not known' then round(cohort_share * 100, 1) end as cohort_share_pct,
    round(population_share * 100, 1) as population_10_17_share_pct,
    case when ethnicity <> 'Not known'
         then round(cohort_share / nullif(population_share, 0), 2) end as relative_rate_index,
    population_10_17
from shares
order by la_code, period_end, ethnicity_order
