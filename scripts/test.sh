#!/usr/bin/env bash
# README command 2: set everything up (Python environment and the system packages the tests
# drive for real), then run the whole test suite, slow tests included.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
if [ -x scripts/setup-system.sh ]; then
    scripts/setup-system.sh
fi
exec .venv/bin/python -m pytest "$@"
