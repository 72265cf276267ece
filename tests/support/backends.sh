#!/usr/bin/env bash
# PostgreSQL and Redis on loopback, as the scale-out tests expect them (the project's machines run
# both, with trust auth on 127.0.0.1). Starts a stopped server; on a machine without them, installs
# Debian's packages and allows trust auth from loopback. Idempotent; run as root.
set -euo pipefail

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
redis_up() { [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = PONG ]; }

if ! command -v pg_ctlcluster >/dev/null || ! command -v redis-server >/dev/null; then
  echo "backends: installing postgresql and redis-server"
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql redis-server >/dev/null
  for hba in /etc/postgresql/*/main/pg_hba.conf; do
    grep -q '^host all all 127.0.0.1/32 trust' "$hba" \
      || sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
  done
fi
if ! pg_up; then
  echo "backends: starting PostgreSQL"
  for version in $(ls /etc/postgresql); do
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  done
fi
if ! redis_up; then
  echo "backends: starting Redis"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
fi
for _ in $(seq 30); do pg_up && redis_up && break; sleep 1; done
pg_up || { echo "backends: PostgreSQL is not answering on 127.0.0.1:5432" >&2; exit 1; }
redis_up || { echo "backends: Redis is not answering on 127.0.0.1:6379" >&2; exit 1; }
echo "backends: PostgreSQL and Redis answer on loopback"
