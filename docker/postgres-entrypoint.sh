#!/bin/sh
# The registry's PostgreSQL, run as the unprivileged user postgres on a read-only root file
# system: initialise the cluster on first start (role "registry", database "plclink", password
# from the registry's pgpass file), then run the server in the foreground, listening on
# PLCLINK_PG_LISTEN (default all addresses of the container: its network is the registry's
# alone). Password authentication (scram) for every network client; the local socket lives in
# /tmp (a tmpfs).
set -eu
PASSFILE=${PLCLINK_PGPASS:-/secrets/registry.pgpass}
LISTEN=${PLCLINK_PG_LISTEN:-*}
export PGHOST=/tmp
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)
if [ ! -w "$PGDATA" ]; then
    echo "postgres: $PGDATA is not writable by $(id -un) (uid $(id -u)); a volume made by an" \
         "older image belongs to another uid: chown -R $(id -u):$(id -g) it, or start with a new volume" >&2
    exit 2
fi
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    password=$(cut -d: -f5- "$PASSFILE")
    [ -n "$password" ] || { echo "postgres: no password in $PASSFILE (run plclink secrets)" >&2; exit 2; }
    "$bin/initdb" -D "$PGDATA" -E UTF8 --auth-local=peer --auth-host=scram-sha-256 >/dev/null
    echo "host all all 0.0.0.0/0 scram-sha-256" >> "$PGDATA/pg_hba.conf"
    "$bin/pg_ctl" -D "$PGDATA" -w -o "-c listen_addresses='' -c unix_socket_directories=/tmp" \
        start >/dev/null
    "$bin/psql" -q -v ON_ERROR_STOP=1 -v password="$password" -d postgres <<'SQL'
CREATE ROLE registry LOGIN PASSWORD :'password';
CREATE DATABASE plclink OWNER registry;
SQL
    "$bin/pg_ctl" -D "$PGDATA" -w stop >/dev/null
    echo "postgres: cluster initialised (role registry, database plclink)"
fi
exec "$bin/postgres" -D "$PGDATA" -c "listen_addresses=$LISTEN" -c unix_socket_directories=/tmp \
    -c jit=off
