#!/usr/bin/env bash
# Start a throwaway PostgreSQL cluster for dvbackup's tests, demo and benchmarks: a temp dir,
# a non-default port, password (SCRAM-SHA-256) auth over TCP 127.0.0.1 and over a private
# unix socket, one application role that may create databases (the tests make throwaway
# ones), and the databases named in PG_DATABASES owned by that role.
#
# Adapted from the team's shared start-postgres.sh (same knobs and output), with dvbackup's
# defaults. Works as root (initdb/postgres refuse to run as root, so the server runs as the
# unprivileged OS user $PG_OS_USER, default "postgres", which the Debian package creates)
# and as an ordinary user (then the server runs as that user).
#
# Needs: a PostgreSQL server (Debian: postgresql, binaries in /usr/lib/postgresql/N/bin) and
# psql; scripts/install-deps.sh installs both. Set PG_INSTALL=1 to apt-get postgresql here.
#
# Env knobs:
#   PG_PORT      (default 5544)
#   PG_DIR       (default /tmp/dvbackup-pg) data in $PG_DIR/data, socket in $PG_DIR/sock;
#                wiped on start
#   PG_USER / PG_PASSWORD   application role (default dvbackup / dvbackup-pw), LOGIN CREATEDB,
#                owner of the databases
#   PG_DATABASES space-separated (default "dvndb backupdb"; set it to "" for none)
#   PG_SUPERPASS password of the "postgres" superuser (default postgres-pw)
#   PG_OS_USER   OS user the server runs as when started by root (default postgres)
#   PG_AUTH      scram-sha-256 (default) or md5 (for clients without SCRAM; also stores
#                passwords as md5, otherwise the server would still use SCRAM)
#   PGBIN        directory of initdb/pg_ctl (default: newest /usr/lib/postgresql/*/bin)
#
# Prints KEY=value lines (PG_PID, PG_PORT, PG_HOST, PG_SOCKET_DIR, PG_USER, PG_PASSWORD,
# PG_DIR, PG_URL_<db>, PG_STARTUP_SECONDS); stop with stop-postgres.sh (same PG_DIR).
set -euo pipefail
set +m
trap 'echo "$0: failed at line $LINENO" >&2' ERR

PG_PORT=${PG_PORT:-5544}
PG_DIR=${PG_DIR:-/tmp/dvbackup-pg}
PG_USER=${PG_USER:-dvbackup}
PG_PASSWORD=${PG_PASSWORD:-dvbackup-pw}
PG_SUPERPASS=${PG_SUPERPASS:-postgres-pw}
PG_DATABASES=${PG_DATABASES-dvndb backupdb}
PG_OS_USER=${PG_OS_USER:-postgres}
PG_AUTH=${PG_AUTH:-scram-sha-256}

