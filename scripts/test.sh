#!/usr/bin/env bash
# THE test command (CI runs it through .ci/run): install what is missing, start a throwaway
# PostgreSQL and the project's own OpenSSH server, build the package with its tests, run them,
# stop both servers (also on failure), and exit with swift-test's exit code.
#
#   bash scripts/test.sh [swift-test arguments...]     e.g.  bash scripts/test.sh --filter Config
#
# The tests find the server through these variables (exported here):
#   DVBACKUP_TEST_PGHOST=127.0.0.1  DVBACKUP_TEST_PGPORT  DVBACKUP_TEST_PGUSER
#   DVBACKUP_TEST_PGPASSWORD  (a LOGIN CREATEDB role: tests create and drop their own databases;
#   the databases "postgres", "dvndb" and "backupdb" exist)
#   DVBACKUP_TEST_REQUIRE_SERVERS=1  (a missing server fails a test instead of skipping it)
# and the SFTP server (scripts/services/start-sshd.sh; its header describes the accounts):
#   DVBACKUP_TEST_SSH_HOST=127.0.0.1  DVBACKUP_TEST_SSH_PORT
#   DVBACKUP_TEST_SSH_DIR       the server's state directory; a test restarts the server (same
#                               host key, established connections dropped) with
#                               SSHD_DIR=$DVBACKUP_TEST_SSH_DIR SSHD_PORT=$DVBACKUP_TEST_SSH_PORT SSHD_KEEP=1 bash scripts/services/stop-sshd.sh
#                               SSHD_DIR=$DVBACKUP_TEST_SSH_DIR SSHD_PORT=$DVBACKUP_TEST_SSH_PORT bash scripts/services/start-sshd.sh
#   DVBACKUP_TEST_SSH_USER (dvbsftp)               DVBACKUP_TEST_SSH_BACKUP_DIR (/home/dvbsftp/backup)
#   DVBACKUP_TEST_SSH_CHROOT_USER (dvbchroot)      DVBACKUP_TEST_SSH_CHROOT_BACKUP_DIR (/backup)
#   DVBACKUP_TEST_SSH_CHROOT (/srv/dvbchroot: where the chroot, and so /backup, is on this machine)
#   DVBACKUP_TEST_SSH_LIAR_USER (dvbliar)          DVBACKUP_TEST_SSH_LIAR_BACKUP_DIR (/home/dvbliar/backup)
#   DVBACKUP_TEST_SSH_KEY  DVBACKUP_TEST_SSH_KEY_PASS  DVBACKUP_TEST_SSH_KEY_PASSPHRASE
#   DVBACKUP_TEST_SSH_KEY_RSA  DVBACKUP_TEST_SSH_KNOWN_HOSTS  DVBACKUP_TEST_SSH_KNOWN_HOSTS_HASHED
#   DVBACKUP_TEST_SSH_KNOWN_HOSTS_CHANGED  DVBACKUP_TEST_SSH_FINGERPRINT (SHA256:...)
# The SFTP server needs root (accounts, sshd); as another user it is not started (SFTP tests
# skip, or fail with DVBACKUP_TEST_REQUIRE_SERVERS=1).
#
# Knobs: DVBACKUP_TEST_PGPORT (default 5544) and DVBACKUP_TEST_PGDIR (default
# /tmp/dvbackup-pg) choose where the throwaway cluster runs; it must not be running already.
# DVBACKUP_TEST_SSHPORT (default 2222) and DVBACKUP_TEST_SSHDIR (default /tmp/dvbackup-sshd)
# do the same for the SFTP server.
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

ssh_port=${DVBACKUP_TEST_SSHPORT:-2222}
ssh_dir=${DVBACKUP_TEST_SSHDIR:-/tmp/dvbackup-sshd}
ssh_wanted=1
if [ "$(id -u)" != 0 ]; then
  echo "test.sh: not root: the SFTP test server (accounts, sshd) is not started" >&2
  ssh_wanted=0
