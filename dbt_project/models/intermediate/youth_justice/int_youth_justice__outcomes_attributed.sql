-- Outcomes with the child attributes the marts need.
--
-- Area: an outcome is counted in the area where it was given. The extracts carry LA_CODE only on the
-- child record, so the outcome takes the la_code of the version of the child's record that was
-- current when the outcome was first delivered (the latest version delivered on or before the
-- outcome's first extract date); if the child's record was only delivered later, the earliest
-- version. A child who moves area keeps earlier outcomes in the old area and counts later ones in
-- the new one. Outcomes whose child record never arrived have no area and are left out of the marts.
--
-- Age: only the month of birth is held, so a child is treated as having their birthday on the 1st
-- of the birth month (never younger than their true age): age on a date = whole years from
-- birth_month. A child born in March 2006 is 18 from 1 March 2024, whatever the true day.
-- Sex, ethnicity and month of birth come from the latest child record (corrections apply to history).
with outcomes as (
    select * from {{ ref('stg_youth_justice__outcomes') }}
),

placements as (
    select
        o.outcome_id,
        h.la_code,
        h.care_status,
        case when h.valid_from <= o.first_extract_date then 'current_at_delivery'
             else 'earliest_later_version' end as la_attribution
    from outcomes as o
    inner join {{ ref('stg_youth_justice__children_history') }} as h using (child_id_pseudonym)
    qualify row_number() over (
        partition by o.outcome_id
        order by (h.valid_from <= o.first_extract_date) desc,
                 case when h.valid_from <= o.first_extract_date then h.valid_from end desc,
                 h.valid_from
    ) = 1
),

aged as (
    select
        o.*,
        p.la_code,
        p.care_status as care_status_at_outcome,
        p.la_attribution,
        c.birth_month,
        c.sex,
        c.ethnicity,
        floor(((year(o.outcome_date) - year(c.birth_month)) * 12
               + month(o.outcome_date) - month(c.birth_month)) / 12)::integer as age_at_outcome
    from outcomes as o
    left join placements as p using (outcome_id)
    left join {{ ref('stg_youth_justice__children') }} as c using (child_id_pseudonym)
)

select
    *,
    coalesce(age_at_outcome between 10 and 17, false) as is_aged_10_17,
    (date_trunc('quarter', outcome_date))::date as outcome_quarter
from aged
