#!/usr/bin/env bash
# `make deploy-test`: the docker-compose stack built, started and run for two nights on this
# machine, checked through the Airflow REST API, then torn down. Run as root.
#
# Stages: Docker engine (installed from the distribution's packages if missing) -> a local Python
# base image (debootstrap of the distribution's python3, `docker import`; no image registry is
# reachable here) -> a wheelhouse from requirements.lock built on the host and served on loopback
# to the image build -> the stack up (docker-compose.yml + docker-compose.test.yml: this machine's
# PostgreSQL and Redis on loopback, two Celery worker containers) -> two nights landed with
# `csp generate` and run by the scheduler (feed DAGs triggered per night, the warehouse DAG by
# their Assets after the second, then housekeeping) -> checks (every run and task succeeded,
# tasks on both workers, the published snapshot holds the marts) -> teardown.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
CACHE=${CSP_DEPLOY_CACHE:-$HOME/.cache/csp-deploy}
BASE_IMAGE=${CSP_DEPLOY_BASE_IMAGE:-csp-local/python:3.11-bookworm}
NIGHTS=(2024-05-30 2024-05-31)
WORKERS=csp-worker-1,csp-worker-2
STARTED=$SECONDS
RUN=$(python3 -c 'import uuid; print(uuid.uuid4().hex[:8])')
WORK=$(mktemp -d /tmp/csp-deploy-test.XXXXXX)
PROJECT=cspdeploy$RUN
DB=csp_deploy_$RUN
STARTED_DOCKERD= HTTP_PID=