fi
if [ $ssh_wanted = 1 ]; then
  if [ -f "$ssh_dir/sshd.pid" ] && kill -0 "$(cat "$ssh_dir/sshd.pid")" 2>/dev/null; then
    echo "test.sh: an sshd already runs from $ssh_dir; stop it (SSHD_DIR=$ssh_dir scripts/services/stop-sshd.sh) or set DVBACKUP_TEST_SSHDIR/DVBACKUP_TEST_SSHPORT" >&2
    exit 1
  fi
  if (exec 3<>"/dev/tcp/127.0.0.1/$ssh_port") 2>/dev/null; then
    echo "test.sh: port $ssh_port on 127.0.0.1 is in use; set DVBACKUP_TEST_SSHPORT to a free port" >&2
    exit 1
  fi
fi

pg_started=0
ssh_started=0
cleanup() {
  local rc=$?
  if [ $ssh_started = 1 ]; then
    SSHD_DIR=$ssh_dir SSHD_PORT=$ssh_port bash scripts/services/stop-sshd.sh >&2 || true
  fi
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

if [ $ssh_wanted = 1 ]; then
  ssh_started=1
  # As OpenSSH ships: no SHA-1 RSA signatures, so the tests see what real servers do.
  sshd_out=$(SSHD_PORT=$ssh_port SSHD_DIR=$ssh_dir SSHD_ACCEPT_SSH_RSA=0 bash scripts/services/start-sshd.sh)
  # sshv KEY: the value of KEY=value in start-sshd.sh's output (values may hold spaces)
  sshv() { printf '%s\n' "$sshd_out" | sed -n "s/^$1=//p" | head -n1; }
  export DVBACKUP_TEST_SSH_HOST=127.0.0.1
  export DVBACKUP_TEST_SSH_PORT="$(sshv SSHD_PORT)"
  export DVBACKUP_TEST_SSH_DIR="$(sshv SSHD_DIR)"
  export DVBACKUP_TEST_SSH_USER="$(sshv SSH_USER)"
  export DVBACKUP_TEST_SSH_BACKUP_DIR="$(sshv SSH_BACKUP_DIR)"
  export DVBACKUP_TEST_SSH_CHROOT_USER="$(sshv SSH_CHROOT_USER)"
  export DVBACKUP_TEST_SSH_CHROOT_BACKUP_DIR="$(sshv SSH_CHROOT_BACKUP_DIR)"
  export DVBACKUP_TEST_SSH_CHROOT="$(sshv SSH_CHROOT_DIR)"
  export DVBACKUP_TEST_SSH_LIAR_USER="$(sshv SSH_LIAR_USER)"
  export DVBACKUP_TEST_SSH_LIAR_BACKUP_DIR="$(sshv SSH_LIAR_BACKUP_DIR)"
  export DVBACKUP_TEST_SSH_KEY="$(sshv SSH_KEY)"
  export DVBACKUP_TEST_SSH_KEY_PASS="$(sshv SSH_KEY_PASS)"
  export DVBACKUP_TEST_SSH_KEY_PASSPHRASE="$(sshv SSH_KEY_PASSPHRASE)"
  export DVBACKUP_TEST_SSH_KEY_RSA="$(sshv SSH_KEY_RSA)"
  export DVBACKUP_TEST_SSH_KNOWN_HOSTS="$(sshv SSH_KNOWN_HOSTS)"
  export DVBACKUP_TEST_SSH_KNOWN_HOSTS_HASHED="$(sshv SSH_KNOWN_HOSTS_HASHED)"
  export DVBACKUP_TEST_SSH_KNOWN_HOSTS_CHANGED="$(sshv SSH_KNOWN_HOSTS_CHANGED)"
  export DVBACKUP_TEST_SSH_FINGERPRINT="$(sshv SSH_HOST_FINGERPRINT)"
  echo "test.sh: SFTP test server on 127.0.0.1:$DVBACKUP_TEST_SSH_PORT (state in $DVBACKUP_TEST_SSH_DIR)" >&2
fi

swift-build --build-tests

set +e
swift-test --skip-build "$@"
rc=$?
set -e
echo "test.sh: swift-test exited with $rc" >&2
exit $rc
