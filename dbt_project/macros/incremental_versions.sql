{# Incremental "latest version per business key" for raw tables that grow every night.

   Full refresh: the latest version of every key (newest extract date, then last row), as
   latest_version() does. Incremental run: only the keys touched since the last run are
   re-derived from raw:
     - keys in the loads this target has not processed yet (unprocessed_loads: loads of the last
       `incremental_lookback_days` (default 3) before the newest load already in the target,
       that the target holds no row of; a late-promoted load is still picked up, while a load
       already processed is not read again however recent it is), and
     - keys whose current version came from a delivery that a re-issued extract for the same
       extract date has since replaced (its content hash is no longer in raw): they fall back to
       their newest remaining version, or are deleted by delete_withdrawn_versions() when none is
       left.
   For every touched key the latest version is chosen over ALL its raw versions, exactly as in a
   full refresh, so an older extract loaded late (a backfill) never overrides a newer version.
   What a night reads thus follows the night's loads, not the history (nor a large load of the
   days before, e.g. a backfill).

   The target (this) must carry extract_date, content_hash, source_row_number and loaded_at.
   `target_keys` are the key columns' names in the target when staging renames them. #}
{% macro incremental_latest_version(relation, key_columns, target_keys=none) -%}
{%- set tkeys = target_keys or key_columns -%}
{%- if is_incremental() -%}
with new_loads as (
    {{ unprocessed_loads(relation) }}
),

new_rows as (
    select distinct {% for k in key_columns %}r.{{ k }}, {% endfor %}r._extract_date
    from {{ relation }} as r
    semi join new_loads as l
        on l._extract_date = r._extract_date and l._content_hash = r._content_hash
        and l._loaded_at = r._loaded_at
    where r._loaded_at > {{ lookback_start() }}
),

superseded as (
    select {% for k in key_columns %}t.{{ tkeys[loop.index0] }} as {{ k }}{{ ", " if not loop.last }}{% endfor %}
    from {{ this }} as t
    where t.extract_date in (select new_loads._extract_date from new_loads)
      and not exists (
          select 1 from {{ deliveries_in(relation, 'select new_loads._extract_date from new_loads') }} as r
          where r._extract_date = t.extract_date and r._content_hash = t.content_hash
      )
),

affected as (
    select {{ key_columns | join(', ') }} from new_rows
    union
    select {{ key_columns | join(', ') }} from superseded
)

select r.*
from {{ relation }} as r
semi join affected as a
    on {% for k in key_columns %}r.{{ k }} = a.{{ k }}{{ " and " if not loop.last }}{% endfor %}
qualify row_number() over (
    partition by {% for k in key_columns %}r.{{ k }}{{ ", " if not loop.last }}{% endfor %}
    order by r._extract_date desc, r._row_number desc
) = 1
{%- else -%}
{{ latest_version(relation, key_columns) }}
{%- endif -%}
{%- endmacro %}


