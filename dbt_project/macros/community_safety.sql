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
