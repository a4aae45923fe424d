#!/bin/bash
# The part of the official postgres image's entrypoint that compose.yaml relies on:
# POSTGRES_USER / POSTGRES_PASSWORD / POSTGRES_DB create the superuser and database the
# first time the data volume is empty; later starts reuse the data as it is.
set -euo pipefail

: "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD must be set}"
POSTGRES_USER=${POSTGRES_USER:-postgres}
POSTGRES_DB=${POSTGRES_DB:-$POSTGRES_USER}

if [ "$(id -u)" = 0 ]; then
    # Root only prepares directories, then the same script goes on as the postgres user.
    mkdir -p "$PGDATA" /var/run/postgresql
    chown -R postgres:postgres "$PGDATA" /var/run/postgresql
    chmod 700 "$PGDATA"
    exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    echo "entrypoint: initialising $PGDATA for user $POSTGRES_USER, database $POSTGRES_DB"
    pwfile=$(mktemp)
    printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
    initdb --pgdata="$PGDATA" --username="$POSTGRES_USER" --pwfile="$pwfile" \
        --encoding=UTF8 --locale=C.UTF-8 --auth-local=trust --auth-host=scram-sha-256 >/dev/null
    rm -f "$pwfile"
    echo "listen_addresses = '*'" >> "$PGDATA/postgresql.conf"
    echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
    if [ "$POSTGRES_DB" != postgres ]; then
        # A temporary server on a private socket only, so neither clients nor pg_isready
        # (the healthcheck) see it before the database exists.
        initsock=$(mktemp -d)
        pg_ctl --pgdata="$PGDATA" --wait --silent start \
            --options="-c listen_addresses='' -c unix_socket_directories=$initsock"
        createdb --host="$initsock" --username="$POSTGRES_USER" "$POSTGRES_DB"
        pg_ctl --pgdata="$PGDATA" --mode=fast --wait --silent stop
        rmdir "$initsock"
    fi
fi

exec "$@"
