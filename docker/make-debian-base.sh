#!/usr/bin/env bash
# Build the image's base from Debian packages alone, for machines that reach a Debian mirror
# but no container registry (plant networks):
#
#   docker/make-debian-base.sh [IMAGE_TAG]        # default plclink/debian-base:bookworm
#   docker build --build-arg BASE_IMAGE=plclink/debian-base:bookworm -t plclink .
#
# The mirror is DEBIAN_MIRROR if set, else the first one this machine's apt uses. Needs root,
# debootstrap and a running Docker daemon.
set -euo pipefail
tag=${1:-plclink/debian-base:bookworm}
suite=${DEBIAN_SUITE:-bookworm}

mirror=${DEBIAN_MIRROR:-}
if [ -z "$mirror" ]; then
    mirror=$( (grep -shE '^(URIs:|deb )' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list \
               || true) | grep -v security | head -n1 | awk '{print $2}')
fi
if [ -z "$mirror" ]; then
    echo "make-debian-base: no Debian mirror found; set DEBIAN_MIRROR=http://<mirror>/debian" >&2
    exit 2
fi
for tool in debootstrap docker; do
    command -v "$tool" >/dev/null || { echo "make-debian-base: $tool is not installed" >&2; exit 2; }
done

rootfs=$(mktemp -d)
trap 'rm -rf "$rootfs"' EXIT
echo "make-debian-base: bootstrapping $suite from $mirror"
debootstrap --variant=minbase --include=ca-certificates,python3,python3-venv \
    "$suite" "$rootfs" "$mirror" >/dev/null
# No manuals, translations or documentation but the copyright files, now or in later installs.
printf '%s\n' 'path-exclude /usr/share/doc/*' 'path-include /usr/share/doc/*/copyright' \
    'path-exclude /usr/share/man/*' 'path-exclude /usr/share/info/*' \
    'path-exclude /usr/share/locale/*' 'path-include /usr/share/locale/locale.alias' \
    > "$rootfs"/etc/dpkg/dpkg.cfg.d/plclink-slim
find "$rootfs"/usr/share/doc -type f ! -name copyright -delete
rm -rf "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/*
find "$rootfs"/usr/share/locale -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
tar -C "$rootfs" -c . | docker import --change 'CMD ["/bin/bash"]' - "$tag" >/dev/null
echo "make-debian-base: image $tag ready"
