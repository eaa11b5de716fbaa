#!/bin/sh
# Inside the image build, as root.
#   build: for the build stage: trust the extra CAs (docker/extra-ca/), Python's venv where the
#          base image lacks it, strip (binutils) for the packages' libraries, and the stunnel
#          binary taken out of Debian's stunnel4 package (installing the package would pull
#          systemd and perl for its service scripts).
#   run:   for the final image: the libraries stunnel needs, the unprivileged user plclink
#          (uid 10001) and the directories its volumes mount on; no CA is added.
set -eu
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
case "${1:-}" in
build)
    if ls /usr/local/share/ca-certificates/plclink-extra/*.crt >/dev/null 2>&1; then
        apt-get install -y -q --no-install-recommends ca-certificates
        update-ca-certificates
    fi
    python3 -c 'import ensurepip, venv' 2>/dev/null \
        || apt-get install -y -q --no-install-recommends python3-venv
    apt-get install -y -q --no-install-recommends binutils
    cd /tmp
    apt-get download stunnel4
    dpkg-deb -x stunnel4_*.deb /tmp/stunnel4
    install -m 755 /tmp/stunnel4/usr/bin/stunnel4 /usr/local/bin/stunnel
    rm -rf /tmp/stunnel4 stunnel4_*.deb
    ;;
run)
    apt-get install -y -q --no-install-recommends libssl3 libsystemd0 libwrap0
    groupadd --system --gid 10001 plclink
    useradd --system --uid 10001 --gid 10001 --create-home --shell /usr/sbin/nologin plclink
    install -d -o plclink -g plclink -m 750 /data /state
    ;;
*)
    echo "install-system.sh: say build or run" >&2
    exit 2
    ;;
esac
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log
