-- Offences, the latest delivered version of each OFFENCE_ID, with the serious-violence rule of
-- ref_offence_categories (Drugs, Robbery, Violence Against the Person with gravity 5 or more).
with latest as (
    {{ latest_version(source('youth_justice', 'offences'), ['offence_id']) }}
)

select
    o.offence_id,
    o.child_id_pseudonym,
    o.offence_date,
    o.offence_category,
    o.gravity_score,
    o.outcome_id,
    coalesce(c.is_serious_violence_category and o.gravity_score >= c.serious_violence_min_gravity,
             false) as is_serious_violence,
    o._extract_date as extract_date,
    o._source_file as source_file
from latest as o
left join {{ ref('ref_offence_categories') }} as c using (offence_category)
