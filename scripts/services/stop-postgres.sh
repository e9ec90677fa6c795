#!/usr/bin/env bash
# Stop the cluster started by start-postgres.sh with the same PG_DIR (pg_ctl stop -m fast;
# falls back to SIGQUIT/SIGKILL of the recorded postmaster pid) and remove its dir
# (PG_KEEP=1 keeps it). Safe to call when nothing runs. Prints one line.
#
# Env knobs: PG_DIR (default /tmp/dvbackup-pg), PG_OS_USER (default postgres), PGBIN,
# PG_KEEP.
set -uo pipefail
PG_DIR=${PG_DIR:-/tmp/dvbackup-pg}
PG_OS_USER=${PG_OS_USER:-postgres}
if [ -z "${PGBIN:-}" ]; then
  PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
  if [ ! -x "$PGBIN/pg_ctl" ] && command -v pg_ctl >/dev/null 2>&1; then
    PGBIN=$(dirname "$(command -v pg_ctl)")
  fi
fi
pidfile=$PG_DIR/data/postmaster.pid
[ -f "$pidfile" ] || { echo "no $pidfile; nothing to stop"; [ "${PG_KEEP:-0}" = 1 ] || rm -rf "$PG_DIR"; exit 0; }
p=$(head -n1 "$pidfile")
if [ "$(id -u)" = 0 ]; then
  (cd / && runuser -u "$PG_OS_USER" -- "$PGBIN/pg_ctl" -D "$PG_DIR/data" -m fast -w -t 20 stop) >/dev/null 2>&1
else
  "$PGBIN/pg_ctl" -D "$PG_DIR/data" -m fast -w -t 20 stop >/dev/null 2>&1
fi
# Still there (pg_ctl missing or timed out)? Only signal the pid if it is this cluster's postmaster.
if tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | grep -q -- "-D $PG_DIR/data"; then
  kill -QUIT "$p" 2>/dev/null; sleep 1; kill -KILL "$p" 2>/dev/null
fi
echo "stopped postgres pid $p"
[ "${PG_KEEP:-0}" = 1 ] || rm -rf "$PG_DIR"
exit 0
