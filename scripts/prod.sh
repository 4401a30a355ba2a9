#!/usr/bin/env bash
# The production stack on one machine, every service on loopback, logs in one folder:
#   PostgreSQL, Redis (append-only file), gunicorn (sync workers), RQ workers, RQ's cron scheduler.
#
#   scripts/prod.sh start     # start (or adopt) everything, migrate, wait until /health/ready
#   scripts/prod.sh stop      # stop what start started
#   scripts/prod.sh status    # pids and readiness
#   scripts/prod.sh env       # print the environment the stack runs with (to `eval` in a shell)
#   scripts/prod.sh revive    # start again whatever died (the faults script)
#   scripts/prod.sh restart-postgres   # restart the stack's own PostgreSQL (the faults script)
#
# Settings (environment):
#   FINPORTAL_PROD_DIR      folder for data, logs and pids     (default: instance/prod)
#   FINPORTAL_WEB_WORKERS   gunicorn sync workers               (default: 4)
#   FINPORTAL_RQ_WORKERS    RQ worker processes                 (default: 2)
#   FINPORTAL_HTTP_PORT     gunicorn port on 127.0.0.1          (default: 8000)
#   FINPORTAL_PG_PORT       PostgreSQL port on 127.0.0.1        (default: 5433)
#   FINPORTAL_REDIS_PORT    Redis port on 127.0.0.1             (default: 6380)
#   FINPORTAL_DATABASE_URL  use this database instead of starting PostgreSQL
#   FINPORTAL_REDIS_URL     use this Redis instead of starting one
#   FINPORTAL_COOKIE_SECURE 1 behind a TLS proxy; 0 (default here) for plain HTTP on loopback
#   FINPORTAL_READY_SECONDS how long `start` waits for /health/ready (default: 120)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
action=${1:-status}
dir=$(realpath -m "${FINPORTAL_PROD_DIR:-instance/prod}")
web_workers=${FINPORTAL_WEB_WORKERS:-4}
rq_workers=${FINPORTAL_RQ_WORKERS:-2}
http_port=${FINPORTAL_HTTP_PORT:-8000}
pg_port=${FINPORTAL_PG_PORT:-5433}
redis_port=${FINPORTAL_REDIS_PORT:-6380}
logs=$dir/logs run=$dir/run
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
pg_options="-p $pg_port -k $dir/pg -c listen_addresses=127.0.0.1 -c max_connections=200 -c shared_buffers=512MB"

# The stack's own PostgreSQL and Redis unless a URL names others (`env` remembers which).
own_pg=${FINPORTAL_PROD_OWN_PG:-1}; [ -n "${FINPORTAL_DATABASE_URL:-}" ] && [ -z "${FINPORTAL_PROD_OWN_PG:-}" ] && own_pg=0
own_redis=${FINPORTAL_PROD_OWN_REDIS:-1}; [ -n "${FINPORTAL_REDIS_URL:-}" ] && [ -z "${FINPORTAL_PROD_OWN_REDIS:-}" ] && own_redis=0

