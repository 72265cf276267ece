-- Generated from plugins/csp_pipeline/core/reference.py by `csp generated --write`. Do not edit.
-- ref_outcome_types: the bundled seed bundled_ref_outcome_types merged with the deployment's rows
-- (deployment_reference.ref_outcome_types, loaded by the warehouse DAG from its ref_outcome_types.csv):
-- a deployment row replaces the bundled row with the same outcome_type.
with bundled as (
    select
        cast("outcome_type" as VARCHAR) as "outcome_type",
        cast("ladder_rank" as INTEGER) as "ladder_rank",
        cast("tier" as VARCHAR) as "tier",
        cast("is_substantive" as BOOLEAN) as "is_substantive",
        cast("is_custodial" as BOOLEAN) as "is_custodial",
        cast("is_remand" as BOOLEAN) as "is_remand",
        cast("counts_for_out_of_court_kpi" as BOOLEAN) as "counts_for_out_of_court_kpi"
    from {{ ref('bundled_ref_outcome_types') }}
),

deployment as (
    select
        cast("outcome_type" as VARCHAR) as "outcome_type",
        cast("ladder_rank" as INTEGER) as "ladder_rank",
        cast("tier" as VARCHAR) as "tier",
        cast("is_substantive" as BOOLEAN) as "is_substantive",
        cast("is_custodial" as BOOLEAN) as "is_custodial",
        cast("is_remand" as BOOLEAN) as "is_remand",
        cast("counts_for_out_of_court_kpi" as BOOLEAN) as "counts_for_out_of_court_kpi"
    from {{ source('deployment_reference', 'ref_outcome_types') }}
)

select "outcome_type", "ladder_rank", "tier", "is_substantive", "is_custodial", "is_remand", "counts_for_out_of_court_kpi" from deployment
union all
select "outcome_type", "ladder_rank", "tier", "is_substantive", "is_custodial", "is_remand", "counts_for_out_of_court_kpi" from bundled as b
where not exists (select 1 from deployment as d where d."outcome_type" is not distinct from b."outcome_type")
