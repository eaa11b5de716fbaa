#!/bin/sh
# Inside the image build: trust extra CAs, install the Debian packages the services need
# (stunnel4 for the TLS-PSK front; Python's venv where the base image lacks it), then clean up.
set -eu
if ls /usr/local/share/ca-certificates/plclink-extra/*.crt >/dev/null 2>&1; then
    update-ca-certificates >/dev/null 2>&1 || true
fi
export DEBIAN_FRONTEND=noninteractive
packages="stunnel4 ca-certificates"
python3 -c 'import ensurepip, venv' 2>/dev/null || packages="$packages python3 python3-venv python3-pip"
apt-get update -q
apt-get install -y -q --no-install-recommends $packages
rm -rf /var/lib/apt/lists/*
if ls /usr/local/share/ca-certificates/plclink-extra/*.crt >/dev/null 2>&1; then
    update-ca-certificates
fi