environment() {
  mkdir -p "$dir/instance" "$run/metrics"
  if [ ! -s "$dir/secret_key" ]; then
    (umask 077; python3 -c 'import secrets; print(secrets.token_hex(32))' >"$dir/secret_key")
  fi
  cat <<ENV
export FINPORTAL_ENV=production
export FINPORTAL_SECRET_KEY=$(cat "$dir/secret_key")
export FINPORTAL_COOKIE_SECURE=${FINPORTAL_COOKIE_SECURE:-0}
export FINPORTAL_DATABASE_URL=${FINPORTAL_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:$pg_port/finportal}
export FINPORTAL_REDIS_URL=${FINPORTAL_REDIS_URL:-redis://127.0.0.1:$redis_port/0}
export FINPORTAL_JOBS_MODE=rq
export FINPORTAL_INSTANCE_PATH=${FINPORTAL_INSTANCE_PATH:-$dir/instance}
export FINPORTAL_LOG_FORMAT=json
export FINPORTAL_BASE_URL=${FINPORTAL_BASE_URL:-http://127.0.0.1:$http_port}
export FINPORTAL_BIND=127.0.0.1:$http_port
export FINPORTAL_WEB_WORKERS=$web_workers
export PROMETHEUS_MULTIPROC_DIR=$run/metrics
export FINPORTAL_PROD_OWN_PG=$own_pg
export FINPORTAL_PROD_OWN_REDIS=$own_redis
export FINPORTAL_PROD_LOGS=$logs
export FINPORTAL_PROD_RUN=$run
ENV
}

alive() { [ -s "$run/$1.pid" ] && kill -0 "$(cat "$run/$1.pid")" 2>/dev/null; }
wait_pidfile() { for _ in $(seq 50); do [ -s "$run/$1.pid" ] && return; sleep 0.1; done; }

# Start a program in its own session with its pid in run/NAME.pid and its output in logs/NAME.log.
launch() {
  local name=$1; shift
  if alive "$name"; then echo "  $name already running (pid $(cat "$run/$name.pid"))"; return; fi
  rm -f "$run/$name.pid"
  # The program writes its own pid once in its new session (setsid may fork).
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$run/$name.pid" "$@" >>"$logs/$name.log" 2>&1 < /dev/null &
  wait_pidfile "$name"
  echo "  $name started (pid $(cat "$run/$name.pid"), log $logs/$name.log)"
}

start_postgres() {
  [ "$own_pg" = 1 ] || { echo "  PostgreSQL: using $FINPORTAL_DATABASE_URL"; return; }
  mkdir -p "$dir/pg"
  touch "$logs/postgresql.log"
  if [ "$(id -u)" = 0 ]; then
    # PostgreSQL runs as its own user: it must pass through the folders (not list them),
    # whatever umask the caller had (a test worker runs with the app's 077).
    chmod o+x "$dir" "$logs"
    chown postgres:postgres "$dir/pg" "$logs/postgresql.log"
  fi
  if [ ! -f "$dir/pg/data/PG_VERSION" ]; then
    as_pg "$pgbin/initdb" -D "$dir/pg/data" -U postgres -A trust -E UTF8 >/dev/null
  fi
  if as_pg "$pgbin/pg_ctl" -D "$dir/pg/data" status >/dev/null 2>&1; then
    echo "  PostgreSQL already running"
  else
    as_pg "$pgbin/pg_ctl" -D "$dir/pg/data" -l "$logs/postgresql.log" -w -o "$pg_options" start >/dev/null
    echo "  PostgreSQL started on 127.0.0.1:$pg_port (log $logs/postgresql.log)"
  fi
  as_pg "$pgbin/psql" -h 127.0.0.1 -p "$pg_port" -U postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname='finportal'" | grep -q 1 ||
    as_pg "$pgbin/createdb" -h 127.0.0.1 -p "$pg_port" -U postgres finportal
}

start_redis() {
  [ "$own_redis" = 1 ] || { echo "  Redis: using $FINPORTAL_REDIS_URL"; return; }
  mkdir -p "$dir/redis"
  if redis-cli -p "$redis_port" ping >/dev/null 2>&1; then echo "  Redis already running"; return; fi
  # Append-only file: queued jobs survive a Redis restart (the database keeps them anyway).
  redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$dir/redis" --appendonly yes --save "" \
    --daemonize yes --pidfile "$run/redis.pid" --logfile "$logs/redis.log"
  for _ in $(seq 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  echo "  Redis started on 127.0.0.1:$redis_port (log $logs/redis.log)"
}

# Start a program that is started again whenever it exits (as systemd's Restart=always
# would): an RQ worker exits when Redis goes away and must come back when Redis does.
supervise() {
  local name=$1; shift
  if alive "$name"; then echo "  $name already running (pid $(cat "$run/$name.pid"))"; return; fi
  rm -f "$run/$name.pid"
  setsid bash -c 'echo $$ >"$0"; while :; do "$@"; echo "$(date -u +%FT%TZ) exited ($?), starting again in 2 s" >&2; sleep 2; done' \
    "$run/$name.pid" "$@" >>"$logs/$name.log" 2>&1 < /dev/null &
  wait_pidfile "$name"
  echo "  $name started, restarted whenever it exits (pid $(cat "$run/$name.pid"), log $logs/$name.log)"
}

start_web() {
  launch web "$root/.venv/bin/gunicorn" -c "$root/scripts/gunicorn.conf.py" --chdir "$root" wsgi:app
}

start_workers() {
  for i in $(seq "$rq_workers"); do
    supervise "rq-worker-$i" "$root/.venv/bin/flask" --app wsgi jobs worker
  done
  supervise scheduler "$root/.venv/bin/flask" --app wsgi jobs scheduler
}

wait_ready() {
  # On a machine busy with other work (the test command runs its suites beside the faults
  # test's stack), every process of the stack loads the app at once: give them time, and
  # say why when it is not enough.
  local url="http://127.0.0.1:$http_port/health/ready" seconds=${FINPORTAL_READY_SECONDS:-120}
  local deadline=$((SECONDS + seconds))
  while [ "$SECONDS" -lt "$deadline" ]; do
    if curl -fsS --max-time 10 "$url" >/dev/null 2>&1; then echo "ready: $url"; return 0; fi
    sleep 0.5
  done
  echo "not ready after $seconds s: $(curl -sS --max-time 10 "$url" 2>&1 | head -c 400)" >&2
  echo "last lines of $logs/web.log:" >&2
  tail -n 40 "$logs/web.log" >&2 || true
  return 1
}

stop_name() {
  local name=$1 pid
  alive "$name" || { rm -f "$run/$name.pid"; return 0; }
  pid=$(cat "$run/$name.pid")
  # Each program runs in its own session (setsid): stop its whole process group.
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  rm -f "$run/$name.pid"
  echo "  $name stopped"
}

case $action in
  start)
    mkdir -p "$logs" "$run"
    eval "$(environment)"
    echo "FinPortal production stack in $dir"
    start_postgres
    start_redis
    # Metrics of processes from an earlier run would be added to this run's.
    rm -rf "$run/metrics" && mkdir -p "$run/metrics"
    if ! "$root/.venv/bin/flask" --app wsgi db upgrade >>"$logs/migrate.log" 2>&1; then
      echo "  the database could not be migrated; the end of $logs/migrate.log:" >&2
      tail -n 3 "$logs/migrate.log" >&2
      exit 1
    fi
    echo "  database migrated (log $logs/migrate.log)"
    start_web
    start_workers
    wait_ready
    ;;
  stop)
    echo "stopping FinPortal production stack in $dir"
    stop_name scheduler
    for f in "$run"/rq-worker-*.pid; do [ -e "$f" ] && stop_name "$(basename "$f" .pid)"; done
    stop_name web
    if [ "$own_redis" = 1 ] && redis-cli -p "$redis_port" ping >/dev/null 2>&1; then
      redis-cli -p "$redis_port" shutdown >/dev/null 2>&1 || true
      for _ in $(seq 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 || break; sleep 0.1; done
      if alive redis; then kill -TERM "$(cat "$run/redis.pid")" 2>/dev/null || true; fi
      echo "  Redis stopped"
    fi
    if [ "$own_pg" = 1 ] && [ -f "$dir/pg/data/PG_VERSION" ]; then
      as_pg "$pgbin/pg_ctl" -D "$dir/pg/data" -m fast -w stop >/dev/null 2>&1 && echo "  PostgreSQL stopped" || true
    fi
    ;;
  status)
    for f in "$run"/*.pid; do
      [ -e "$f" ] || continue
      name=$(basename "$f" .pid)
      if kill -0 "$(cat "$f")" 2>/dev/null; then echo "  $name: running (pid $(cat "$f"))"; else echo "  $name: dead"; fi
    done
    curl -sS "http://127.0.0.1:$http_port/health/ready" || echo "web: not answering"
    echo
    ;;
  env)
    environment
    ;;
  revive)
    # Start again whatever died (no migration, no wait): the faults script's restart.
    mkdir -p "$logs" "$run"
    eval "$(environment)"
    start_postgres
    start_redis
    start_web
    start_workers
    ;;
  restart-postgres)
    # For the faults script: connections drop, the web workers' pools reconnect on their own.
    [ "$own_pg" = 1 ] || { echo "PostgreSQL is not this stack's own" >&2; exit 1; }
    as_pg "$pgbin/pg_ctl" -D "$dir/pg/data" -l "$logs/postgresql.log" -m fast -w -o "$pg_options" restart >/dev/null
    echo "PostgreSQL restarted"
    ;;
  *)
    echo "usage: scripts/prod.sh start|stop|status|env|revive|restart-postgres" >&2
    exit 2
    ;;
esac
