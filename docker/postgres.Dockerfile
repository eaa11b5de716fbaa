# PostgreSQL for the registry, from Debian's packages like the rest of the stack, on the same
# base (no other registry image needed; see the Dockerfile for the base):
#   docker build -f docker/postgres.Dockerfile -t plclink-postgres .
# The server runs as the unprivileged user postgres (uid 10002, fixed here so the compose file
# and the data volume can rely on it), never as root. Data lives in /var/lib/postgresql/data (a
# volume); the first start creates the role and the database the registry uses, with the
# password of deploy/secrets/registry.pgpass. No build-time CA is added: apt reaches Debian's
# mirror as in the main image's final stage. Without the JIT compiler (LLVM and z3: 128 MB of a
# 411 MB image) that the registry's small queries never need: jit is off.
ARG BASE_IMAGE=plclink/debian-base:bookworm
FROM ${BASE_IMAGE}
RUN groupadd --system --gid 10002 postgres \
 && useradd --system --uid 10002 --gid 10002 --home-dir /var/lib/postgresql --shell /bin/sh postgres \
 && mkdir -p /etc/postgresql-common/createcluster.d \
 && echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.d/plclink.conf \
 && apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql \
 && rm -rf /usr/lib/postgresql/*/lib/llvmjit* /usr/lib/postgresql/*/lib/bitcode \
 && dpkg --purge --force-depends libllvm14 libz3-4 \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log \
 && install -d -o postgres -g postgres -m 700 /var/lib/postgresql/data \
 && ln -s "$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)/pg_isready" /usr/local/bin/pg_isready
COPY docker/postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint.sh
ENV PGDATA=/var/lib/postgresql/data
USER postgres
VOLUME /var/lib/postgresql/data
EXPOSE 5432
ENTRYPOINT ["sh", "/usr/local/bin/postgres-entrypoint.sh"]
