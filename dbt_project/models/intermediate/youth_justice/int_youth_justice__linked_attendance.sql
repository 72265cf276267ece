-- School attendance of children known to the Youth Justice Service, one row per child, school,
-- academic year and term, linked on the pseudonymised UPN (the same keyed pseudonym in both feeds).
-- Children without a UPN on their YJS record cannot be linked. Read from the education source (the
-- latest version per pupil, school, year and term) until stg_education__attendance lands.
-- Persistent absence: 10% or more of possible sessions missed (feeds contract).
with children as (
    select child_id_pseudonym, upn_pseudonym, la_code
    from {{ ref('stg_youth_justice__children') }}
    where upn_pseudonym is not null
),

attendance as (
    {{ latest_version(source('education', 'attendance'),
                      ['upn_pseudonym', 'school_urn', 'academic_year', 'term']) }}
)

select
    c.child_id_pseudonym,
    c.la_code as yjs_la_code,
    a.la_code as school_la_code,
    a.school_urn,
    a.academic_year,
    a.term,
    a.ncy,
    a.sessions_possible,
    a.sessions_authorised + a.sessions_unauthorised as sessions_missed,
    a.sessions_unauthorised,
    round(100.0 * (a.sessions_possible - a.sessions_authorised - a.sessions_unauthorised)
          / nullif(a.sessions_possible, 0), 1) as attendance_pct,
    (a.sessions_authorised + a.sessions_unauthorised) * 10 >= a.sessions_possible
        and a.sessions_possible > 0 as is_persistently_absent,
    a.sen_provision
from children as c
inner join attendance as a using (upn_pseudonym)
