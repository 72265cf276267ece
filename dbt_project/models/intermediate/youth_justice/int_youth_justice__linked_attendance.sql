-- School attendance of children known to the Youth Justice Service, one row per child, school,
-- academic year and term, linked on the pseudonymised UPN (the same keyed pseudonym in both feeds).
-- Children without a UPN on their YJS record cannot be linked. Persistent absence: 10% or more of
-- possible sessions missed (feeds contract).
with children as (
    select child_id_pseudonym, upn_pseudonym, la_code
    from {{ ref('stg_youth_justice__children') }}
    where upn_pseudonym is not null
)

select
    c.child_id_pseudonym,
    c.la_code as yjs_la_code,
    a.la_code as school_la_code,
    a.school_urn,
    a.academic_year,
    a.academic_year_code,
    a.term,
    a.national_curriculum_year,
    a.sessions_possible,
    a.sessions_missed,
    a.sessions_unauthorised,
    round(100.0 * (a.sessions_possible - a.sessions_missed) / nullif(a.sessions_possible, 0), 1)
        as attendance_pct,
    a.sessions_possible > 0 and a.sessions_missed * 10 >= a.sessions_possible
        as is_persistently_absent,
    a.sen_provision
from children as c
inner join {{ ref('stg_education__attendance') }} as a on a.pupil_pseudonym = c.upn_pseudonym
