#!/usr/bin/env bash
# Create or refresh the project's virtual environment at .venv (Python >= 3.11).
# Re-installs only when pyproject.toml changed since the last install, so repeated runs are
# quick; pip's download cache (~/.cache/pip) is reused across runs and by CI.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "setup: $python is missing or older than 3.11; set PYTHON=/path/to/python3.11+" >&2
    exit 2
fi
if [ ! -x .venv/bin/python ]; then
    echo "setup: creating .venv"
    "$python" -m venv .venv
fi
stamp=.venv/.plclink-installed
wanted=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
    echo "setup: installing plclink and its dependencies into .venv (crossbar takes a minute or two)"
    # pip and the build backend print pages of notices even when quiet: keep them in a log and
    # show it only when the install fails.
    log=.venv/pip-install.log
    if ! { .venv/bin/python -m pip install --quiet --upgrade pip &&
           .venv/bin/python -m pip install --quiet -e ".[test]"; } >"$log" 2>&1; then
        cat "$log" >&2
        echo "setup: installing into .venv failed (output above, kept in $log)" >&2
        exit 1
    fi
    .venv/bin/python -m pip check
    echo "$wanted" > "$stamp"
fi
