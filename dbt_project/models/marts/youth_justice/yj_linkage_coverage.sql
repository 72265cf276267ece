-- How well the Youth Justice Service's children link to the other partners' records, per area
-- (the child's latest YJS record) and link, so analysts can judge coverage before using linked
-- measures. `children`: children known to the YJS; `children_with_identifier`: those carrying the
-- link's key (a UPN for the school links; every child for the person-id links); `matched`: children
-- with at least one linked record; match_rate_pct = matched / children x 100, 1 decimal.
-- A low school_exclusions rate is expected (most children are never excluded); a low
-- school_attendance rate points at missing or mistyped UPNs. NEET tracking covers academic age 16-17
-- only, so younger children cannot match. Empty until the YJS has delivered a child record: a
-- deployment without the youth justice feed reports no coverage, not zeros.
with children as (
    select child_id_pseudonym, la_code, upn_pseudonym is not null as has_upn
    from {{ ref('stg_youth_justice__children') }}
),

links (link_order, link, linked_via) as (
    values
        (1, 'school_attendance', 'upn_pseudonym'),
        (2, 'school_exclusions', 'upn_pseudonym'),
        (3, 'neet_tracking', 'child_id_pseudonym = person_id_pseudonym'),
        (4, 'substance_misuse_treatment', 'child_id_pseudonym = clientid_pseudonym')
),

matches as (
    select distinct 'school_attendance' as link, child_id_pseudonym
    from {{ ref('int_youth_justice__linked_attendance') }}
    union all
    select distinct 'school_exclusions', child_id_pseudonym
    from {{ ref('int_youth_justice__linked_exclusions') }}
    union all
    select distinct 'neet_tracking', child_id_pseudonym
    from {{ ref('int_youth_justice__linked_neet') }}
    union all
    select distinct 'substance_misuse_treatment', child_id_pseudonym
    from {{ ref('int_youth_justice__linked_treatment') }}
),

counted as (
    select
        a.la_code,
        a.la_name,
        l.link_order,
        l.link,
        l.linked_via,
        count(c.child_id_pseudonym) as children,
        count(c.child_id_pseudonym) filter (
            where c.has_upn or l.linked_via <> 'upn_pseudonym') as children_with_identifier,
        count(m.child_id_pseudonym) as matched
    from {{ ref('ref_areas') }} as a
    cross join links as l
    left join children as c on c.la_code = a.la_code
    left join matches as m on m.link = l.link and m.child_id_pseudonym = c.child_id_pseudonym
    where exists (select 1 from children)
    group by all
)

select
    la_code,
    la_name,
    link,
    linked_via,
    children,
    children_with_identifier,
    matched,
    round(matched * 100.0 / nullif(children, 0), 1) as match_rate_pct
from counted
order by la_code, link_order
