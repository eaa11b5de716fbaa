#!/usr/bin/env bash
# Debian packages the tests need beyond the Python virtualenv. Default: stunnel4, the reference
# TLS-PSK front of protocol.md §5, run for real by tests/test_erpc_tls_psk.py; build-essential,
# whose gcc compiles the test PLC library (tests/programs/beremiz_test_plc/) at test time; and
# postgresql, whose binaries the registry tests start as a throw-away cluster
# (tests/postgres_cluster.py; the Debian service itself is not used); and prometheus, which
# tests/test_prometheus_scrape.py runs against plclink up's /metrics (its service is not
# used either; about 30 s to install); sqlite3, whose command the docs' registry backup runs
# (tests/test_doc_blocks.py runs it as written); other scripts pass their
# own (scripts/setup-dashboard.sh: chromium).
# Idempotent: installs only what is missing, refreshes the package lists only when it must.
# Runs as root (CI, containers) or through sudo for other users.
set -euo pipefail

if [ $# -gt 0 ]; then PACKAGES=("$@"); else PACKAGES=(stunnel4 build-essential postgresql prometheus sqlite3); fi

missing=()
for package in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "setup-system: all present (${PACKAGES[*]})"
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
else
    echo "setup-system: need root to install ${missing[*]}; run as root or install sudo" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
install() {
    "${as_root[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
}
echo "setup-system: installing ${missing[*]}"
# A fresh container has empty package lists, an old one stale lists (install then fails on a
# download): refresh them only in those cases.
if ! apt-cache show "${missing[@]}" >/dev/null 2>&1; then
    "${as_root[@]}" apt-get update -q
    install
elif ! install; then
    "${as_root[@]}" apt-get update -q
    install
fi
