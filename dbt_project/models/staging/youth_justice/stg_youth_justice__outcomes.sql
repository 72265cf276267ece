-- Outcomes (disposals, programmes, remands), the latest delivered version of each OUTCOME_ID, with
-- the tier and flags of ref_outcome_types. Orders and programmes are re-sent when they end with the
-- end-of-order KPI fields filled in, so the latest version carries them. `first_extract_date` is
-- when the outcome was first delivered (used to place it in the child's area at that time).
with versions as (
    select *, min(_extract_date) over (partition by outcome_id) as first_extract_date
    from {{ source('youth_justice', 'outcomes') }}
),

latest as (
    {{ latest_version('versions', ['outcome_id']) }}
)

select
    o.outcome_id,
    o.child_id_pseudonym,
    o.outcome_date,
    o.outcome_type,
    t.ladder_rank,
    t.tier,
    t.is_substantive,
    t.is_custodial,
    t.is_remand,
    t.counts_for_out_of_court_kpi,
    t.tier <> 'prevention' and not t.is_remand as counts_for_end_of_order_kpis,
    o.start_date,
    o.end_date,
    o.accommodation_suitable,
    o.ete_suitable,
    o.send_identified,
    o.send_plan,
    o.mh_need,
    o.mh_intervention,
    o.sm_need,
    o.sm_intervention,
    o.programme_completed,
    o.wider_services,
    o.first_extract_date,
    o._extract_date as extract_date,
    o._source_file as source_file
from latest as o
left join {{ ref('ref_outcome_types') }} as t using (outcome_type)
