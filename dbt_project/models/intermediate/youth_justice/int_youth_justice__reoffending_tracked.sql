-- Quarterly reoffending cohorts (YJB/MoJ model), one row per cohort member.
-- Cohort: children aged 10-17 with a substantive outcome in the quarter; the index is their first
-- substantive outcome in that quarter and places them in its area. A child can be in the cohorts of
-- several quarters. Reoffences: the child's offences committed after the index date and no more
-- than 365 days after it (day 365 in, day 366 out), proven by a substantive outcome dated no later
-- than 18 months after the index date (month 17 in, month 19 out).
with cohort as (
    select
        child_id_pseudonym,
        outcome_quarter as cohort_quarter,
        outcome_id as index_outcome_id,
        outcome_type as index_outcome_type,
        outcome_date as index_date,
        la_code
    from {{ ref('int_youth_justice__outcomes_attributed') }}
    where is_substantive and is_aged_10_17
    qualify row_number() over (
        partition by child_id_pseudonym, outcome_quarter order by outcome_date, ladder_rank, outcome_id
    ) = 1
),

reoffences as (
    select c.child_id_pseudonym, c.cohort_quarter, count(distinct f.offence_id) as reoffences
    from cohort as c
    inner join {{ ref('int_youth_justice__offences_proven') }} as f
        on f.child_id_pseudonym = c.child_id_pseudonym
        and f.offence_date > c.index_date
        and f.offence_date <= c.index_date + 365
        and f.is_proven
        and f.proven_date <= cast(c.index_date + interval 18 month as date)
    group by all
)

select
    c.la_code,
    c.cohort_quarter,
    c.child_id_pseudonym,
    c.index_outcome_id,
    c.index_outcome_type,
    c.index_date,
    cast(c.index_date + 365 as date) as offence_window_end,
    cast(c.index_date + interval 18 month as date) as proof_window_end,
    coalesce(r.reoffences, 0) as reoffences,
    coalesce(r.reoffences, 0) > 0 as is_reoffender
from cohort as c
left join reoffences as r using (child_id_pseudonym, cohort_quarter)
where c.la_code is not null
