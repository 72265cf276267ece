-- Children known to the Youth Justice Service: the latest delivered version of each child record.
with latest as (
    {{ latest_version(source('youth_justice', 'children'), ['child_id_pseudonym']) }}
)

select
    child_id_pseudonym,
    birth_month,
    sex,
    ethnicity,
    postcode_district,
    la_code,
    care_status,
    upn_pseudonym,
    _extract_date as extract_date,
    _source_file as source_file
from latest
