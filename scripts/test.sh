#!/usr/bin/env bash
# THE test command (CI runs it through .ci/run): install what is missing, start a throwaway
# PostgreSQL, build the package with its tests, run them, stop PostgreSQL (also on failure),
# and exit with swift-test's exit code.
#
#   bash scripts/test.sh [swift-test arguments...]     e.g.  bash scripts/test.sh --filter Config
#
# The tests find the server through these variables (exported here):
#   DVBACKUP_TEST_PGHOST=127.0.0.1  DVBACKUP_TEST_PGPORT  DVBACKUP_TEST_PGUSER
#   DVBACKUP_TEST_PGPASSWORD  (a LOGIN CREATEDB role: tests create and drop their own databases;
#   the databases "postgres", "dvndb" and "backupdb" exist)
#   DVBACKUP_TEST_REQUIRE_SERVERS=1  (a missing server fails a test instead of skipping it)
#
# Knobs: DVBACKUP_TEST_PGPORT (default 5544) and DVBACKUP_TEST_PGDIR (default
# /tmp/dvbackup-pg) choose where the throwaway cluster runs; it must not be running already.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

. scripts/toolchain.sh
command -v swift-build >/dev/null 2>&1 || { echo "test.sh: swift-build not found" >&2; exit 1; }

pg_port=${DVBACKUP_TEST_PGPORT:-5544}
pg_dir=${DVBACKUP_TEST_PGDIR:-/tmp/dvbackup-pg}
pg_user=dvbackup
pg_password=dvbackup-pw

# Refuse (without touching it) a cluster that is already there: the trap below would stop it.
if [ -f "$pg_dir/data/postmaster.pid" ] && kill -0 "$(head -n1 "$pg_dir/data/postmaster.pid")" 2>/dev/null; then
  echo "test.sh: a PostgreSQL already runs in $pg_dir; stop it (PG_DIR=$pg_dir scripts/services/stop-postgres.sh) or set DVBACKUP_TEST_PGDIR/DVBACKUP_TEST_PGPORT" >&2
  exit 1
fi
if (exec 3<>"/dev/tcp/127.0.0.1/$pg_port") 2>/dev/null; then
  echo "test.sh: port $pg_port on 127.0.0.1 is in use; set DVBACKUP_TEST_PGPORT to a free port" >&2
  exit 1
fi

pg_started=0
cleanup() {
  local rc=$?
  if [ $pg_started = 1 ]; then
    PG_DIR=$pg_dir bash scripts/services/stop-postgres.sh >&2 || true
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

pg_started=1
PG_PORT=$pg_port PG_DIR=$pg_dir PG_USER=$pg_user PG_PASSWORD=$pg_password \
  PG_DATABASES="dvndb backupdb" bash scripts/services/start-postgres.sh

export DVBACKUP_TEST_PGHOST=127.0.0.1
export DVBACKUP_TEST_PGPORT=$pg_port
export DVBACKUP_TEST_PGUSER=$pg_user
export DVBACKUP_TEST_PGPASSWORD=$pg_password
export DVBACKUP_TEST_REQUIRE_SERVERS=${DVBACKUP_TEST_REQUIRE_SERVERS:-1}

swift-build --build-tests

set +e
swift-test --skip-build "$@"
rc=$?
set -e
echo "test.sh: swift-test exited with $rc" >&2
exit $rc
