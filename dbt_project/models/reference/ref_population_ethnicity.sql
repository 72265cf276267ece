-- Generated from plugins/csp_pipeline/core/reference.py by `csp generated --write`. Do not edit.
-- ref_population_ethnicity: the bundled seed bundled_ref_population_ethnicity merged with the deployment's rows
-- (deployment_reference.ref_population_ethnicity, loaded by the warehouse DAG from its ref_population_ethnicity.csv):
-- a deployment row replaces the bundled row with the same la_code, year, ethnicity;
-- bundled rows naming a ref_areas.la_code no longer there are dropped.
with bundled as (
    select
        cast("la_code" as VARCHAR) as "la_code",
        cast("year" as INTEGER) as "year",
        cast("ethnicity" as VARCHAR) as "ethnicity",
        cast("population_10_17" as INTEGER) as "population_10_17"
    from {{ ref('bundled_ref_population_ethnicity') }}
),

deployment as (
    select
        cast("la_code" as VARCHAR) as "la_code",
        cast("year" as INTEGER) as "year",
        cast("ethnicity" as VARCHAR) as "ethnicity",
        cast("population_10_17" as INTEGER) as "population_10_17"
    from {{ source('deployment_reference', 'ref_population_ethnicity') }}
)

select "la_code", "year", "ethnicity", "population_10_17" from deployment
union all
select "la_code", "year", "ethnicity", "population_10_17" from bundled as b
where not exists (select 1 from deployment as d where d."la_code" is not distinct from b."la_code" and d."year" is not distinct from b."year" and d."ethnicity" is not distinct from b."ethnicity")
  and b."la_code" in (select "la_code" from {{ ref('ref_areas') }})
