-- Data-quality health per feed, file kind and extract date, from the pipeline's own ledger:
-- what was delivered, what the gate checked and found, and where each extract stands now.
with deliveries as (
    select feed, kind, extract_date, content_hash, run_id, rows, rows_rejected, status,
        processed_at
    from {{ source('meta', 'deliveries') }}
),

checks as (
    select
        feed, kind, extract_date, content_hash, run_id,
        count(*) as checks,
        count(*) filter (where not success and severity = 'blocking') as blocking_failures,
        count(*) filter (where not success and severity = 'reject') as reject_failures,
        count(*) filter (where not success and severity = 'warning') as warnings
    from {{ source('meta', 'validation_results') }}
    group by all
),

per_date as (
    select
        d.feed, d.kind, d.extract_date,
        count(distinct d.content_hash) as files,
        coalesce(sum(d.rows) filter (where d.status = 'loaded'), 0) as rows_loaded,
        coalesce(sum(d.rows_rejected) filter (where d.status = 'loaded'), 0) as rows_rejected,
        count(distinct d.content_hash) filter (where d.status = 'quarantined')
            as quarantined_files,
        max(d.processed_at) as last_processed_at
    from deliveries as d
    group by all
),

checks_per_date as (
    select
        feed, kind, extract_date,
        sum(checks) as checks,
        sum(blocking_failures) as blocking_failures,
        sum(reject_failures) as reject_failures,
        sum(warnings) as warnings
    from checks
    group by all
),

latest as (
    -- the most recent delivery of each kind and date decides its status
    select
        d.feed, d.kind, d.extract_date, d.status, d.rows_rejected as latest_rows_rejected,
        coalesce(c.warnings, 0) as latest_warnings
    from deliveries as d
    left join checks as c using (feed, kind, extract_date, content_hash, run_id)
    qualify row_number() over (
        partition by d.feed, d.kind, d.extract_date order by d.processed_at desc
    ) = 1
)

select
    p.feed || '/' || p.kind || '/' || strftime(p.extract_date, '%Y-%m-%d') as health_key,
    p.feed,
    p.kind,
    p.extract_date,
    p.files,
    p.rows_loaded as rows,
    p.rows_rejected,
    coalesce(c.checks, 0) as checks,
    coalesce(c.blocking_failures, 0) as blocking_failures,
    coalesce(c.reject_failures, 0) as reject_failures,
    coalesce(c.warnings, 0) as warnings,
    p.quarantined_files,
    case
        when l.status = 'loaded' and l.latest_rows_rejected > 0 then 'loaded_with_rejects'
        when l.status = 'loaded' and l.latest_warnings > 0 then 'loaded_with_warnings'
        else l.status  -- loaded, quarantined, or released (to be audited on the next run)
    end as status,
    p.last_processed_at
from per_date as p
inner join latest as l using (feed, kind, extract_date)
left join checks_per_date as c using (feed, kind, extract_date)
