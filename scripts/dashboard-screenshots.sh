#!/usr/bin/env bash
# Regenerate the docs' dashboard screenshots (docs/screenshots/*.png): a real router and
# demo runtimes on 127.0.0.1 with random ports, the real page in headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/setup-dashboard.sh
exec .venv/bin/python scripts/dashboard-screenshots.py "$@"
