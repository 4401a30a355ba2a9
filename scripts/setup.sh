#!/usr/bin/env bash
# Install what FinPortal needs on Debian 12: system packages (apt-get) and .venv/.
# Usage: scripts/setup.sh [run|prod|test]
#   prod: adds PostgreSQL, Redis and curl (scripts/prod.sh, scripts/backup.sh)
#   test: adds those, Chromium and poppler, and the dev extras (pytest, Locust, ...)
set -euo pipefail
cd "$(dirname "$0")/.."
purpose=${1:-run}

packages=(python3 python3-venv python3-dev gcc
          libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0 fontconfig
          fonts-wqy-microhei fonts-noto-cjk)
if [ "$purpose" = prod ] || [ "$purpose" = test ]; then
  packages+=(postgresql redis-server curl procps)
fi
if [ "$purpose" = test ]; then
  packages+=(chromium poppler-utils)
  # npm installs axe-core for the browser tests (Debian's nodejs and npm, unless a node is there).
  command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  echo "installing system packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
extra=""; [ "$purpose" = test ] && extra="[dev]"
.venv/bin/python -m pip install -q -e ".$extra" 2>&1 | grep -v "^WARNING: Location" || true
.venv/bin/python -c "import finportal, products, scoring" # the install worked

if [ "$purpose" = test ] && [ ! -f tests/e2e/axe/node_modules/axe-core/axe.min.js ]; then
  # axe-core, pinned by tests/e2e/axe/package-lock.json, for the accessibility checks.
  npm ci --prefix tests/e2e/axe --no-audit --no-fund --silent
fi
