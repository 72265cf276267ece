{# Generated from plugins/csp_pipeline/core/feeds.yml (code_lists) and core/ledger.py (delivery_status) by `csp generated --write`. Do not edit. #}
{% macro code_list(name) -%}
{%- set lists = {
    'board_partner': [
        'Police',
        'Social care',
        'Education',
        'Health',
        'Probation'],
    'care_status': [
        'CIOC',
        'CP',
        'CIN',
        'NONE'],
    'crime_type': [
        'Anti-social behaviour',
        'Bicycle theft',
        'Burglary',
        'Criminal damage and arson',
        'Drugs',
        'Other crime',
        'Other theft',
        'Possession of weapons',
        'Public order',
        'Robbery',
        'Shoplifting',
        'Theft from the person',
        'Vehicle crime',
        'Violence and sexual offences'],
    'delivery_status': [
        'loaded',
        'quarantined',
        'superseded',
        'released'],
    'discharge_reason': [
        'Treatment completed - drug free',
        'Treatment completed - alcohol free',
        'Treatment completed - occasional user',
        'Dropped out/left',
        'Treatment withdrawn',
        'Transferred - not in custody',
        'Transferred - in custody',
        'Moved away',
        'Died',
        'Treatment declined'],
    'drug': [
        'Heroin',
        'Methadone',
        'Buprenorphine',
        'Other opiate',
        'Crack cocaine',
        'Cocaine',
        'Cannabis',
        'Amphetamine',
        'Ecstasy',
        'Ketamine',
        'Benzodiazepines',
        'New psychoactive substance',
        'Alcohol'],
    'ethnicity': [
        'White',
        'Mixed',
        'Asian',
        'Black',
        'Other',
        'Not known'],
    'exclusion_category': [
        'SUSP',
        'PERM'],
    'fire_incident_type': [
        'Primary fire',
        'Secondary fire',
        'Chimney fire',
        'False alarm',
        'Non-fire incident'],
    'fire_motive': [
        'Accidental',
        'Deliberate',
        'Not known'],
    'fire_property_category': [
        'Dwelling',
        'Other building',
        'Road vehicle',
        'Other outdoor',
        'Grassland/refuse'],
    'neet_activity_group': [
        'EET',
        'NEET',
        'NOT_KNOWN'],
    'sen_provision': [
        'N',
        'K',
        'E'],
    'sex': [
        'M',
        'F',
        'U'],
    'term': [
        'Autumn',
        'Spring',
        'Summer'],
    'yes_no': [
        'Y',
        'N']
} -%}
{%- if name not in lists -%}
    {{ exceptions.raise_compiler_error('no code list ' ~ name ~ ' in feeds.yml') }}
{%- endif -%}
{{ return(lists[name]) }}
{%- endmacro %}
