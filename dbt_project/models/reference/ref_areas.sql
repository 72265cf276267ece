-- Generated from plugins/csp_pipeline/core/reference.py by `csp generated --write`. Do not edit.
-- ref_areas: the bundled seed bundled_ref_areas merged with the deployment's rows
-- (deployment_reference.ref_areas, loaded by the warehouse DAG from its ref_areas.csv):
-- a deployment's rows, when it gives any, replace every bundled row.
with bundled as (
    select
        cast("la_code" as VARCHAR) as "la_code",
        cast("la_name" as VARCHAR) as "la_name",
        cast("csp_name" as VARCHAR) as "csp_name",
        cast("police_force" as VARCHAR) as "police_force",
        cast("fire_authority" as VARCHAR) as "fire_authority"
    from {{ ref('bundled_ref_areas') }}
),

deployment as (
    select
        cast("la_code" as VARCHAR) as "la_code",
        cast("la_name" as VARCHAR) as "la_name",
        cast("csp_name" as VARCHAR) as "csp_name",
        cast("police_force" as VARCHAR) as "police_force",
        cast("fire_authority" as VARCHAR) as "fire_authority"
    from {{ source('deployment_reference', 'ref_areas') }}
)

select "la_code", "la_name", "csp_name", "police_force", "fire_authority" from deployment
union all
select "la_code", "la_name", "csp_name", "police_force", "fire_authority" from bundled as b
where not exists (select 1 from deployment)
