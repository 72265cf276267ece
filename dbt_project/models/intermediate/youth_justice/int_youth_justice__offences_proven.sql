-- Offences with the outcome that proves them. An offence is proven when its OUTCOME_ID is a
-- substantive outcome (caution or conviction); informal outcomes (Triage, Community Resolution,
-- Outcome 22), prevention and remands do not prove an offence. `proven_date` is that outcome's date;
-- `la_code` is the proving outcome's area (see int_youth_justice__outcomes_attributed).
select
    f.offence_id,
    f.child_id_pseudonym,
    f.offence_date,
    f.offence_category,
    f.gravity_score,
    f.is_serious_violence,
    f.outcome_id,
    o.outcome_type,
    coalesce(o.is_substantive, false) as is_proven,
    case when o.is_substantive then o.outcome_date end as proven_date,
    case when o.is_substantive then o.outcome_quarter end as proven_quarter,
    o.la_code
from {{ ref('stg_youth_justice__offences') }} as f
left join {{ ref('int_youth_justice__outcomes_attributed') }} as o using (outcome_id)
