{# Fire incident types that count as fires (primary, secondary and chimney fires). #}
{% macro fire_incident_types() -%}
('Primary fire', 'Secondary fire', 'Chimney fire')
{%- endmacro %}

{# Discharge reasons that are a successful completion of drug or alcohol treatment (NDTMS). #}
{% macro successful_discharge_reasons() -%}
('Treatment completed - drug free', 'Treatment completed - alcohol free',
 'Treatment completed - occasional user')
{%- endmacro %}

{# Every area and month from the first to the last month with a fire, so that a month without
   fires is a zero, not a gap. `monthly` has `month` and `incidents` columns. #}
{% macro fire_area_months(monthly, area_columns='areas.la_code') -%}
select {{ area_columns }}, cast(m.month as date) as month
    from {{ ref('ref_areas') }} as areas
    cross join (
        select min(month) as first_month, max(month) as last_month
        from {{ monthly }} where incidents > 0
    ) as span
    cross join generate_series(span.first_month, span.last_month, interval 1 month) as m(month)
{%- endmacro %}

{# Post-hook of int_crime__records_attributed: delete the records of one source that its staging
   model no longer holds (withdrawn by a re-issued extract or a replaced download). Only the
   months where the target holds more of that source's records than staging are searched, so a
   night without withdrawals costs two counts per month. #}
{% macro delete_withdrawn_records(record_source, staging, id_column) -%}
{%- if is_incremental() -%}
delete from {{ this }} as t
where t.record_source = '{{ record_source }}'
  and t.month in (
      select stored.month
      from (select month, count(*) as n from {{ this }}
            where record_source = '{{ record_source }}' group by month) as stored
      left join (select month, count(*) as n from {{ staging }} group by month) as staged
          on staged.month = stored.month
      where stored.n > coalesce(staged.n, 0)
  )
  and not exists (select 1 from {{ staging }} as s where s.{{ id_column }} = t.record_id)
{%- else -%}
select 1
{%- endif -%}
{%- endmacro %}
