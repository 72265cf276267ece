-- Generated from plugins/csp_pipeline/core/reference.py by `csp generated --write`. Do not edit.
-- ref_lsoa_wards: the bundled seed bundled_ref_lsoa_wards merged with the deployment's rows
-- (deployment_reference.ref_lsoa_wards, loaded by the warehouse DAG from its ref_lsoa_wards.csv):
-- a deployment row replaces the bundled row with the same lsoa_code.
with bundled as (
    select
        cast("lsoa_code" as VARCHAR) as "lsoa_code",
        cast("ward_code" as VARCHAR) as "ward_code"
    from {{ ref('bundled_ref_lsoa_wards') }}
),

deployment as (
    select
        cast("lsoa_code" as VARCHAR) as "lsoa_code",
        cast("ward_code" as VARCHAR) as "ward_code"
    from {{ source('deployment_reference', 'ref_lsoa_wards') }}
)

select "lsoa_code", "ward_code" from deployment
union all
select "lsoa_code", "ward_code" from bundled as b
where not exists (select 1 from deployment as d where d."lsoa_code" is not distinct from b."lsoa_code")
