-- Each child's first substantive outcome ever (caution or conviction) and whether it made them a
-- first-time entrant (FTE): aged 10-17 on that date (birthday taken as the 1st of the birth month)
-- and placed in an area. A child whose first substantive outcome comes at 18 or over is never an FTE,
-- not even on a later outcome. "Ever" means in the history the warehouse holds: an outcome before
-- the first extract loaded is unknown, so early periods can overstate FTEs until history is loaded.
select
    child_id_pseudonym,
    outcome_id as first_substantive_outcome_id,
    outcome_date as first_substantive_outcome_date,
    outcome_type as first_substantive_outcome_type,
    la_code,
    ethnicity,
    age_at_outcome,
    is_aged_10_17 and la_code is not null as is_first_time_entrant
from {{ ref('int_youth_justice__outcomes_attributed') }}
where is_substantive
qualify row_number() over (
    partition by child_id_pseudonym order by outcome_date, ladder_rank, outcome_id
) = 1
