#!/bin/sh
# The registry's PostgreSQL: initialise the cluster on first start (role "registry", database
# "plclink", password from the registry's pgpass file), then run the server in the foreground
# as the postgres user, listening on PLCLINK_PG_LISTEN (default all addresses of the container).
# Password authentication (scram) for every network client.
set -eu
PASSFILE=${PLCLINK_PGPASS:-/secrets/registry.pgpass}
LISTEN=${PLCLINK_PG_LISTEN:-*}
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)
mkdir -p "$PGDATA" /run/postgresql
chown postgres:postgres "$PGDATA" /run/postgresql
chmod 700 "$PGDATA"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    password=$(cut -d: -f5- "$PASSFILE")
    [ -n "$password" ] || { echo "postgres: no password in $PASSFILE (run plclink secrets)" >&2; exit 2; }
    runuser -u postgres -- "$bin/initdb" -D "$PGDATA" -E UTF8 --auth-local=peer \
        --auth-host=scram-sha-256 >/dev/null
    echo "host all all 0.0.0.0/0 scram-sha-256" >> "$PGDATA/pg_hba.conf"
    runuser -u postgres -- "$bin/pg_ctl" -D "$PGDATA" -w -o "-c listen_addresses=''" start >/dev/null
    runuser -u postgres -- "$bin/psql" -q -v ON_ERROR_STOP=1 -v password="$password" <<'SQL'
CREATE ROLE registry LOGIN PASSWORD :'password';
CREATE DATABASE plclink OWNER registry;
SQL
    runuser -u postgres -- "$bin/pg_ctl" -D "$PGDATA" -w stop >/dev/null
    echo "postgres: cluster initialised (role registry, database plclink)"
fi
exec runuser -u postgres -- "$bin/postgres" -D "$PGDATA" -c "listen_addresses=$LISTEN"
