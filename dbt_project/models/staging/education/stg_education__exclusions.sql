-- Suspensions and permanent exclusions: the latest delivered version of each EXCLUSION_ID, with
-- the academic year (September to August) and term of the start date (Autumn Sep-Dec, Spring
-- Jan-Apr, Summer May-Aug).
with latest as (
    {{ latest_version(source('education', 'exclusions'), ['exclusion_id']) }}
),

dated as (
    select
        *,
        case when month(start_date) >= 9 then year(start_date) else year(start_date) - 1 end
            as academic_start_year
    from latest
)

select
    dated.exclusion_id,
    dated.upn_pseudonym as pupil_pseudonym,
    dated.la_code,
    areas.la_name,
    dated.school_urn,
    dated.start_date,
    dated.category,
    case dated.category when 'SUSP' then 'Suspension' when 'PERM' then 'Permanent exclusion' end
        as exclusion_type,
    dated.sessions,
    dated.reason_code,
    cast(dated.academic_start_year as varchar) || substr(cast(dated.academic_start_year + 1 as varchar), 3, 2)
        as academic_year_code,
    cast(dated.academic_start_year as varchar) || '/' || substr(cast(dated.academic_start_year + 1 as varchar), 3, 2)
        as academic_year,
    case when month(dated.start_date) >= 9 then 'Autumn'
         when month(dated.start_date) <= 4 then 'Spring'
         else 'Summer' end as term,
    case when month(dated.start_date) >= 9 then 1
         when month(dated.start_date) <= 4 then 2
         else 3 end as term_number,
    dated._extract_date as extract_date,
    dated._source_file as source_file
from dated
left join {{ ref('ref_areas') }} as areas on areas.la_code = dated.la_code
