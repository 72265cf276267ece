-- School attendance and exclusions per area, academic year and term: pupils, the percentage
-- persistently absent (10% or more of possible sessions missed), suspensions and permanent
-- exclusions (term of the start date: Autumn Sep-Dec, Spring Jan-Apr, Summer May-Aug) and their
-- rates per 100 pupils (2 dp). Terms are those with an attendance return or any exclusion;
-- pupils and rates are NULL for a term without an attendance return.
with attendance as (  -- terms with an attendance return in some area
    select * from {{ ref('int_education__attendance_termly') }}
    qualify sum(source_rows) over (partition by academic_year_code, term) > 0
),

exclusions as (
    select
        la_code,
        academic_year_code,
        term,
        count(*) filter (where category = 'SUSP') as suspensions,
        count(*) filter (where category = 'PERM') as permanent_exclusions
    from {{ ref('stg_education__exclusions') }}
    group by la_code, academic_year_code, term
),

terms as (
    select distinct academic_year_code, academic_year, term, term_number from attendance
    union
    select distinct academic_year_code, academic_year, term, term_number
    from {{ ref('stg_education__exclusions') }}
),

grid as (
    select areas.la_code, areas.la_name, terms.*
    from {{ ref('ref_areas') }} as areas
    cross join terms
)

select
    grid.la_code,
    grid.la_name,
    grid.academic_year,
    grid.term,
    grid.academic_year_code,
    grid.term_number,
    attendance.pupils,
    attendance.persistently_absent_pupils,
    case when attendance.pupils > 0
         then cast(round(100.0 * attendance.persistently_absent_pupils / attendance.pupils, 1) as decimal(5, 1))
    end as persistent_absence_pct,
    cast(coalesce(exclusions.suspensions, 0) as integer) as suspensions,
    case when attendance.pupils > 0
         then cast(round(100.0 * coalesce(exclusions.suspensions, 0) / attendance.pupils, 2) as decimal(8, 2))
    end as suspension_rate,
    cast(coalesce(exclusions.permanent_exclusions, 0) as integer) as permanent_exclusions,
    case when attendance.pupils > 0
         then cast(round(100.0 * coalesce(exclusions.permanent_exclusions, 0) / attendance.pupils, 2) as decimal(8, 2))
    end as permanent_exclusion_rate
from grid
left join attendance
    on attendance.la_code = grid.la_code
    and attendance.academic_year_code = grid.academic_year_code
    and attendance.term = grid.term
left join exclusions
    on exclusions.la_code = grid.la_code
    and exclusions.academic_year_code = grid.academic_year_code
    and exclusions.term = grid.term
