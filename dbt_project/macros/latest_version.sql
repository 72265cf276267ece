{# Keep each business key's latest delivered version: newest extract date, then last row. #}
{% macro latest_version(relation, key_columns) -%}
    select * from {{ relation }}
    qualify row_number() over (
        partition by {{ key_columns | join(', ') }}
        order by _extract_date desc, _row_number desc
    ) = 1
{%- endmacro %}
