-- Generated from plugins/csp_pipeline/core/reference.py by `csp generated --write`. Do not edit.
-- ref_fire_unit_costs: the bundled seed bundled_ref_fire_unit_costs merged with the deployment's rows
-- (deployment_reference.ref_fire_unit_costs, loaded by the warehouse DAG from its ref_fire_unit_costs.csv):
-- a deployment row replaces the bundled row with the same incident_type, property_category.
with bundled as (
    select
        cast("incident_type" as VARCHAR) as "incident_type",
        cast("property_category" as VARCHAR) as "property_category",
        cast("cost_category" as VARCHAR) as "cost_category",
        cast("unit_cost_gbp" as INTEGER) as "unit_cost_gbp",
        cast("status" as VARCHAR) as "status",
        cast("source_note" as VARCHAR) as "source_note"
    from {{ ref('bundled_ref_fire_unit_costs') }}
),

deployment as (
    select
        cast("incident_type" as VARCHAR) as "incident_type",
        cast("property_category" as VARCHAR) as "property_category",
        cast("cost_category" as VARCHAR) as "cost_category",
        cast("unit_cost_gbp" as INTEGER) as "unit_cost_gbp",
        cast("status" as VARCHAR) as "status",
        cast("source_note" as VARCHAR) as "source_note"
    from {{ source('deployment_reference', 'ref_fire_unit_costs') }}
)

select "incident_type", "property_category", "cost_category", "unit_cost_gbp", "status", "source_note" from deployment
union all
select "incident_type", "property_category", "cost_category", "unit_cost_gbp", "status", "source_note" from bundled as b
where not exists (select 1 from deployment as d where d."incident_type" is not distinct from b."incident_type" and d."property_category" is not distinct from b."property_category")