{# Start of the lookback window: `incremental_lookback_days` before the newest load the target
   holds. Raw tables grow in load order, so a filter on _loaded_at skips older row groups. #}
{% macro lookback_start() -%}
((select coalesce(max(loaded_at), timestamp '1900-01-01') from {{ this }})
    - interval '{{ var("incremental_lookback_days", 3) }} days')
{%- endmacro %}


{# Loads (extract date, content hash, load time) of the lookback window that the target holds
   no row of: the loads an incremental run has to read. Both sides are reduced to their few
   distinct loads before they are compared, so nothing the size of the history is hashed. A load
   whose every row lost to a newer version leaves no row behind and is read again until it
   leaves the window (the result is the same; only the cost is repeated). #}
{% macro unprocessed_loads(relation) -%}
select raw_loads._extract_date, raw_loads._content_hash, raw_loads._loaded_at
from (
    select distinct _extract_date, _content_hash, _loaded_at from {{ relation }}
    where _loaded_at > {{ lookback_start() }}
) as raw_loads
where not exists (
    select 1
    from (
        select distinct extract_date, content_hash, loaded_at from {{ this }}
        where loaded_at > {{ lookback_start() }}
    ) as done
    where done.extract_date = raw_loads._extract_date
      and done.content_hash = raw_loads._content_hash
      and done.loaded_at = raw_loads._loaded_at
)
{%- endmacro %}


{# The deliveries (extract date, content hash) now in raw for the extract dates `dates_sql`
   selects, as a subquery: what a stored version is checked against to see whether a re-issue
   replaced its delivery (a handful of rows to hash, not the raw table). #}
{% macro deliveries_in(relation, dates_sql) -%}
(select distinct _extract_date, _content_hash from {{ relation }}
 where _extract_date in ({{ dates_sql }}))
{%- endmacro %}


{# In an incremental run, keep only versions that differ from the one already stored, so the
   lookback re-reading a recent load rewrites nothing (processed_at and previous_month keep the
   values of the run that actually changed the row). `latest` is the CTE with the raw columns. #}
{% macro only_changed_versions(latest_alias, key_columns, target_keys=none) -%}
{%- set tkeys = target_keys or key_columns -%}
{%- if is_incremental() %}
left join (  -- the stored rows of the keys read, not a hash table of every stored key
    select s.* from {{ this }} as s
    semi join {{ latest_alias }} as l
        on {% for k in key_columns %}s.{{ tkeys[loop.index0] }} = l.{{ k }}{{ " and " if not loop.last }}{% endfor %}
) as stored
    on {% for k in key_columns %}stored.{{ tkeys[loop.index0] }} = {{ latest_alias }}.{{ k }}{{ " and " if not loop.last }}{% endfor %}
where stored.{{ tkeys[0] }} is null
   or stored.extract_date <> {{ latest_alias }}._extract_date
   or stored.content_hash <> {{ latest_alias }}._content_hash
   or stored.source_row_number <> {{ latest_alias }}._row_number
{%- endif %}
{%- endmacro %}


{# The month of the version a changed row replaces (NULL when new or in a full refresh), so the
   monthly intermediate models also recompute the month a record moved out of. #}
{% macro previous_value(column) -%}
{%- if is_incremental() -%}stored.{{ column }}{%- else -%}null{%- endif -%}
{%- endmacro %}


{# Post-hook: delete stored versions whose delivery was replaced by a re-issued extract when the
   key has no version left in raw (the re-issue dropped the record). #}
{% macro delete_withdrawn_versions(relation) -%}
{%- if is_incremental() -%}
{%- set recent_dates -%}
select distinct _extract_date from {{ relation }} where _loaded_at > {{ lookback_start() }}
{%- endset -%}
delete from {{ this }} as t
where t.extract_date in ({{ recent_dates }})
  and not exists (
        select 1 from {{ deliveries_in(relation, recent_dates) }} as r
        where r._extract_date = t.extract_date and r._content_hash = t.content_hash
    )
{%- else -%}
select 1
{%- endif -%}
{%- endmacro %}


{# When this run started: rows written by an incremental model carry it as processed_at, and the
   models downstream pick up rows processed after the newest processed_at they have seen. #}
{% macro run_timestamp() -%}
cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as timestamp)
{%- endmacro %}


{# Rows of an incremental upstream model processed since this model last ran (all in a full
   refresh). `watermark_column` is this model's own record of the newest processed_at it has seen. #}
{% macro processed_since_last_run(watermark_column='processed_at') -%}
{%- if is_incremental() -%}
processed_at > (select coalesce(max({{ watermark_column }}), timestamp '1900-01-01') from {{ this }})
{%- else -%}
true
{%- endif -%}
{%- endmacro %}


{# Periods (e.g. months) whose row total stored in an incremental aggregate differs from the
   number of rows now in staging: catches records withdrawn since the last run. `staging_cte` is
   the CTE over the staging model; the aggregate stores `incidents` per row. #}
{% macro monthly_count_drift(staging_cte, aggregate, period_column) -%}
select coalesce(s.{{ period_column }}, a.{{ period_column }}) as {{ period_column }}
from (select {{ period_column }}, count(*) as n from {{ staging_cte }} group by all) as s
full join (select {{ period_column }}, sum(incidents) as n from {{ aggregate }} group by all) as a
    on a.{{ period_column }} = s.{{ period_column }}
where coalesce(s.n, 0) <> coalesce(a.n, 0)
{%- endmacro %}


{# The lineage of the version a staging row holds, under the names the incremental macros above
   expect in the target (`alias` is the CTE with the raw columns). #}
{% macro version_lineage(alias) -%}
{{ alias }}._extract_date as extract_date,
    {{ alias }}._source_file as source_file,
    {{ alias }}._content_hash as content_hash,
    {{ alias }}._row_number as source_row_number,
    {{ alias }}._loaded_at as loaded_at
{%- endmacro %}


{# Incremental "every row of the current download" for raw tables without a row key, where a
   delivery replaces the earlier ones of its extract date and stream (police.uk: one force's
   month). Full refresh: every raw row. Incremental run: every raw row of the downloads
   (extract date, stream) that changed since the last run, i.e. that hold a delivery loaded in
   the last `incremental_lookback_days` whose content hash the target does not hold yet (a new
   download, one replacing an earlier download, or released rejected rows added to it). The
   model's unique_key is [extract_date, stream]: delete+insert swaps whole downloads, so a row
   is never merged with another (no key) and a replaced download leaves nothing behind.
   The target must carry extract_date, stream, content_hash and loaded_at. #}
{% macro incremental_changed_downloads(relation) -%}
{%- if is_incremental() -%}
with recent as (
    select distinct _extract_date, _stream, _content_hash
    from {{ relation }}
    where _loaded_at > {{ lookback_start() }}
),

changed as (
    select distinct recent._extract_date, recent._stream
    from recent
    where not exists (
        select 1
        from (select distinct extract_date, stream, content_hash from {{ this }}
              where extract_date in (select recent._extract_date from recent)) as t
        where t.extract_date = recent._extract_date and t.stream = recent._stream
          and t.content_hash = recent._content_hash
    )
)

select r.*
from {{ relation }} as r
semi join changed as c on c._extract_date = r._extract_date and c._stream = r._stream
{%- else -%}
select * from {{ relation }}
{%- endif -%}
{%- endmacro %}


{# Post-hook for incremental_changed_downloads: delete stored rows whose delivery is no longer in
   raw (a download replaced by one with no rows). One scan of three lineage columns of each side,
   compared as their few distinct downloads. #}
{% macro delete_withdrawn_downloads(relation) -%}
{%- if is_incremental() -%}
delete from {{ this }} as t
where not exists (
    select 1
    from (select distinct _extract_date, _stream, _content_hash from {{ relation }}) as r
    where r._extract_date = t.extract_date and r._stream = t.stream
      and r._content_hash = t.content_hash
)
{%- else -%}
select 1
{%- endif -%}
{%- endmacro %}
