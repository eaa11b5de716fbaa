#!/usr/bin/env bash
# README command 1: set everything up, then run the whole suite on localhost (Ctrl-C stops it).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/setup-dashboard.sh --no-browser   # the dashboard's libraries, served by the router
exec .venv/bin/plclink up "$@"
