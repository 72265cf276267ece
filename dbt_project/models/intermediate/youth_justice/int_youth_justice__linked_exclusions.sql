-- Suspensions (SUSP) and permanent exclusions (PERM) of children known to the Youth Justice Service,
-- one row per exclusion, linked on the pseudonymised UPN.
select
    e.exclusion_id,
    c.child_id_pseudonym,
    c.la_code as yjs_la_code,
    e.la_code as school_la_code,
    e.school_urn,
    e.start_date,
    e.academic_year,
    e.term,
    e.category,
    e.category = 'SUSP' as is_suspension,
    e.category = 'PERM' as is_permanent_exclusion,
    e.sessions,
    e.reason_code
from {{ ref('stg_youth_justice__children') }} as c
inner join {{ ref('stg_education__exclusions') }} as e on e.pupil_pseudonym = c.upn_pseudonym
