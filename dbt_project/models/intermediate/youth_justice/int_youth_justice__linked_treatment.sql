-- Drug and alcohol treatment episodes of children known to the Youth Justice Service, one row per
-- episode. The council uses one person id as the YJS CHILD_ID and the treatment CLIENTID, so the
-- keyed pseudonyms are equal. `triaged_under_18`: the young people's service (age at triage with
-- the birthday on the 1st of the birth month, as in staging).
select
    e.episode_id,
    c.child_id_pseudonym,
    c.la_code as yjs_la_code,
    e.la_code as treatment_la_code,
    e.referral_date,
    e.referral_source,
    e.triage_date,
    e.discharge_date,
    e.discharge_reason,
    e.drug_1,
    e.drug_2,
    e.drug_3,
    e.age_at_triage < 18 as triaged_under_18
from {{ ref('stg_youth_justice__children') }} as c
inner join {{ ref('stg_substance_misuse__treatment_episodes') }} as e
    on e.client_pseudonym = c.child_id_pseudonym
