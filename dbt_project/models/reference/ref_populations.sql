-- Generated from plugins/csp_pipeline/core/reference.py by `csp generated --write`. Do not edit.
-- ref_populations: the bundled seed bundled_ref_populations merged with the deployment's rows
-- (deployment_reference.ref_populations, loaded by the warehouse DAG from its ref_populations.csv):
-- a deployment row replaces the bundled row with the same la_code, year;
-- bundled rows naming a ref_areas.la_code no longer there are dropped.
with bundled as (
    select
        cast("la_code" as VARCHAR) as "la_code",
        cast("year" as INTEGER) as "year",
        cast("population_total" as INTEGER) as "population_total",
        cast("population_10_17" as INTEGER) as "population_10_17"
    from {{ ref('bundled_ref_populations') }}
),

deployment as (
    select
        cast("la_code" as VARCHAR) as "la_code",
        cast("year" as INTEGER) as "year",
        cast("population_total" as INTEGER) as "population_total",
        cast("population_10_17" as INTEGER) as "population_10_17"
    from {{ source('deployment_reference', 'ref_populations') }}
)

select "la_code", "year", "population_total", "population_10_17" from deployment
union all
select "la_code", "year", "population_total", "population_10_17" from bundled as b
where not exists (select 1 from deployment as d where d."la_code" is not distinct from b."la_code" and d."year" is not distinct from b."year")
  and b."la_code" in (select "la_code" from {{ ref('ref_areas') }})