case "$PG_DIR" in
  /*) ;;
  *) echo "PG_DIR must be an absolute path (got '$PG_DIR')" >&2; exit 1 ;;
esac
case "$PG_PASSWORD$PG_SUPERPASS$PG_USER" in
  *\'*|*\"*) echo "PG_USER/PG_PASSWORD/PG_SUPERPASS must not contain quotes" >&2; exit 1 ;;
esac

t0=$(date +%s%N)
if [ "${PG_INSTALL:-0}" = 1 ]; then
  apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends postgresql >/dev/null
fi
# Newest installed server version's binaries (not on PATH on Debian).
if [ -z "${PGBIN:-}" ]; then
  PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)
  if [ ! -x "$PGBIN/initdb" ] && command -v initdb >/dev/null 2>&1; then
    PGBIN=$(dirname "$(command -v initdb)")
  fi
fi
[ -x "$PGBIN/initdb" ] || { echo "PostgreSQL server binaries not found (apt-get install postgresql, or set PGBIN)" >&2; exit 1; }
command -v psql >/dev/null 2>&1 || { echo "psql not found (apt-get install postgresql-client)" >&2; exit 1; }

if [ "$(id -u)" = 0 ]; then
  id "$PG_OS_USER" >/dev/null 2>&1 || { echo "no OS user $PG_OS_USER to run the server as" >&2; exit 1; }
  # cd / first: the caller's working directory may be unreadable for that user.
  as_pg() { (cd / && runuser -u "$PG_OS_USER" -- "$@"); }
else
  as_pg() { "$@"; }
fi

if [ -f "$PG_DIR/data/postmaster.pid" ] && kill -0 "$(head -n1 "$PG_DIR/data/postmaster.pid")" 2>/dev/null; then
  echo "postgres already running in $PG_DIR; run stop-postgres.sh" >&2; exit 1
fi
if (exec 3<>"/dev/tcp/127.0.0.1/$PG_PORT") 2>/dev/null; then
  echo "port $PG_PORT on 127.0.0.1 is already in use" >&2; exit 1
fi

# A socket path longer than ~107 bytes cannot be bound.
if [ $(( ${#PG_DIR} + 25 )) -gt 107 ]; then
  echo "PG_DIR is too long for a unix socket path: $PG_DIR" >&2; exit 1
fi
rm -rf "$PG_DIR"; mkdir -p "$PG_DIR/sock"
chmod 700 "$PG_DIR"
[ "$(id -u)" = 0 ] && chown -R "$PG_OS_USER": "$PG_DIR"
old_umask=$(umask); umask 077
printf '%s\n' "$PG_SUPERPASS" > "$PG_DIR/superpass"
[ "$(id -u)" = 0 ] && chown "$PG_OS_USER": "$PG_DIR/superpass"

# --no-sync: skip fsync of the new cluster (throwaway); password auth for local and host.
as_pg "$PGBIN/initdb" -D "$PG_DIR/data" -U postgres --pwfile="$PG_DIR/superpass" \
  --auth-local="$PG_AUTH" --auth-host="$PG_AUTH" -E UTF8 --locale=C.UTF-8 --no-sync \
  >"$PG_DIR/initdb.log" 2>&1 || { cat "$PG_DIR/initdb.log" >&2; exit 1; }
rm -f "$PG_DIR/superpass"
umask "$old_umask"

# Throwaway settings: no durability, small footprint, listen only on loopback.
cat >> "$PG_DIR/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_DIR/sock'
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 32MB
max_connections = 50
password_encryption = '$PG_AUTH'
CONF

as_pg "$PGBIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 start >/dev/null \
  || { cat "$PG_DIR/server.log" >&2; exit 1; }
PID=$(head -n1 "$PG_DIR/data/postmaster.pid")

# Role + databases, as superuser over the private socket.
export PGPASSWORD=$PG_SUPERPASS
psql_su() { psql -X -q -v ON_ERROR_STOP=1 -h "$PG_DIR/sock" -p "$PG_PORT" -U postgres -d postgres "$@"; }
psql_su -c "CREATE ROLE \"$PG_USER\" LOGIN CREATEDB PASSWORD '$PG_PASSWORD'"
for db in $PG_DATABASES; do
  psql_su -c "CREATE DATABASE \"$db\" OWNER \"$PG_USER\""
done
unset PGPASSWORD

# Proof: the application role logs in with its password over TCP (to every database, or to
# "postgres" when none was asked for).
for db in ${PG_DATABASES:-postgres}; do
  PGPASSWORD=$PG_PASSWORD psql -X -q -At -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" -d "$db" \
    -c 'select 1' >/dev/null
done

t1=$(date +%s%N)
echo "PG_PID=$PID"
echo "PG_PORT=$PG_PORT"
echo "PG_HOST=127.0.0.1"
echo "PG_SOCKET_DIR=$PG_DIR/sock"
echo "PG_DIR=$PG_DIR"
echo "PG_USER=$PG_USER"
echo "PG_PASSWORD=$PG_PASSWORD"
for db in $PG_DATABASES; do
  echo "PG_URL_$db=postgresql://$PG_USER:$PG_PASSWORD@127.0.0.1:$PG_PORT/$db"
done
echo "PG_STARTUP_SECONDS=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')"
