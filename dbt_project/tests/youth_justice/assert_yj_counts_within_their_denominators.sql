-- Youth justice marts: no part exceeds its whole (reoffenders within the cohort, KPI numerators
-- within denominators, linked children within children, cohort shares within 100%).
-- Returns the offending rows.
select 'yj_reoffending' as mart, la_code, cast(cohort_quarter as varchar) as period
from {{ ref('yj_reoffending') }}
where reoffenders > cohort_size or (reoffenders = 0 and reoffences > 0)
union all
select 'yj_kpi_quarterly', la_code, cast(quarter as varchar) || ' ' || kpi_code
from {{ ref('yj_kpi_quarterly') }}
where kpi_code <> 'SERIOUS_VIOLENCE' and numerator > denominator
union all
select 'yj_linkage_coverage', la_code, link
from {{ ref('yj_linkage_coverage') }}
where matched > children or children_with_identifier > children
union all
select 'yj_disproportionality', la_code, cast(period_end as varchar) || ' ' || ethnicity
from {{ ref('yj_disproportionality') }}
where cohort_share_pct > 100 or population_10_17_share_pct > 100
