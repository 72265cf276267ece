"""dbt around the warehouse: generated sources and models, and the dbt docs site.

Imports from core and ingest (the suites that generated files mirror).
"""
