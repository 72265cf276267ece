-- Victims of the offences behind an outcome, the latest delivered version of each VICTIM_ID.
with latest as (
    {{ latest_version(source('youth_justice', 'victims'), ['victim_id']) }}
)

select
    victim_id,
    outcome_id,
    consented_to_contact,
    engaged_rj,
    _extract_date as extract_date,
    _source_file as source_file
from latest
