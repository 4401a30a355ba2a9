#!/usr/bin/env bash
# Faults under load on a production stack of its own (own PostgreSQL and Redis, free ports,
# a temporary folder, small scale data): kill -9 a gunicorn worker and the RQ workers,
# restart the workers, restart PostgreSQL, stop and start Redis; print what survived.
#   scripts/faults.sh            # about three minutes
#   scripts/faults.sh --short    # under a minute (the test runs this)
set -euo pipefail
cd "$(dirname "$0")/.."
# Three distinct free ports below the kernel's ephemeral range. A port the kernel hands out
# for port 0 is in that range: until the stack binds it, seconds later, any outgoing
# connection or another server may take it. Once the port was free here but a Redis then held
# it, and gunicorn could not bind it: the readiness probe reached that Redis, which closes on
# HTTP ("Empty reply from server").
free_ports() {
  .venv/bin/python - <<'PY'
import random
import socket

with open("/proc/sys/net/ipv4/ip_local_port_range") as ports:
    high = int(ports.read().split()[0]) - 1
held: list[socket.socket] = []
while len(held) < 3:
    candidate = socket.socket()
    try:
        candidate.bind(("127.0.0.1", random.randint(20000, high)))
    except OSError:
        candidate.close()
        continue
    held.append(candidate)
print(*(s.getsockname()[1] for s in held))
PY
}
tmp=""
if [ -z "${FINPORTAL_PROD_DIR:-}" ]; then
  tmp=$(mktemp -d /tmp/finportal-faults.XXXXXX)
  chmod 755 "$tmp"
  export FINPORTAL_PROD_DIR=$tmp
fi
read -r http_port pg_port redis_port < <(free_ports)
export FINPORTAL_HTTP_PORT=${FINPORTAL_HTTP_PORT:-$http_port}
export FINPORTAL_PG_PORT=${FINPORTAL_PG_PORT:-$pg_port}
export FINPORTAL_REDIS_PORT=${FINPORTAL_REDIS_PORT:-$redis_port}
export FINPORTAL_WEB_WORKERS=${FINPORTAL_WEB_WORKERS:-2}
export FINPORTAL_RQ_WORKERS=${FINPORTAL_RQ_WORKERS:-2}
# The stack's own services: this script restarts and stops them.
unset FINPORTAL_DATABASE_URL FINPORTAL_REDIS_URL FINPORTAL_INSTANCE_PATH
cleanup() {
  scripts/prod.sh stop >/dev/null 2>&1 || true
  [ -n "$tmp" ] && rm -rf "$tmp"
}
trap cleanup EXIT
scripts/prod.sh start
eval "$(scripts/prod.sh env)"
.venv/bin/flask --app wsgi scale-data --scale 0.002 --packets 0 --no-demo >"$FINPORTAL_PROD_DIR/logs/scale-data.log" 2>&1
.venv/bin/python loadtest/faults.py "$@"
