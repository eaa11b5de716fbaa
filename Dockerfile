# One image for every plclink service: router, runtimes, bridge, registry (entry point: plclink).
#
#   docker build -t plclink .                                   # official slim Python base
#   docker build --build-arg BASE_IMAGE=plclink/debian-base:bookworm -t plclink .
#                                       # no registry reachable: base from docker/make-debian-base.sh
# Extra CAs for a TLS-intercepting proxy: docker/extra-ca/*.crt (see the README there).
ARG BASE_IMAGE=python:3.11-slim

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
COPY docker/extra-ca/ /usr/local/share/ca-certificates/plclink-extra/
COPY docker/install-system.sh /tmp/install-system.sh
RUN sh /tmp/install-system.sh && rm /tmp/install-system.sh
ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONUNBUFFERED=1

WORKDIR /app
COPY pyproject.toml docker/requirements-from-pyproject.py ./
RUN python3 -m venv /opt/plclink \
 && python3 requirements-from-pyproject.py > /tmp/requirements.txt \
 && /opt/plclink/bin/pip install --no-cache-dir -r /tmp/requirements.txt
COPY README.md ./
COPY plc_protocol plc_protocol
COPY router router
COPY --from=dashboard /build/router/dashboard/vendor/ router/dashboard/vendor/
COPY runtime_component runtime_component
COPY ide_component ide_component
COPY erpc_bridge erpc_bridge
COPY registry registry
COPY plclink plclink
RUN /opt/plclink/bin/pip install --no-cache-dir --no-deps . && /opt/plclink/bin/pip check
ENV PATH=/opt/plclink/bin:$PATH
ENTRYPOINT ["plclink"]
CMD ["--help"]
