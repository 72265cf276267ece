-- Every police record of both sources (the partner's crimes extract and police.uk downloads)
-- with the area it counts in, its ward, and whether it is counted at all.
--   Area: the local authority of the record's ward (ref_wards), else the local authority named
--   in its LSOA name (`Camden 027B` -> Camden, matched with ref_areas.la_name, or its part
--   before a comma: ONS writes `Bristol, City of`). No match: located outside the areas
--   onboarded (kept, counted in no area). No ward and no LSOA: unlocated (police.uk "No
--   Location"), counted at force level only.
--   Ward: the record's own, else the deployment's LSOA -> ward lookup (ref_lsoa_wards).
--   Overlap: where a force's partner extract has any record for a month, it is what counts for
--   that force and month; the force's police.uk rows of that month are kept but not counted.
-- Incremental by record (delete+insert on source and id), so a night places the night's records:
-- those either staging model processed since the last run, the police.uk rows of force-months
-- whose partner coverage changed (they start or stop counting), and every record when the
-- reference lookups changed (reference_digest). Records withdrawn from staging are deleted by
-- the post-hooks, which look only in the (source, month) groups holding more rows than staging.
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['record_source', 'record_id'],
    on_schema_change='fail',
    post_hook=[
        "{{ delete_withdrawn_records('partner extract', ref('stg_police__crimes'), 'incident_id') }}",
        "{{ delete_withdrawn_records('police.uk', ref('stg_police__street'), 'street_record_id') }}"
    ]
) }}

with partner as not materialized (  -- read once a query, not copied (partner_months reads it too)
    select
        'partner extract' as record_source,
        incident_id as record_id,
        coalesce(reported_by, force_area) as force,
        month,
        crime_type,
        ward_code,
        lsoa_code,
        lsoa_name,
        processed_at,
        previous_month
    from {{ ref('stg_police__crimes') }}
),

police_uk as (
    select
        'police.uk' as record_source,
        street_record_id as record_id,
        coalesce(reported_by, force_area) as force,
        month,
        crime_type,
        cast(null as varchar) as ward_code,
        lsoa_code,
        lsoa_name,
        processed_at,
        cast(null as date) as previous_month
    from {{ ref('stg_police__street') }}
),

records as (
    select * from partner
    union all
    select * from police_uk
),

partner_months as (  -- force-months the partner extract covers
    select distinct lower(force) as force_key, month from partner where force is not null
),

reference as (  -- the lookups a record is placed with, as one digest
    select md5(concat_ws('|',
        (select string_agg(concat_ws('>', ward_code, la_code), ',' order by ward_code, la_code)
         from {{ ref('ref_wards') }}),
        (select string_agg(concat_ws('>', lsoa_code, ward_code), ',' order by lsoa_code, ward_code)
         from {{ ref('ref_lsoa_wards') }}),
        (select string_agg(concat_ws('>', la_code, la_name), ',' order by la_code, la_name)
         from {{ ref('ref_areas') }})
    )) as digest
),

{% if is_incremental() %}
stored_partner_months as (
    select distinct lower(force) as force_key, month from {{ this }}
    where record_source = 'partner extract' and force is not null
),

coverage_changed as (  -- force-months the partner extract started or stopped covering
    (
        select * from partner_months
        except
        select * from stored_partner_months
    )
    union
    (
        select * from stored_partner_months
        except
        select * from partner_months
    )
),

to_place as (  -- tonight's records to place
    select records.*
    from records
    left join coverage_changed as changed
        on records.record_source = 'police.uk'
        and changed.force_key = lower(records.force) and changed.month = records.month
    where {{ processed_since_last_run() }}
       or changed.month is not null
       or (select reference.digest from reference)
       is distinct from (select max(stored.reference_digest) from {{ this }} as stored)
),
{% else %}
to_place as (
    select * from records
),
{% endif %}

area_names as (  -- each area under its name and the name's part before a comma
    select la_code, lower(trim(la_name)) as name_key from {{ ref('ref_areas') }}
    union
    select la_code, lower(trim(split_part(la_name, ',', 1))) from {{ ref('ref_areas') }}
),

lsoa_name_areas as (  -- the area each distinct LSOA name names: the pattern runs once a name,
    -- not once a record (the same few thousand names recur in every month of history)
    select names.lsoa_name, named.la_code
    from (select distinct lsoa_name from to_place) as names
    inner join area_names as named
        on named.name_key = lower(regexp_extract(names.lsoa_name, '^(.*\S)\s+[0-9]{3}[A-Z]$', 1))
),

placed as (
    select
        to_place.*,
        wards.la_code as ward_la_code,
        named.la_code as lsoa_la_code,
        lookup.ward_code as lsoa_ward_code,
        partner_months.month is not null as partner_covers_month
    from to_place
    left join {{ ref('ref_wards') }} as wards on wards.ward_code = to_place.ward_code
    left join lsoa_name_areas as named on named.lsoa_name = to_place.lsoa_name
    left join {{ ref('ref_lsoa_wards') }} as lookup on lookup.lsoa_code = to_place.lsoa_code
    left join partner_months
        on partner_months.force_key = lower(to_place.force)
        and partner_months.month = to_place.month
)

select
    record_source,
    record_id,
    force,
    month,
    crime_type,
    coalesce(ward_la_code, lsoa_la_code) as la_code,
    case when ward_la_code is not null then 'ward'
         when lsoa_la_code is not null then 'lsoa name' end as attributed_by,
    case when coalesce(ward_la_code, lsoa_la_code) is not null then 'in area'
         when ward_code is null and lsoa_code is null and lsoa_name is null then 'unlocated'
         else 'outside areas' end as location_status,
    coalesce(ward_code, lsoa_ward_code) as ward_code,
    lsoa_code,
    lsoa_name,
    record_source = 'partner extract' or not partner_covers_month as is_counted,
    previous_month,
    (select reference.digest from reference) as reference_digest,
    {{ run_timestamp() }} as processed_at
from placed
