# One place for set-up and the two README commands.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
UV     := $(BIN)/uv
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export GX_ANALYTICS_ENABLED := false
export AIRFLOW__COSMOS__ENABLE_TELEMETRY := False
export TQDM_DISABLE := 1

.PHONY: install demo test test-deps test-faults lint bench bench-scaleout lock clean deploy-test

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(UV): $(BIN)/python
	$(BIN)/python -m pip install -q uv==0.13.9

# Exact versions from requirements.lock; bytecode compiled (the machine sets PYTHONDONTWRITEBYTECODE).
$(VENV)/.installed: requirements.lock pyproject.toml | $(UV)
	$(UV) pip install --python $(BIN)/python --compile-bytecode -q -r requirements.lock
	$(UV) pip install --python $(BIN)/python --compile-bytecode -q --no-deps -e .
	$(BIN)/python -m csp_pipeline.ingest.data_docs_assets  # Data Docs' scripts and styles (npm)
	touch $@

install: $(VENV)/.installed

demo: install
	$(BIN)/csp demo

# The distribution's Chromium, poppler and npm (as root, when missing); PostgreSQL and Redis on
# loopback for the scale-out test.
test-deps:
	bash tests/support/system_deps.sh
	bash tests/support/backends.sh

test: test-deps install
	$(BIN)/python -m pytest -q

# The fault-injection suite (tests/faults): content faults through the real gate, process faults
# through real `csp run` nights. Rewrites tests/faults/results.json (the README's table).
test-faults: install
	$(BIN)/python -m pytest -q -m faults tests/faults

# Python: ruff (pyflakes, import order, bugbear; pyproject.toml). dbt SQL: sqlfluff (dbt_project/.sqlfluff).
lint: install
	$(BIN)/ruff check plugins dags tests benchmarks
	cd dbt_project && ../$(BIN)/sqlfluff lint models macros tests --disable-progress-bar

# At scale: 1M- and 10M-row nights against the DuckDB floor (files under /tmp; the 10M run takes
# a while), written to benchmarks/RESULTS.md. Then the smaller focused benchmarks.
bench: install
	$(BIN)/python benchmarks/bench_scale.py
	$(BIN)/python benchmarks/bench_load.py
	$(BIN)/python benchmarks/bench_night.py

# One Celery worker against two on the same backfill (needs PostgreSQL and Redis on loopback).
bench-scaleout: install
	bash tests/support/backends.sh
	$(BIN)/python benchmarks/bench_scaleout.py

# The docker-compose stack built, run for two nights on two Celery workers, checked, torn down
# (root; installs Docker from the distribution's packages if missing). About 20 minutes.
deploy-test: install
	bash tests/deploy/deploy_test.sh

lock: | $(UV)
	$(UV) pip compile pyproject.toml --extra dev --extra scaleout -p 3.11 -o requirements.lock

clean:
	rm -rf $(VENV) data
