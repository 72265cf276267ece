-- Treatment episodes with their substance group, successful completion and representation:
--   substance group by hierarchy over DRUG1-3: any opiate -> Opiate; else any non-opiate and
--   alcohol -> Non-opiate and alcohol; else any non-opiate -> Non-opiate only; else alcohol ->
--   Alcohol only; nothing recorded -> Not recorded.
--   Successful completion: discharged with one of the three 'Treatment completed' reasons.
--   Representation: the same client (pseudonym) is triaged for another episode after the
--   discharge date and no later than six calendar months after it (2024-01-31 + 6 months =
--   2024-07-31 is a representation; 2024-08-01 is not).
with episodes as (
    select
        *,
        [drug_1, drug_2, drug_3] as drugs
    from {{ ref('stg_substance_misuse__treatment_episodes') }}
),

flagged as (
    select
        *,
        len(list_filter(drugs, d -> d in ('Heroin', 'Methadone', 'Buprenorphine', 'Other opiate'))) > 0
            as uses_opiates,
        len(list_filter(drugs, d -> d in ('Crack cocaine', 'Cocaine', 'Cannabis', 'Amphetamine',
            'Ecstasy', 'Ketamine', 'Benzodiazepines', 'New psychoactive substance'))) > 0
            as uses_non_opiates,
        len(list_filter(drugs, d -> d = 'Alcohol')) > 0 as uses_alcohol,
        coalesce(discharge_reason in {{ successful_discharge_reasons() }}, false)
            as is_successful_completion
    from episodes
),

representations as (
    select
        completed.episode_id,
        min(later.triage_date) as representation_date
    from flagged as completed
    inner join flagged as later
        on later.client_pseudonym = completed.client_pseudonym
        and later.episode_id <> completed.episode_id
        and later.triage_date > completed.discharge_date
        and later.triage_date <= completed.discharge_date + interval 6 month
    where completed.is_successful_completion
    group by completed.episode_id
)

select
    flagged.episode_id,
    flagged.client_pseudonym,
    flagged.la_code,
    flagged.triage_date,
    flagged.discharge_date,
    flagged.discharge_reason,
    flagged.age_at_triage,
    flagged.age_at_triage < 18 as is_young_person,
    case
        when flagged.uses_opiates then 'Opiate'
        when flagged.uses_non_opiates and flagged.uses_alcohol then 'Non-opiate and alcohol'
        when flagged.uses_non_opiates then 'Non-opiate only'
        when flagged.uses_alcohol then 'Alcohol only'
        else 'Not recorded'
    end as substance_group,
    flagged.is_successful_completion,
    representations.representation_date,
    representations.representation_date is not null as is_representation
from flagged
left join representations on representations.episode_id = flagged.episode_id
