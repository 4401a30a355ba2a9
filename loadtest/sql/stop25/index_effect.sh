#!/usr/bin/env bash
# Stop 25: the effect of ix_applications_state_enterprise on a searched queue's counts, measured
# on a database others share without changing it: the index is created inside a transaction
# that is rolled back. Each statement runs 3 times without and 3 times with the index; prints
# the execution times (ms). Usage: loadtest/sql/stop25/index_effect.sh HOST PORT DBNAME
set -euo pipefail
here=$(dirname "$0")
files=(tab_counts_name_after tab_counts_uscc_after queue_list_count_name queue_list_count_uscc tab_counts_after)
{
  echo "BEGIN;"
  echo "SET LOCAL lock_timeout = '5s';"
  for phase in without with; do
    if [ "$phase" = with ]; then
      echo "CREATE INDEX ix_applications_state_enterprise ON applications (state, enterprise_id, id);"
    fi
    for f in "${files[@]}"; do
      for _ in 1 2 3; do
        echo "\\echo $phase $f"
        echo "EXPLAIN (ANALYZE, TIMING OFF) $(sed 's/;$//' "$here/$f.sql");"
      done
    done
  done
  echo "ROLLBACK;"
} | psql -h "$1" -p "$2" -U postgres "$3" -X -q | awk '/^(without|with) /{key=$1" "$2} /Execution Time/{t[key]=t[key]" "$3} END{for (k in t) print k ":" t[k]}' | sort
