# PostgreSQL for the registry, from Debian's packages like the rest of the stack (no other
# registry image needed):  docker build -f docker/postgres.Dockerfile -t plclink-postgres .
# Data lives in /var/lib/postgresql/data (a volume); the first start creates the role and the
# database the registry uses, with the password of deploy/secrets/registry.pgpass.
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}
COPY docker/extra-ca/ /usr/local/share/ca-certificates/plclink-extra/
RUN (update-ca-certificates >/dev/null 2>&1 || true) \
 && mkdir -p /etc/postgresql-common/createcluster.d \
 && echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.d/plclink.conf \
 && apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql \
 && rm -rf /var/lib/apt/lists/*
COPY docker/postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint.sh
ENV PGDATA=/var/lib/postgresql/data
# pg_isready of the installed version, for the healthcheck
RUN ln -s "$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)/pg_isready" /usr/local/bin/pg_isready
VOLUME /var/lib/postgresql/data
EXPOSE 5432
ENTRYPOINT ["sh", "/usr/local/bin/postgres-entrypoint.sh"]
