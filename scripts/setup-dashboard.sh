#!/usr/bin/env bash
# The web dashboard's front end and its browser tests:
#  - npm ci in dashboard_frontend/ (versions pinned by its package-lock.json, from the npm
#    registry), then the browser builds of autobahn-js and uPlot are copied into
#    router/dashboard/vendor/, where the router serves them: the page loads nothing from a CDN,
#    so it works on an isolated plant network. vendor/ is generated, never committed.
#  - Debian's chromium, the real browser the dashboard tests drive (through playwright-core,
#    a devDependency: it never downloads a browser of its own).
# Idempotent: npm ci runs only when package-lock.json changed; apt only for a missing package.
# Runs as root (CI, containers) or through sudo for other users.
# --no-browser: only the front end (what serving the dashboard needs, e.g. for scripts/up.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

FRONTEND=dashboard_frontend
VENDOR=router/dashboard/vendor

if ! command -v npm >/dev/null 2>&1; then
    echo "setup-dashboard: npm (with node >= 20) is needed to install the dashboard's libraries" >&2
    exit 1
fi
stamp=$FRONTEND/node_modules/.plclink-installed
wanted=$(sha256sum $FRONTEND/package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
    echo "setup-dashboard: installing the front-end packages (npm ci)"
    (cd $FRONTEND && npm ci --no-audit --no-fund --loglevel=error)
    echo "$wanted" > "$stamp"
fi
modules=$FRONTEND/node_modules
install -m 644 $modules/autobahn-browser/autobahn.min.js $VENDOR/autobahn.min.js
install -m 644 $modules/autobahn-browser/LICENSE $VENDOR/autobahn.LICENSE
install -m 644 $modules/uplot/dist/uPlot.iife.min.js $VENDOR/uPlot.iife.min.js
install -m 644 $modules/uplot/dist/uPlot.min.css $VENDOR/uPlot.min.css
install -m 644 $modules/uplot/LICENSE $VENDOR/uPlot.LICENSE

echo "setup-dashboard: front-end libraries in $VENDOR"
if [ "${1:-}" = "--no-browser" ]; then
    exit 0
fi
exec scripts/setup-system.sh chromium
