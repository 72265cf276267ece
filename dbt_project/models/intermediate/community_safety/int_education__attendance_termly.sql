-- Pupils and persistent absentees per area, academic year and term. A pupil's sessions are summed
-- over the schools they attended that term; a pupil is counted when they had at least one
-- possible session, and is persistently absent when authorised plus unauthorised absence is 10%
-- or more of their possible sessions. Every area appears for each term computed (0 pupils when
-- the area has no return for it).
-- Incremental by term: a run recomputes the terms holding rows processed by
-- stg_education__attendance since the last run (the term is part of the business key, so a
-- record never moves term), and any term whose stored row total no longer matches staging; the
-- post-hook drops a term whose every record was withdrawn, as a full refresh would.
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['academic_year_code', 'term'],
    on_schema_change='fail',
    post_hook="delete from {{ this }} as t where not exists (select 1 from {{ ref('stg_education__attendance') }} as s where s.academic_year_code = t.academic_year_code and s.term = t.term)"
) }}

with attendance as (
    select * from {{ ref('stg_education__attendance') }}
),

{% if is_incremental() %}
-- reconciliation: terms whose stored row total no longer matches staging (a record withdrawn by
-- a re-issued extract leaves no processed row behind)
drift as (
    select coalesce(s.academic_year_code, a.academic_year_code) as academic_year_code,
           coalesce(s.term, a.term) as term
    from (select academic_year_code, term, count(*) as n from attendance group by all) as s
    full join (select academic_year_code, term, sum(source_rows) as n from {{ this }} group by all) as a
        on a.academic_year_code = s.academic_year_code and a.term = s.term
    where coalesce(s.n, 0) <> coalesce(a.n, 0)
),
{% endif %}

terms as (
    select distinct academic_year_code, academic_year, term, term_number
    from attendance
    where {{ processed_since_last_run() }}
    {% if is_incremental() %}
    union
    select distinct stored.academic_year_code, stored.academic_year, stored.term, stored.term_number
    from {{ this }} as stored
    semi join drift on drift.academic_year_code = stored.academic_year_code and drift.term = stored.term
    union
    select distinct a.academic_year_code, a.academic_year, a.term, a.term_number
    from attendance as a
    semi join drift on drift.academic_year_code = a.academic_year_code and drift.term = a.term
    {% endif %}
),

pupils as (
    select
        attendance.la_code,
        attendance.academic_year_code,
        attendance.term,
        attendance.pupil_pseudonym,
        sum(attendance.sessions_possible) as sessions_possible,
        sum(attendance.sessions_missed) as sessions_missed,
        count(*) as source_rows,
        max(attendance.processed_at) as processed_at
    from attendance
    semi join terms
        on terms.academic_year_code = attendance.academic_year_code and terms.term = attendance.term
    group by attendance.la_code, attendance.academic_year_code, attendance.term,
             attendance.pupil_pseudonym
),

termly as (
    select
        la_code,
        academic_year_code,
        term,
        count(*) filter (where sessions_possible > 0) as pupils,
        count(*) filter (where sessions_possible > 0 and sessions_missed * 10 >= sessions_possible)
            as persistently_absent_pupils,
        sum(sessions_possible) as sessions_possible,
        sum(sessions_missed) as sessions_missed,
        sum(source_rows) as source_rows,
        max(processed_at) as processed_at
    from pupils
    group by la_code, academic_year_code, term
)

select
    areas.la_code,
    terms.academic_year_code,
    terms.academic_year,
    terms.term,
    terms.term_number,
    cast(coalesce(termly.pupils, 0) as integer) as pupils,
    cast(coalesce(termly.persistently_absent_pupils, 0) as integer) as persistently_absent_pupils,
    cast(coalesce(termly.sessions_possible, 0) as bigint) as sessions_possible,
    cast(coalesce(termly.sessions_missed, 0) as bigint) as sessions_missed,
    cast(coalesce(termly.source_rows, 0) as integer) as source_rows,
    termly.processed_at
from {{ ref('ref_areas') }} as areas
cross join terms
left join termly
    on termly.la_code = areas.la_code
    and termly.academic_year_code = terms.academic_year_code
    and termly.term = terms.term
