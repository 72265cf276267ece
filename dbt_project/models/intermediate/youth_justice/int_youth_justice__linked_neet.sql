-- Monthly NEET tracking (academic age 16-17) of children known to the Youth Justice Service, one row
-- per child and month. The council uses one person id as the YJS CHILD_ID and the tracking system's
-- PERSON_ID, so the keyed pseudonyms are equal.
select
    c.child_id_pseudonym,
    c.la_code as yjs_la_code,
    n.la_code as tracking_la_code,
    n.month,
    n.activity_group,
    n.activity_code,
    n.activity_group = 'NEET' as is_neet,
    n.activity_group = 'NOT_KNOWN' as is_not_known
from {{ ref('stg_youth_justice__children') }} as c
inner join {{ ref('stg_education__neet') }} as n on n.person_pseudonym = c.child_id_pseudonym
