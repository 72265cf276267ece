-- Suspensions (SUSP) and permanent exclusions (PERM) of children known to the Youth Justice Service,
-- one row per exclusion, linked on the pseudonymised UPN. Read from the education source (the
-- latest version per EXCLUSION_ID) until stg_education__exclusions lands.
with children as (
    select child_id_pseudonym, upn_pseudonym, la_code
    from {{ ref('stg_youth_justice__children') }}
    where upn_pseudonym is not null
),

exclusions as (
    {{ latest_version(source('education', 'exclusions'), ['exclusion_id']) }}
)

select
    e.exclusion_id,
    c.child_id_pseudonym,
    c.la_code as yjs_la_code,
    e.la_code as school_la_code,
    e.school_urn,
    e.start_date,
    e.category,
    e.category = 'SUSP' as is_suspension,
    e.category = 'PERM' as is_permanent_exclusion,
    e.sessions,
    e.reason_code
from children as c
inner join exclusions as e using (upn_pseudonym)
