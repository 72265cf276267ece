{# Percent change and direction as the board papers print them (README, "Marts"):
   (current - previous) / previous * 100 rounded half away from zero; NULL when previous is 0.
   Direction NULL when both are 0 (the papers print "-"). #}
{% macro pct_change(current, previous) -%}
    case when {{ previous }} = 0 or {{ previous }} is null then null
         else round(({{ current }} - {{ previous }}) * 100.0 / {{ previous }}, 0)::integer end
{%- endmacro %}

{% macro direction(current, previous) -%}
    case when {{ previous }} is null or {{ current }} is null then null
         when {{ current }} = 0 and {{ previous }} = 0 then null
         when {{ current }} > coalesce({{ previous }}, 0) then 'Increased'
         when {{ current }} < coalesce({{ previous }}, 0) then 'Decreased'
         else 'No change' end
{%- endmacro %}
