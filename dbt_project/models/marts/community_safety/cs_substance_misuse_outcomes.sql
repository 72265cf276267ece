-- Drug and alcohol treatment outcomes per area, substance group and rolling 12-month period
-- ending each month end (period_end), all ages:
--   in_treatment: episodes open at any time in the period (triaged on or before period_end and
--     not discharged before the period starts);
--   successful_completions: episodes discharged in the period with a 'Treatment completed'
--     reason; successful_completion_pct = successful_completions / in_treatment * 100 (1 dp);
--   representations: those completions whose client was triaged again within 6 months of the
--     discharge, counting re-triages up to period_end (so a closed period's figure is stable);
--   non_representation_pct = (successful_completions - representations) /
--     successful_completions * 100 (1 dp).
-- 'All substances' is the total over the groups. is_complete_window is false for periods that
-- start before the first month of treatment data.
with episodes as (
    select * from {{ ref('int_substance_misuse__episodes_classified') }}
    where triage_date is not null
),

span as (
    select
        cast(date_trunc('month', min(triage_date)) as date) as first_month,
        cast(date_trunc('month', greatest(max(triage_date), coalesce(max(discharge_date), max(triage_date)))) as date)
            as last_month
    from episodes
),

periods as (
    select
        cast(m.month + interval 1 month - interval 1 day as date) as period_end,
        cast(m.month - interval 11 month as date) as period_start,
        m.month - interval 11 month >= span.first_month as is_complete_window
    from span
    cross join generate_series(span.first_month, span.last_month, interval 1 month) as m (month)
),

groups as (
    select * from (values
        (1, 'Opiate'), (2, 'Non-opiate only'), (3, 'Non-opiate and alcohol'), (4, 'Alcohol only'),
        (5, 'Not recorded'), (6, 'All substances')
    ) as g (sort_order, substance_group)
),

episode_periods as (
    select
        episodes.la_code,
        periods.period_end,
        episodes.substance_group,
        count(*) as in_treatment,
        count(*) filter (
            where episodes.is_successful_completion
              and episodes.discharge_date between periods.period_start and periods.period_end
        ) as successful_completions,
        count(*) filter (
            where episodes.is_successful_completion
              and episodes.discharge_date between periods.period_start and periods.period_end
              and episodes.representation_date <= periods.period_end
        ) as representations
    from episodes
    inner join periods
        on episodes.triage_date <= periods.period_end
        and (episodes.discharge_date is null or episodes.discharge_date >= periods.period_start)
    group by episodes.la_code, periods.period_end, episodes.substance_group
),

totals as (
    select la_code, period_end, substance_group, in_treatment, successful_completions, representations
    from episode_periods
    union all
    select la_code, period_end, 'All substances', sum(in_treatment), sum(successful_completions),
           sum(representations)
    from episode_periods
    group by la_code, period_end
)

select
    areas.la_code,
    areas.la_name,
    periods.period_end,
    periods.period_start,
    groups.substance_group,
    groups.sort_order,
    cast(coalesce(totals.in_treatment, 0) as integer) as in_treatment,
    cast(coalesce(totals.successful_completions, 0) as integer) as successful_completions,
    case when totals.in_treatment > 0
         then cast(round(100.0 * totals.successful_completions / totals.in_treatment, 1) as decimal(5, 1))
    end as successful_completion_pct,
    cast(coalesce(totals.representations, 0) as integer) as representations,
    case when totals.successful_completions > 0
         then cast(round(100.0 * (totals.successful_completions - totals.representations)
                         / totals.successful_completions, 1) as decimal(5, 1))
    end as non_representation_pct,
    periods.is_complete_window
from {{ ref('ref_areas') }} as areas
cross join periods
cross join groups
left join totals
    on totals.la_code = areas.la_code
    and totals.period_end = periods.period_end
    and totals.substance_group = groups.substance_group
