-- The ten youth justice KPIs, one row per area, quarter and KPI, from the first quarter with an
-- outcome to the quarter of data_as_of (`period_complete` false for that one). Definitions:
--  1-5, 7 (ACCOMMODATION, ETE, SEND, MENTAL_HEALTH, SUBSTANCE_MISUSE, WIDER_SERVICES): orders and
--    out-of-court programmes (every tier but prevention; not remands) whose END_DATE falls in the
--    quarter; numerator = those with the end-of-order field = 'Y' (suitable accommodation, suitable
--    ETE, SEND identified, mental health need, substance misuse need, supported by wider services).
--    Blank fields count in the denominator, not the numerator. Orders are counted, not children.
--  6 OUT_OF_COURT: out-of-court programmes ending in the quarter (ref_outcome_types
--    counts_for_out_of_court_kpi); numerator = PROGRAMME_COMPLETED = 'Y'.
--  8 BOARD_ATTENDANCE: senior attendances of the five statutory partners at the quarter's board
--    meetings over five times the number of meetings (a partner with no row counts as absent).
--  9 SERIOUS_VIOLENCE: proven serious violence offences (Drugs, Robbery, Violence Against the Person,
--    gravity >= 5) whose proving outcome falls in the quarter; value = rate per 100,000 aged 10-17.
-- 10 VICTIMS: victims (of the offences behind outcomes dated in the quarter) who consented to
--    contact; numerator = of those, engaged in restorative justice.
-- Areas follow the outcome (int_youth_justice__outcomes_attributed) or the board's LA_CODE.
-- value_pct = numerator / denominator x 100 to 1 decimal place (NULL when the denominator is 0).
with bounds as (
    select * from {{ ref('int_youth_justice__data_bounds') }}
),

kpis (kpi_order, kpi_code, kpi_name, value_unit) as (
    values
        (1, 'ACCOMMODATION', 'Suitable accommodation at the end of the order', 'percent'),
        (2, 'ETE', 'Suitable education, training or employment at the end of the order', 'percent'),
        (3, 'SEND', 'Special educational needs or disability identified at the end of the order', 'percent'),
        (4, 'MENTAL_HEALTH', 'Mental health or emotional wellbeing need at the end of the order', 'percent'),
        (5, 'SUBSTANCE_MISUSE', 'Substance misuse need at the end of the order', 'percent'),
        (6, 'OUT_OF_COURT', 'Out-of-court programmes completed', 'percent'),
        (7, 'WIDER_SERVICES', 'Supported by wider services at the end of the order', 'percent'),
        (8, 'BOARD_ATTENDANCE', 'Senior partner attendance at management board', 'percent'),
        (9, 'SERIOUS_VIOLENCE', 'Proven serious violence offences per 100,000 aged 10-17', 'per 100,000 aged 10-17'),
        (10, 'VICTIMS', 'Victims consenting to contact who engaged in restorative justice', 'percent')
),

spine as (
    select a.la_code, a.la_name, cast(s.q as date) as quarter, k.*
    from {{ ref('ref_areas') }} as a
    cross join bounds
    cross join generate_series(bounds.first_quarter, bounds.last_quarter, interval 3 month) as s (q)
    cross join kpis as k
),

orders_ended as (
    select *, cast(date_trunc('quarter', end_date) as date) as quarter
    from {{ ref('int_youth_justice__outcomes_attributed') }}
    where end_date is not null and la_code is not null
),

end_of_order as (
    unpivot (
        select
            la_code,
            quarter,
            count(*) filter (where counts_for_end_of_order_kpis) as orders,
            count(*) filter (where counts_for_end_of_order_kpis and accommodation_suitable = 'Y')
                as "ACCOMMODATION",
            count(*) filter (where counts_for_end_of_order_kpis and ete_suitable = 'Y') as "ETE",
            count(*) filter (where counts_for_end_of_order_kpis and send_identified = 'Y') as "SEND",
            count(*) filter (where counts_for_end_of_order_kpis and mh_need = 'Y') as "MENTAL_HEALTH",
            count(*) filter (where counts_for_end_of_order_kpis and sm_need = 'Y')
                as "SUBSTANCE_MISUSE",
            count(*) filter (where counts_for_end_of_order_kpis and wider_services = 'Y')
                as "WIDER_SERVICES"
        from orders_ended
        group by all
    )
    on "ACCOMMODATION", "ETE", "SEND", "MENTAL_HEALTH", "SUBSTANCE_MISUSE", "WIDER_SERVICES"
    into name kpi_code value numerator
),

out_of_court as (
    select
        la_code,
        quarter,
        'OUT_OF_COURT' as kpi_code,
        count(*) filter (where programme_completed = 'Y') as numerator,
        count(*) as denominator
    from orders_ended
    where counts_for_out_of_court_kpi
    group by all
),

board as (
    select
        la_code,
        cast(date_trunc('quarter', meeting_date) as date) as quarter,
        'BOARD_ATTENDANCE' as kpi_code,
        -- distinct (meeting, partner) rows: the space before the row is deliberate
        count(distinct (meeting_date, partner)) filter (  -- noqa: LT01,LT06
            where senior_attended = 'Y'
              and partner in ('Police', 'Social care', 'Education', 'Health', 'Probation')
        ) as numerator,
        5 * count(distinct meeting_date) as denominator
    from {{ ref('stg_youth_justice__board_attendance') }}
    group by all
),

serious_violence as (
    select la_code, proven_quarter as quarter, 'SERIOUS_VIOLENCE' as kpi_code, count(*) as numerator
    from {{ ref('int_youth_justice__offences_proven') }}
    where is_proven and is_serious_violence and la_code is not null
    group by all
),

victims as (
    select
        o.la_code,
        o.outcome_quarter as quarter,
        'VICTIMS' as kpi_code,
        count(*) filter (where v.engaged_rj = 'Y') as numerator,
        count(*) as denominator
    from {{ ref('stg_youth_justice__victims') }} as v
    inner join {{ ref('int_youth_justice__outcomes_attributed') }} as o using (outcome_id)
    where v.consented_to_contact = 'Y' and o.la_code is not null
    group by all
),

measured as (
    select la_code, quarter, kpi_code, numerator, orders as denominator from end_of_order
    union all by name
    select * from out_of_court
    union all by name
    select * from board
    union all by name
    select * from victims
),

populated as (
    select s.*, pop.population_10_17
    from spine as s
    asof left join {{ ref('ref_populations') }} as pop
        on pop.la_code = s.la_code and year(s.quarter) >= pop.year
),

combined as (
    select
        p.la_code,
        p.la_name,
        p.quarter,
        p.kpi_order,
        p.kpi_code,
        p.kpi_name,
        p.value_unit,
        coalesce(m.numerator, sv.numerator, 0) as numerator,
        case when p.kpi_code = 'SERIOUS_VIOLENCE' then p.population_10_17
             else coalesce(m.denominator, 0) end as denominator
    from populated as p
    left join measured as m using (la_code, quarter, kpi_code)
    left join serious_violence as sv using (la_code, quarter, kpi_code)
)

select
    c.la_code,
    c.la_name,
    c.quarter,
    c.kpi_code,
    c.kpi_name,
    c.numerator,
    c.denominator,
    round(c.numerator * (case when c.kpi_code = 'SERIOUS_VIOLENCE' then 100000.0 else 100.0 end)
          / nullif(c.denominator, 0), 1) as value_pct,
    c.value_unit,
    cast(c.quarter + interval 3 month - interval 1 day as date) <= b.data_as_of as period_complete
from combined as c
cross join bounds as b
order by c.la_code, c.quarter, c.kpi_order
