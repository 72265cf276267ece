-- Drug and alcohol treatment episodes of children known to the Youth Justice Service, one row per
-- episode. The council uses one person id as the YJS CHILD_ID and the treatment CLIENTID, so the
-- keyed pseudonyms are equal. Read from the substance misuse source (the latest version per
-- EPISODID) until stg_substance_misuse__treatment_episodes lands. `triaged_under_18`: the young
-- people's service (birthday taken as the 1st of the birth month).
with episodes as (
    {{ latest_version(source('substance_misuse', 'treatment_episodes'), ['episodid']) }}
)

select
    e.episodid as episode_id,
    c.child_id_pseudonym,
    c.la_code as yjs_la_code,
    e.la_code as treatment_la_code,
    e.refld as referral_date,
    e.rfls as referral_source,
    e.triaged as triage_date,
    e.disd as discharge_date,
    e.disrsn as discharge_reason,
    e.drug1,
    e.drug2,
    e.drug3,
    e.triaged < cast(e.birth_month + interval 18 year as date) as triaged_under_18
from {{ ref('stg_youth_justice__children') }} as c
inner join episodes as e on e.clientid_pseudonym = c.child_id_pseudonym
