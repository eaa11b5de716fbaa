# One image for every plclink service: router, runtimes, bridge, registry, TLS-PSK front (entry
# point: plclink). Every service runs as the unprivileged user plclink (uid 10001).
#
#   docker/make-debian-base.sh             # once: the base, from Debian's packages alone
#   docker build -t plclink .
#   docker build --build-arg BASE_IMAGE=python:3.11-slim -t plclink .   # or a registry's base
#
# Extra CAs for a TLS-intercepting proxy: docker/extra-ca/*.crt (see the README there). Only the
# build stages trust them; the final image's trust store is the base image's.
#
# Stages: `deps` (the Python dependencies in /opt/plclink and the stunnel binary; rebuilt only
# when pyproject.toml changes, so the build cache keeps it between builds), `dashboard` (the
# dashboard's browser libraries from the npm registry), and the final image, which takes only
# their results: no compiler, pip cache, apt lists, node or build files.
ARG BASE_IMAGE=plclink/debian-base:bookworm

FROM ${BASE_IMAGE} AS deps
COPY docker/extra-ca/ /usr/local/share/ca-certificates/plclink-extra/
COPY docker/install-system.sh /tmp/install-system.sh
RUN sh /tmp/install-system.sh build
ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt PIP_DISABLE_PIP_VERSION_CHECK=1
COPY pyproject.toml docker/requirements-from-pyproject.py /tmp/
RUN python3 -m venv /opt/plclink \
 && (cd /tmp && python3 requirements-from-pyproject.py > requirements.txt) \
 && /opt/plclink/bin/pip install --no-cache-dir -r /tmp/requirements.txt \
 && /opt/plclink/bin/pip check \
 && /opt/plclink/bin/pip uninstall -y -q pip
# The packages' own test suites are not needed to run them (about 50 MB), nor the debugging
# symbols of their libraries (about 50 MB).
RUN find /opt/plclink/lib -type d -name tests -prune -exec rm -rf {} + \
 && find /opt/plclink -type f \( -name '*.so' -o -name '*.so.*' \) -exec strip --strip-unneeded {} +

# The dashboard's browser libraries, from the npm registry (pinned by the lockfile), built by
# the same script as on a developer machine; only the resulting vendor/ files reach the image.
FROM ${BASE_IMAGE} AS dashboard
COPY docker/extra-ca/ /usr/local/share/ca-certificates/plclink-extra/
RUN (update-ca-certificates >/dev/null 2>&1 || true) \
 && apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nodejs npm ca-certificates \
 && (update-ca-certificates >/dev/null 2>&1 || true)
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
WORKDIR /build
COPY dashboard_frontend/package.json dashboard_frontend/package-lock.json dashboard_frontend/
COPY router/dashboard/vendor/.gitignore router/dashboard/vendor/
COPY scripts/setup-dashboard.sh scripts/
RUN scripts/setup-dashboard.sh --no-browser

FROM ${BASE_IMAGE}
COPY docker/install-system.sh /tmp/install-system.sh
RUN sh /tmp/install-system.sh run && rm /tmp/install-system.sh
COPY --from=deps /opt/plclink /opt/plclink
COPY --from=deps /usr/local/bin/stunnel /usr/local/bin/stunnel
# The source is run from /app (on the venv's path), not pip-installed: installing would need a
# build backend from PyPI in this stage and leave a second copy of the code behind.
WORKDIR /app
COPY plc_protocol plc_protocol
COPY router router
COPY --from=dashboard /build/router/dashboard/vendor/ router/dashboard/vendor/
COPY runtime_component runtime_component
COPY ide_component ide_component
COPY erpc_bridge erpc_bridge
COPY registry registry
COPY opcua_gateway opcua_gateway
COPY plclink plclink
RUN echo /app > "$(/opt/plclink/bin/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))')/plclink-app.pth" \
 && printf '#!/bin/sh\nexec /opt/plclink/bin/python -m plclink.cli "$@"\n' > /opt/plclink/bin/plclink \
 && chmod 755 /opt/plclink/bin/plclink \
 && /opt/plclink/bin/python -m compileall -q /app \
 && /opt/plclink/bin/plclink --help >/dev/null
ENV PATH=/opt/plclink/bin:$PATH PYTHONUNBUFFERED=1
USER plclink
ENTRYPOINT ["plclink"]
CMD ["--help"]
