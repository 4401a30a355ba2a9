#!/usr/bin/env bash
# Set up and run the whole test suite: lint, types, tests on SQLite, then on a throwaway
# PostgreSQL (with Redis for the RQ job runner), browser tests in Debian's Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test

work=$(mktemp -d /tmp/finportal-test.XXXXXX)
chmod 755 "$work"
pg_port=${FINPORTAL_TEST_PG_PORT:-54329}
redis_port=${FINPORTAL_TEST_REDIS_PORT:-63799}
cleanup() {
  scripts/pg.sh stop "$work/pg" >/dev/null 2>&1 || true
  [ -f "$work/redis.pid" ] && kill "$(cat "$work/redis.pid")" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# Every step runs; the script fails at the end if any step failed.
failed=()
step() { local name=$1; shift; echo "== $name"; "$@" || failed+=("$name"); }

step "ruff check" .venv/bin/ruff check .
step "ruff format" .venv/bin/ruff format --check .
step "mypy (products, scoring)" .venv/bin/mypy

echo "== starting PostgreSQL and Redis"
pg_url=$(scripts/pg.sh start "$work/pg" "$pg_port")
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no \
  --daemonize yes --pidfile "$work/redis.pid" --logfile "$work/redis.log"
export FINPORTAL_TEST_REDIS_URL="redis://127.0.0.1:$redis_port/0"
export FINPORTAL_CHROMIUM=${FINPORTAL_CHROMIUM:-/usr/bin/chromium}

# Each test runs once, on the engine it is about: on SQLite (the embedded default) the tests
# that need no database, the browser tests (their portal runs on SQLite) and the database
# tests marked "both_engines" (SQL written per dialect, migrations, the demo of README
# command 1); on PostgreSQL (production) every database test ("db", tests/conftest.py).
#
# The two steps run at the same time, each with a pytest-xdist worker per core: their tests
# also wait (for a browser, the database, the fault drill's stack of its own), and each step
# ended with workers idle while its last long test ran. On the 2-core machine, side by side:
# one after the other 350 s + 523 s, at the same time 732 s (BENCHMARKS.md, 2 December 2026).
# Each step's output is printed when it ends. FINPORTAL_TEST_WORKERS sets the workers of each.
workers=${FINPORTAL_TEST_WORKERS:-$(nproc)}
# A worker takes a whole test file at a time, slow files first (tests/conftest.py), so that
# each file's module fixtures (a served demo, a crawled world) are built once and the long
# tests start together, on different workers. Handing out tests in chunks of ~100 in file
# order gave the first worker every slow file.
dist=(-n "$workers" --dist loadfile --no-loadscope-reorder)
background() {  # LOG COMMAND...: run a step in the background, its output to LOG
  local log=$1; shift
  ( if "$@" >"$log" 2>&1; then echo 0 >"$log.rc"; else echo $? >"$log.rc"; fi ) &
}
collect() {  # NAME LOG: print a step's output once it has ended, and count a failure
  echo "== $1"; cat "$2"
  [ "$(cat "$2.rc" 2>/dev/null)" = 0 ] || failed+=("$1")
}
sqlite_step="tests on SQLite (no database, browser, both_engines)"
postgres_step="tests on PostgreSQL (database tests)"
echo "== $sqlite_step and $postgres_step, at the same time"
background "$work/sqlite.log" .venv/bin/pytest -q -p no:cacheprovider \
  "${dist[@]}" -m "not db or both_engines" "$@"
background "$work/postgres.log" env FINPORTAL_TEST_DATABASE_URL="$pg_url" \
  .venv/bin/pytest -q -p no:cacheprovider "${dist[@]}" -m db "$@"
wait
collect "$sqlite_step" "$work/sqlite.log"
collect "$postgres_step" "$work/postgres.log"

if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED: ${failed[*]}"
  exit 1
fi
echo "all steps passed"
