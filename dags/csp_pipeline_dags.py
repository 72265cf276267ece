"""The pipeline's DAGs: one ingest DAG per declared feed and the warehouse build (see feeds.yml)."""

from csp_pipeline.airflow_dags import all_dags

globals().update(all_dags())
