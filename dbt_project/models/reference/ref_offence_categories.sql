-- Generated from plugins/csp_pipeline/core/reference.py by `csp generated --write`. Do not edit.
-- ref_offence_categories: the bundled seed bundled_ref_offence_categories merged with the deployment's rows
-- (deployment_reference.ref_offence_categories, loaded by the warehouse DAG from its ref_offence_categories.csv):
-- a deployment row replaces the bundled row with the same offence_category.
with bundled as (
    select
        cast("offence_category" as VARCHAR) as "offence_category",
        cast("is_serious_violence_category" as BOOLEAN) as "is_serious_violence_category",
        cast("serious_violence_min_gravity" as INTEGER) as "serious_violence_min_gravity"
    from {{ ref('bundled_ref_offence_categories') }}
),

deployment as (
    select
        cast("offence_category" as VARCHAR) as "offence_category",
        cast("is_serious_violence_category" as BOOLEAN) as "is_serious_violence_category",
        cast("serious_violence_min_gravity" as INTEGER) as "serious_violence_min_gravity"
    from {{ source('deployment_reference', 'ref_offence_categories') }}
)

select "offence_category", "is_serious_violence_category", "serious_violence_min_gravity" from deployment
union all
select "offence_category", "is_serious_violence_category", "serious_violence_min_gravity" from bundled as b
where not exists (select 1 from deployment as d where d."offence_category" is not distinct from b."offence_category")
