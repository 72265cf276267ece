-- One row: the span of the youth justice data. `first_date` is the earliest outcome date;
-- `data_as_of` is the latest extract date of the outcomes and offences extracts (what is known up
-- to). Marts build their periods from these bounds and judge completeness against `data_as_of`.
with dates as (
    select outcome_date as event_date, extract_date from {{ ref('stg_youth_justice__outcomes') }}
    union all
    select null as event_date, extract_date from {{ ref('stg_youth_justice__offences') }}
)

select
    min(event_date) as first_date,
    max(extract_date) as data_as_of,
    cast(date_trunc('quarter', min(event_date)) as date) as first_quarter,
    cast(date_trunc('quarter', max(extract_date)) as date) as last_quarter
from dates
having count(event_date) > 0
