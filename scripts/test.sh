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

echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check . >/dev/null || { .venv/bin/ruff format --diff . | head -50; exit 1; }
echo "== mypy (products, scoring)"
.venv/bin/mypy

echo "== starting PostgreSQL and Redis"
pg_url=$(scripts/pg.sh start "$work/pg" "$pg_port")
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no \
  --daemonize yes --pidfile "$work/redis.pid" --logfile "$work/redis.log"
export FINPORTAL_TEST_REDIS_URL="redis://127.0.0.1:$redis_port/0"
export FINPORTAL_CHROMIUM=${FINPORTAL_CHROMIUM:-/usr/bin/chromium}

echo "== tests on SQLite (everything)"
.venv/bin/pytest -q -p no:cacheprovider "$@"
echo "== tests on PostgreSQL (database tests)"
FINPORTAL_TEST_DATABASE_URL="$pg_url" .venv/bin/pytest -q -p no:cacheprovider tests/finportal "$@"
