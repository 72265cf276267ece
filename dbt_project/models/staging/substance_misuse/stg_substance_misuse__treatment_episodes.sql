-- Drug and alcohol treatment episodes (NDTMS core data set): the latest delivered version of each
-- EPISODID (episodes are re-sent when they close), with readable names.
with latest as (
    {{ latest_version(source('substance_misuse', 'treatment_episodes'), ['episodid']) }}
)

select
    latest.episodid as episode_id,
    latest.clientid_pseudonym as client_pseudonym,
    latest.birth_month,
    latest.sex,
    latest.ethnic as ethnicity,
    latest.la_code,
    areas.la_name,
    latest.refld as referral_date,
    latest.rfls as referral_source,
    latest.triaged as triage_date,
    latest.drug1 as drug_1,
    latest.drug2 as drug_2,
    latest.drug3 as drug_3,
    latest.disd as discharge_date,
    latest.disrsn as discharge_reason,
    -- Age in whole years at triage, taking the birthday as the 1st of the month of birth (the day
    -- of birth is not kept).
    case when latest.triaged is not null
         then date_diff('year', latest.birth_month, latest.triaged)
              - case when month(latest.triaged) < month(latest.birth_month) then 1 else 0 end
    end as age_at_triage,
    latest._extract_date as extract_date,
    latest._source_file as source_file
from latest
left join {{ ref('ref_areas') }} as areas on areas.la_code = latest.la_code
