#!/usr/bin/env bash
# README command 1: set everything up, then run the whole suite on localhost (Ctrl-C stops it).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/plclink up "$@"
