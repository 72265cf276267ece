"""Airflow: the DAG factory, the `csp run` runner, alerts and the Airflow environment.

Imports from every stage below it; nothing below imports it.
"""
