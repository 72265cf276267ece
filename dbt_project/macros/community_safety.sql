{# The 14 police.uk crime categories (contracts/feeds.md); anti-social behaviour is one of them. #}
{% macro crime_types() -%}
['Anti-social behaviour', 'Bicycle theft', 'Burglary', 'Criminal damage and arson', 'Drugs',
 'Other crime', 'Other theft', 'Possession of weapons', 'Public order', 'Robbery', 'Shoplifting',
 'Theft from the person', 'Vehicle crime', 'Violence and sexual offences']
{%- endmacro %}

{# Fire incident types that count as fires (primary, secondary and chimney fires). #}
{% macro fire_incident_types() -%}
('Primary fire', 'Secondary fire', 'Chimney fire')
{%- endmacro %}

{# Discharge reasons that are a successful completion of drug or alcohol treatment (NDTMS). #}
{% macro successful_discharge_reasons() -%}
('Treatment completed - drug free', 'Treatment completed - alcohol free',
 'Treatment completed - occasional user')
{%- endmacro %}
