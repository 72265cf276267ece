-- Monthly activity of young people of academic age 16-17 from the local tracking system: the
-- latest delivered version of each person and month.
with latest as (
    {{ latest_version(source('education', 'neet'), ['person_id_pseudonym', 'month']) }}
)

select
    latest.person_id_pseudonym as person_pseudonym,
    latest.birth_month,
    latest.la_code,
    areas.la_name,
    latest.month,
    latest.activity_group,
    latest.activity_code,
    latest._extract_date as extract_date,
    latest._source_file as source_file
from latest
left join {{ ref('ref_areas') }} as areas on areas.la_code = latest.la_code
