#!/usr/bin/env bash
# Load test: start the production stack on loopback (or use a running one), run Locust
# headless for a bounded time, print throughput, p50/p95/p99 latency and errors per page
# and per scenario, with the bare route (/health/live) measured in the same run.
#
#   scripts/loadtest.sh                         # pages one at a time and the role mix, 8 and 32 clients
#   LOADTEST_CLIENTS="8" LOADTEST_SECONDS=20 LOADTEST_MODES=pages scripts/loadtest.sh
#   LOADTEST_HOST=http://127.0.0.1:8000 scripts/loadtest.sh   # a stack that is already running
#   LOADTEST_PACE=1/3 LOADTEST_CLIENTS=32 LOADTEST_MODES=pages scripts/loadtest.sh
#       # also each page's latency with its clients offering a third of the bare route's req/s
#
# Settings: LOADTEST_CLIENTS ("8 32"), LOADTEST_SECONDS per run (30), LOADTEST_MODES
# ("pages mix"), LOADTEST_PAGES (all key pages), LOADTEST_OUT (results folder),
# LOADTEST_SIGN_INS (other firms signing in and out a second, by one more client),
# LOADTEST_PACE (a share of the bare route's throughput, e.g. 1/3: after the pages as fast as
# answered, each page again with its clients offering that load together), LOADTEST_PRIME
# (1, the default: in page runs each client opens each of its pages once before the measured
# window; 0: their first views are measured too, a cold start), and the scripts/prod.sh
# settings. The database should hold scale data (flask --app wsgi scale-data): the accounts
# and the API token's bank come from it.
set -euo pipefail
cd "$(dirname "$0")/.."
clients=${LOADTEST_CLIENTS:-"8 32"}
seconds=${LOADTEST_SECONDS:-30}
modes=${LOADTEST_MODES:-"pages mix"}
pages=${LOADTEST_PAGES:-"bare catalogue sme_home matches application advisor_queue review dashboard bank_inbox referral api_list"}
out=${LOADTEST_OUT:-$(mktemp -d /tmp/finportal-loadtest.XXXXXX)}
mkdir -p "$out"

started=0
if [ -z "${LOADTEST_HOST:-}" ]; then
  # All clients of a page sign in within a second, 16 of them as each of the two bank users
  # scale-data makes: the per-name limit (10 a minute) would refuse most, and a later page's
  # clients within the minute too. The stack started here lets them in; a stack named by
  # LOADTEST_HOST needs the same, or the report says how many clients were refused.
  export FINPORTAL_LOGIN_RATE_LIMIT=${FINPORTAL_LOGIN_RATE_LIMIT:-"1000 per minute"}
  scripts/prod.sh start
  started=1
  trap 'scripts/prod.sh stop' EXIT
fi
eval "$(scripts/prod.sh env)"
host=${LOADTEST_HOST:-http://127.0.0.1:${FINPORTAL_HTTP_PORT:-8000}}
# The server's CPU a request, when it runs here (prod.sh starts gunicorn in a session of its own).
web_pid="$FINPORTAL_PROD_RUN/web.pid"
if [ -z "${LOADTEST_SERVER_SESSION:-}" ] && [ -s "$web_pid" ]; then
  export LOADTEST_SERVER_SESSION=$(cat "$web_pid")
fi
curl -fsS "$host/health/ready" >/dev/null

# A bearer token for the API scenario (the first scale bank, which holds rendered packets).
export LOADTEST_API_TOKEN=${LOADTEST_API_TOKEN:-$(.venv/bin/flask --app wsgi api-token create \
  --bank scale_bank_01 --label "load test $(date +%F)" 2>/dev/null | head -n 1)}

# The server's JSON access log, when it runs here: each one-page run's own times come from it.
access_log="$FINPORTAL_PROD_LOGS/web.log"

run() {  # run NAME CLIENTS [env...]
  local name=$1 c=$2; shift 2
  local users=$c offset=0
  [ ! -f "$access_log" ] || offset=$(stat -c %s "$access_log")
  [ -z "${LOADTEST_SIGN_INS:-}" ] || users=$((c + 1))  # the client that signs others in and out
  echo "  $name: $c clients, ${seconds}s" >&2
  env "$@" LOADTEST_SUMMARY="$out/$name.json" .venv/bin/locust -f loadtest/locustfile.py \
    --headless --only-summary -u "$users" -r "$users" -t "${seconds}s" --stop-timeout 10 \
    --host "$host" >"$out/$name.log" 2>&1 || true
  # The page cache's counters after the run (cumulative since the stack started): renders
  # waited for, pages refused.
  curl -fsS "$host/metrics" 2>/dev/null | grep '^finportal_page_cache' >"$out/$name.metrics" || true
  if [ -f "$access_log" ] && [ -f "$out/$name.json" ]; then
    .venv/bin/python loadtest/report.py handler "$out/$name.json" "$access_log" "$offset" || true
  fi
}

echo "load test against $host; results in $out"
for c in $clients; do
  if [[ " $modes " == *" pages "* ]]; then
    for page in $pages; do
      run "page-$page-c$c" "$c" LOADTEST_MODE=page LOADTEST_PAGE="$page"
    done
  fi
  if [[ " $modes " == *" pages "* && -n "${LOADTEST_PACE:-}" && -f "$out/page-bare-c$c.json" ]]; then
    # The offered load: the pace's share of what the bare route served in this run.
    rate=$(.venv/bin/python -c 'import json, sys; from fractions import Fraction as F
rps = json.load(open(sys.argv[1]))["pages"]["[page] bare"]["rps"]
print(float(rps * F(sys.argv[2]) / int(sys.argv[3])))' "$out/page-bare-c$c.json" "$LOADTEST_PACE" "$c")
    echo "  paced: $LOADTEST_PACE of the bare route, $rate req/s a client" >&2
    for page in $pages; do
      [ "$page" = bare ] || run "paced-$page-c$c" "$c" LOADTEST_MODE=page LOADTEST_PAGE="$page" \
        LOADTEST_RATE_PER_CLIENT="$rate"
    done
  fi
  if [[ " $modes " == *" mix "* ]]; then
    run "mix-c$c" "$c" LOADTEST_MODE=mix
  fi
done
nproc_now=$(nproc); load_now=$(cut -d' ' -f1-3 /proc/loadavg)
echo "machine: $nproc_now cores, load average $load_now (Locust runs on the same machine)"
.venv/bin/python loadtest/report.py "$out" $clients
[ "$started" = 1 ] || true
