"""The pipeline's Airflow DAGs: one ingest DAG per declared feed and the warehouse build (see
feeds.yml). The word "airflow" must stay in this file: Airflow's safe mode skips DAG files without it."""

from csp_pipeline.orchestration.dags import all_dags

globals().update(all_dags())
