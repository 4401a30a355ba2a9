#!/usr/bin/env bash
# Back up or restore FinPortal: the PostgreSQL database (pg_dump custom format) and the
# instance folder's files (packets, documents, models, the secret key), with a manifest.
#
#   scripts/backup.sh backup  DIR    # FINPORTAL_DATABASE_URL and FINPORTAL_INSTANCE_PATH name the source
#   scripts/backup.sh restore DIR    # ... name the target: an EMPTY database and instance folder
#   scripts/backup.sh verify  DIR    # compare the target with the manifest (applications, files)
#
# pg_dump/pg_restore come from the newest PostgreSQL installed (as scripts/pg.sh uses);
# the dump is consistent on its own (one snapshot), so the site can stay up while it runs.
set -euo pipefail
cd "$(dirname "$0")/.."
action=${1:?usage: scripts/backup.sh backup|restore|verify DIR}
dir=${2:?usage: scripts/backup.sh backup|restore|verify DIR}
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
url=${FINPORTAL_DATABASE_URL:?set FINPORTAL_DATABASE_URL (a postgresql URL)}
instance=${FINPORTAL_INSTANCE_PATH:-instance}
libpq_url=${url/postgresql+psycopg:/postgresql:}  # libpq does not know SQLAlchemy's driver name
libpq_url=${libpq_url/postgresql+psycopg2:/postgresql:}

facts() {  # what a restore must give back: application count, id checksum, newest audit event
  "$bin/psql" "$libpq_url" -tAc "SELECT count(*), coalesce(sum(id), 0), coalesce(max(id), 0) FROM applications" |
    tr '|' ' '
}

case $action in
  backup)
    mkdir -p "$dir"
    "$bin/pg_dump" --format=custom --no-owner --file "$dir/finportal.dump" "$libpq_url"
    if [ -d "$instance" ]; then
      tar -C "$instance" -czf "$dir/instance.tar.gz" .
    fi
    {
      echo "created $(date -u +%FT%TZ)"
      echo "applications $(facts)"
      (cd "$dir" && sha256sum finportal.dump instance.tar.gz 2>/dev/null || true)
    } >"$dir/MANIFEST"
    echo "backup in $dir:"; cat "$dir/MANIFEST"
    ;;
  restore)
    (cd "$dir" && sha256sum --quiet -c <(grep -E '^[0-9a-f]{64} ' MANIFEST))
    "$bin/pg_restore" --no-owner --exit-on-error --dbname "$libpq_url" "$dir/finportal.dump"
    if [ -f "$dir/instance.tar.gz" ]; then
      mkdir -p "$instance"
      tar -C "$instance" -xzf "$dir/instance.tar.gz"
    fi
    echo "restored from $dir"
    ;;
  verify)
    want=$(grep '^applications ' "$dir/MANIFEST" | cut -d' ' -f2-)
    have=$(facts)
    if [ "$want" != "$have" ]; then
      echo "applications differ: backup has '$want', this database has '$have'" >&2
      exit 1
    fi
    echo "applications match: $have (count, sum of ids, newest id)"
    ;;
  *)
    echo "usage: scripts/backup.sh backup|restore|verify DIR" >&2
    exit 2
    ;;
esac
