-- Every delivered version of each child record, one per child and extract date (the last row of
-- that day's delivery), valid from its extract date until the next version: used to place an outcome
-- in the area the child's record showed when the outcome was delivered.
with versions as (
    select *
    from {{ source('youth_justice', 'children') }}
    qualify row_number() over (
        partition by child_id_pseudonym, _extract_date order by _row_number desc
    ) = 1
)

select
    child_id_pseudonym,
    _extract_date as valid_from,
    lead(_extract_date) over (partition by child_id_pseudonym order by _extract_date) as valid_to,
    birth_month,
    sex,
    ethnicity,
    la_code,
    care_status,
    upn_pseudonym
from versions
