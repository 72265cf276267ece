{# Keep each business key's latest delivered version: newest extract date, then last row (the
   content hash only breaks a tie between two deliveries of one date in different streams).
   The winners are found on the key and those three columns alone, then their rows are read: a
   window over whole rows would sort every column of the history (the first build of 10M police
   rows spilled for minutes under a 1GB memory limit). #}
{% macro latest_version(relation, key_columns) -%}
    select versions.*
    from {{ relation }} as versions
    semi join (
        select {{ key_columns | join(', ') }},
            max({'extract_date': _extract_date, 'row_number': _row_number,
                 'content_hash': _content_hash}) as latest
        from {{ relation }}
        group by {{ key_columns | join(', ') }}
    ) as winners
        on {% for k in key_columns %}winners.{{ k }} is not distinct from versions.{{ k }} and {% endfor %}winners.latest.extract_date = versions._extract_date
        and winners.latest.row_number = versions._row_number
        and winners.latest.content_hash is not distinct from versions._content_hash
{%- endmacro %}
