-- yj_custody: financial years are written 'YYYY-YY' and run 1 April to 31 March (README, "Marts").
select la_code, financial_year, period_start, period_end
from {{ ref('yj_custody') }}
where not regexp_full_match(financial_year, '\d{4}-\d{2}')
   or financial_year <> strftime(period_start, '%Y') || '-' || strftime(period_end, '%y')
   or month(period_start) <> 4 or day(period_start) <> 1
   or period_end <> cast(period_start + interval 1 year - interval 1 day as date)