stage() { printf '\n== [%4ds] %s\n' "$((SECONDS - STARTED))" "$*"; }
fail() { echo "deploy-test FAILED: $*" >&2; exit 1; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
secret() { python3 -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())'; }
compose() { $COMPOSE -p "$PROJECT" -f "$WORK/stack.yml" "$@"; }

teardown() {
  local rc=$?
  stage "teardown"
  if [ -n "${COMPOSE:-}" ] && [ -f "$WORK/stack.yml" ]; then
    if [ "$rc" -ne 0 ]; then
      compose ps || true
      compose logs --tail=40 >"$WORK/stack.log" 2>&1 || true
      tail -n 200 "$WORK/stack.log" || true
    fi
    compose down -v --remove-orphans --timeout 30 >/dev/null 2>&1 || true
    echo "  stack $PROJECT down, its volumes removed"
  fi
  [ -n "$HTTP_PID" ] && kill "$HTTP_PID" 2>/dev/null || true
  psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  redis-cli -h 127.0.0.1 -n 14 del "csp_deploy_$RUN" "_kombu.binding.csp_deploy_$RUN" >/dev/null 2>&1 || true
  echo "  database $DB dropped"
  if [ -n "$STARTED_DOCKERD" ]; then
    kill "$STARTED_DOCKERD" 2>/dev/null && echo "  dockerd (pid $STARTED_DOCKERD) stopped" || true
  fi
  rm -rf "$WORK"
  if [ "$rc" -eq 0 ]; then
    printf '\ndeploy-test passed in %d s\n' "$((SECONDS - STARTED))"
  else
    printf '\ndeploy-test FAILED (exit %d) after %d s\n' "$rc" "$((SECONDS - STARTED))"
  fi
  exit "$rc"
}
trap teardown EXIT
trap 'exit 130' INT TERM

stage "Docker engine and backends"
[ "$(id -u)" = 0 ] || fail "run as root (installs packages, starts dockerd)"
if ! command -v dockerd >/dev/null || ! command -v docker-compose >/dev/null \
   || ! command -v debootstrap >/dev/null; then
  echo "  installing docker.io, docker-compose and debootstrap from the distribution"
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker.io docker-compose debootstrap >/dev/null
fi
if ! docker info >/dev/null 2>&1; then
  dockerd >"$WORK/dockerd.log" 2>&1 &
  STARTED_DOCKERD=$!
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { tail "$WORK/dockerd.log"; fail "dockerd did not start"; }
  echo "  dockerd started (pid $STARTED_DOCKERD)"
fi
if docker compose version >/dev/null 2>&1; then COMPOSE="docker compose"; else COMPOSE=docker-compose; fi
echo "  $(docker version --format 'engine {{.Server.Version}}'); compose: $($COMPOSE version --short 2>/dev/null || $COMPOSE version | head -1)"
tests/support/backends.sh | sed 's/^/  /'

stage "Python base image $BASE_IMAGE (debootstrap of the distribution's python3)"
if docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
  echo "  present"
else
  mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  [ -n "$mirror" ] || mirror=$(awk '/^deb / {print $2; exit}' /etc/apt/sources.list)
  debootstrap --variant=minbase --include=python3,python3-venv bookworm "$WORK/rootfs" "$mirror" \
    >"$WORK/debootstrap.log" 2>&1 || { tail "$WORK/debootstrap.log"; fail "debootstrap"; }
  rm -rf "$WORK"/rootfs/var/cache/apt/archives/*.deb "$WORK"/rootfs/var/lib/apt/lists/*
  tar -C "$WORK/rootfs" -c . | docker import \
    -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    -c 'CMD ["python3"]' - "$BASE_IMAGE" >/dev/null
  rm -rf "$WORK/rootfs"
  echo "  built: $(docker run --rm "$BASE_IMAGE" python3 --version)"
fi

stage "Wheelhouse from requirements.lock (built on the host, served on loopback to the build)"
lock_sum=$(sha256sum requirements.lock | cut -c1-16)
wheels=$CACHE/wheelhouse-$lock_sum
if [ ! -f "$wheels/.complete" ]; then
  mkdir -p "$wheels"
  python3 -m pip wheel -q --no-deps -r requirements.lock 'setuptools>=68' wheel -w "$wheels" \
    >"$WORK/wheel.log" 2>&1 || { tail "$WORK/wheel.log"; fail "pip wheel"; }
  touch "$wheels/.complete"
fi
echo "  $(ls "$wheels"/*.whl | wc -l) wheels in $wheels"
# A fixed port when free: the URL is a build argument, and a new value invalidates the build cache.
WHEEL_PORT=47811
python3 -c "import socket; socket.socket().bind(('127.0.0.1', $WHEEL_PORT))" 2>/dev/null \
  || WHEEL_PORT=$(free_port)
python3 -m http.server --bind 127.0.0.1 "$WHEEL_PORT" --directory "$wheels" >/dev/null 2>&1 &
HTTP_PID=$!

API_PORT=$(free_port)
ADMIN_PASSWORD=$(secret)
cat >"$WORK/test.env" <<EOF
POSTGRES_PASSWORD=$(secret)
AIRFLOW__CORE__FERNET_KEY=$(secret)
AIRFLOW__API_AUTH__JWT_SECRET=$(secret)
AIRFLOW_ADMIN_PASSWORD=$ADMIN_PASSWORD
CSP_PSEUDONYM_KEY=$(secret)
CSP_IMAGE=csp-pipeline-airflow:deploy-test
BASE_IMAGE=$BASE_IMAGE
CSP_TEST_WHEELHOUSE_URL=http://127.0.0.1:$WHEEL_PORT/
CSP_TEST_DB=$DB
CSP_TEST_QUEUE=csp_deploy_$RUN
CSP_TEST_API_PORT=$API_PORT
CSP_TEST_HEALTH_PORT=$(free_port)
EOF
chmod 600 "$WORK/test.env"
# docker-compose.yml + the test override, resolved; then what host networking needs (host_stack.py)
umask 077
$COMPOSE --env-file "$WORK/test.env" -p "$PROJECT" -f docker-compose.yml \
  -f tests/deploy/docker-compose.test.yml config | .venv/bin/python tests/deploy/host_stack.py \
  >"$WORK/stack.yml"
umask 022

stage "Image build (base image as build argument, wheels from the wheelhouse)"
compose build airflow-init >"$WORK/build.log" 2>&1 || { tail -30 "$WORK/build.log"; fail "image build"; }
kill "$HTTP_PID"; HTTP_PID=
docker run --rm csp-pipeline-airflow:deploy-test bash -c \
  'test -s /opt/csp/dbt_project/target/manifest.json && echo "  image built: $(airflow version) Airflow, dbt manifest baked in"'

stage "Stack up: init, api-server, scheduler, dag-processor, triggerer, two Celery workers"
psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $DB" >/dev/null
compose up -d --no-build >"$WORK/up.log" 2>&1 || { cat "$WORK/up.log"; fail "compose up"; }
init_log=$(compose logs airflow-init)
grep -q "metadata DB migrated" <<<"$init_log" || fail "airflow-init did not finish"
services="airflow-apiserver airflow-scheduler airflow-dag-processor airflow-triggerer airflow-worker airflow-worker-2"
deadline=$((SECONDS + 300))
for service in $services; do
  id=$(compose ps -q "$service")
  [ -n "$id" ] || fail "$service has no container"
  until [ "$(docker inspect -f '{{.State.Health.Status}}' "$id")" = healthy ]; do
    [ "$SECONDS" -lt "$deadline" ] || fail "$service is not healthy after 300 s"
    sleep 3
  done
  echo "  $service healthy (container $(docker inspect -f '{{.Config.Hostname}}' "$id"))"
done

export CSP_TEST_API_URL=http://127.0.0.1:$API_PORT AIRFLOW_ADMIN_PASSWORD=$ADMIN_PASSWORD
python3 tests/deploy/stack_api.py ready

# The first night is a backlog night: the warehouse DAG stays paused, so the second night's feed
# Assets start one warehouse build over both (a build is 52 dbt tasks through the one-slot
# writer pool: several minutes here).
for night in "${NIGHTS[@]}"; do
  if [ "$night" = "${NIGHTS[-1]}" ]; then mode=; what="the feeds, then the warehouse (Assets)"
  else mode=feeds-only; what="the feeds (warehouse DAG paused)"; fi
  stage "Night $night: extracts land; the scheduler runs $what on the workers"
  compose exec -T airflow-scheduler csp generate --out /opt/csp/data/landing \
    --start "$night" --end "$night" --scale 0.3 | awk '{n += $2} END {print "  landed " n " rows"}'
  python3 tests/deploy/stack_api.py night "$night" $mode
done

stage "Housekeeping for ${NIGHTS[-1]}"
python3 tests/deploy/stack_api.py housekeeping "${NIGHTS[-1]}"

stage "Checks: every run and task succeeded, on both workers"
python3 tests/deploy/stack_api.py check "$WORKERS"

stage "Checks: the published snapshot holds the marts"
compose exec -T airflow-scheduler python - <<'EOF'
import json, sys
from pathlib import Path
import duckdb
from csp_pipeline.publish.disclosure import load_policy
current = Path("/opt/csp/data/published/current")
manifest = json.loads((current / "manifest.json").read_text())
expected = sorted(load_policy().marts)
if sorted(manifest["marts"]) != expected:
    sys.exit(f"published marts {sorted(manifest['marts'])} != declared {expected}")
for mart in expected:
    n = duckdb.sql(f"SELECT count(*) FROM '{current / 'parquet' / (mart + '.parquet')}'").fetchone()[0]
    print(f"  {mart:34} {n:6} rows")
print(f"  snapshot of run {manifest['run_id']}: {len(expected)} marts, "
      f"{manifest['suppressed_cells']} cells suppressed")
EOF
