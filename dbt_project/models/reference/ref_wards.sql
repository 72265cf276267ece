-- Generated from plugins/csp_pipeline/core/reference.py by `csp generated --write`. Do not edit.
-- ref_wards: the bundled seed bundled_ref_wards merged with the deployment's rows
-- (deployment_reference.ref_wards, loaded by the warehouse DAG from its ref_wards.csv):
-- a deployment row replaces the bundled row with the same ward_code;
-- bundled rows naming a ref_areas.la_code no longer there are dropped.
with bundled as (
    select
        cast("ward_code" as VARCHAR) as "ward_code",
        cast("ward_name" as VARCHAR) as "ward_name",
        cast("la_code" as VARCHAR) as "la_code"
    from {{ ref('bundled_ref_wards') }}
),

deployment as (
    select
        cast("ward_code" as VARCHAR) as "ward_code",
        cast("ward_name" as VARCHAR) as "ward_name",
        cast("la_code" as VARCHAR) as "la_code"
    from {{ source('deployment_reference', 'ref_wards') }}
)

select "ward_code", "ward_name", "la_code" from deployment
union all
select "ward_code", "ward_name", "la_code" from bundled as b
where not exists (select 1 from deployment as d where d."ward_code" is not distinct from b."ward_code")
  and b."la_code" in (select "la_code" from {{ ref('ref_areas') }})
