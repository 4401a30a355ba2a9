#!/usr/bin/env bash
# Set up and serve the portal with demo data on the embedded default (SQLite, in-process jobs).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh run
export FLASK_APP=wsgi
.venv/bin/flask db upgrade
.venv/bin/flask demo
echo "FinPortal: http://127.0.0.1:5000  (users demo-sme, demo-advisor, demo-recommender, demo-bank, demo-admin; password finportal-demo)"
exec .venv/bin/flask run --host 127.0.0.1 --port 5000
