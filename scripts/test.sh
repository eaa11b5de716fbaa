#!/usr/bin/env bash
# README command 2: set everything up (Python environment, the system packages the tests drive
# for real, the dashboard's libraries), then run the whole test suite, slow tests included.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/setup-system.sh       # stunnel4 (TLS-PSK tests), postgresql (registry tests)
scripts/setup-dashboard.sh    # the dashboard's libraries (npm) and chromium (browser tests)
exec .venv/bin/python -m pytest "$@"
