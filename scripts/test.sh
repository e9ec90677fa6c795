#!/usr/bin/env bash
# THE test command (CI runs it through .ci/run): install what is missing, start the test
# servers (scripts/test-servers.sh: a throwaway PostgreSQL, the project's own OpenSSH server,
# OpenStack Swift with tempauth and s3api, Keystone v3 with a Swift proxy behind it, moto as
# S3, an SMTP sink), build the package with its tests WHILE the servers start, run the tests,
# stop every server (also on failure or interrupt), and exit with swift-test's exit code (when
# that is 0 and no arguments were given: that of scripts/test-install.sh, run after it).
#
#   bash scripts/test.sh [swift-test arguments...]     e.g.  bash scripts/test.sh --filter Config
#
# To run tests repeatedly against running servers instead:
#   eval "$(bash scripts/test-servers.sh up)"; swift-test --filter X; ...; bash scripts/test-servers.sh down
#
# The tests find the servers through these variables (exported here; values as they are with
# the default knobs):
#   DVBACKUP_TEST_REQUIRE_SERVERS=1  (a missing server fails a test instead of skipping it)
# PostgreSQL (scripts/services/start-postgres.sh):
#   DVBACKUP_TEST_PGHOST=127.0.0.1  DVBACKUP_TEST_PGPORT (5544)  DVBACKUP_TEST_PGUSER (dvbackup)
#   DVBACKUP_TEST_PGPASSWORD (dvbackup-pw)  (a LOGIN CREATEDB role: tests create and drop their
#   own databases; the databases "postgres", "dvndb" and "backupdb" exist)
# the SFTP server (scripts/services/start-sshd.sh; its header describes the accounts):
#   DVBACKUP_TEST_SSH_HOST=127.0.0.1  DVBACKUP_TEST_SSH_PORT (2222)
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
# OpenStack Swift 2.30 (scripts/services/start-swift.sh), auth v1 (tempauth):
#   DVBACKUP_TEST_SWIFT_AUTH_URL (http://127.0.0.1:8080/auth/v1.0)
#   DVBACKUP_TEST_SWIFT_USER (test:tester)  DVBACKUP_TEST_SWIFT_KEY (testing)
#       -> X-Storage-Url http://127.0.0.1:8080/v1/AUTH_test, tokens live 24 h
#   DVBACKUP_TEST_SWIFT_SHORT_TOKEN_AUTH_URL (http://127.0.0.1:8082/auth/v1.0): same user and
#       key, tokens that live DVBACKUP_TEST_SWIFT_SHORT_TOKEN_LIFE (3) seconds; its own account
#       (storage URL http://127.0.0.1:8082/v1/SHORT_test, tokens SHORT_tk...; its tokens are not
#       valid on :8080 and the reverse)
#   DVBACKUP_TEST_SWIFT_DIR (/tmp/dvbackup-swift: state, logs in log/)
# Swift's S3 API (s3api middleware on the same :8080 proxy, path-style):
#   DVBACKUP_TEST_SWIFT_S3_ENDPOINT (http://127.0.0.1:8080)  DVBACKUP_TEST_SWIFT_S3_REGION (us-east-1)
#   DVBACKUP_TEST_SWIFT_S3_ACCESS_KEY (test:tester: contains ":")  DVBACKUP_TEST_SWIFT_S3_SECRET_KEY (testing)
# Keystone v3 (scripts/services/start-keystone.sh) and the Swift proxy behind it (:8081):
#   DVBACKUP_TEST_KEYSTONE_AUTH_URL (http://127.0.0.1:5001/v3)
#   DVBACKUP_TEST_KEYSTONE_USER (swiftuser)  DVBACKUP_TEST_KEYSTONE_PASSWORD (swiftpw)
#   DVBACKUP_TEST_KEYSTONE_PROJECT (backup)
#   DVBACKUP_TEST_KEYSTONE_USER_DOMAIN (Default)  DVBACKUP_TEST_KEYSTONE_PROJECT_DOMAIN (Default)
#       (domain names; the domain's id is "default")
#   DVBACKUP_TEST_KEYSTONE_REGION (RegionOne): the catalog's only object-store endpoint is
#       interface "public" in this region
#   DVBACKUP_TEST_KEYSTONE_SWIFT_URL_PREFIX (http://127.0.0.1:8081/v1/AUTH_): that endpoint's
#       URL is this prefix + the project's id (new on every start)
# S3 (scripts/services/start-s3.sh: moto 5.2.5, path-style, SigV4 signatures checked):
#   DVBACKUP_TEST_S3_ENDPOINT (http://127.0.0.1:5000)  DVBACKUP_TEST_S3_REGION (us-east-1)
#   DVBACKUP_TEST_S3_ACCESS_KEY  DVBACKUP_TEST_S3_SECRET_KEY  (made by moto, new on every start)
# SMTP (scripts/services/start-smtp.sh: one aiosmtpd process, every accepted message stored as
# NNNNNN.json (envelope, listener, auth_user, tls, host_name) + NNNNNN.eml (raw DATA)):
#   DVBACKUP_TEST_SMTP_MAIL_DIR (/tmp/dvbackup-smtp/mail)
#   DVBACKUP_TEST_SMTP_PLAIN_URL (smtp://127.0.0.1:2525)      no TLS, no AUTH
#   DVBACKUP_TEST_SMTP_STARTTLS_URL (smtp://127.0.0.1:2587)   STARTTLS required (530 before it)
#   DVBACKUP_TEST_SMTP_SMTPS_URL (smtps://127.0.0.1:2465)     implicit TLS
#   DVBACKUP_TEST_SMTP_AUTH_URL (smtp://127.0.0.1:2526)       AUTH PLAIN/LOGIN required, no TLS
#   DVBACKUP_TEST_SMTP_AUTH_USER (dvbmail)  DVBACKUP_TEST_SMTP_AUTH_PASSWORD (mail-secret-pw)
#   DVBACKUP_TEST_SMTP_REFUSE_URL (smtp://127.0.0.1:2528)     every RCPT TO: 550 5.7.1 relaying denied
#   DVBACKUP_TEST_SMTP_DOWN_URL (smtp://127.0.0.1:2529)       nothing listens (connection refused)
#   DVBACKUP_TEST_SMTP_CA_FILE (/tmp/dvbackup-smtp/ca.pem): the test CA that signed the TLS
#       listeners' certificate (SAN DNS:localhost, IP:127.0.0.1); nothing else trusts it
# The SFTP server needs root (accounts, sshd); as another user it is not started (SFTP tests
# skip, or fail with DVBACKUP_TEST_REQUIRE_SERVERS=1).
#
# Knobs: the ports and state directories of every server, all listed in
# scripts/test-servers.sh's header, e.g. DVBACKUP_TEST_PGPORT (default 5544) and
# DVBACKUP_TEST_PGDIR (default /tmp/dvbackup-pg), DVBACKUP_TEST_SSHPORT (2222) and
# DVBACKUP_TEST_SSHDIR (/tmp/dvbackup-sshd), DVBACKUP_TEST_SWIFT_PORT (8080),
# DVBACKUP_TEST_S3_PORT (5000), DVBACKUP_TEST_SMTP_PLAIN_PORT (2525), ...; and
# DVBACKUP_TEST_SERVERS (default "postgres sshd swift keystone s3 smtp") to start fewer. A
# server that already runs in its state directory, or a port in use, is refused before
# anything starts (the cleanup would otherwise stop someone else's server).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

. scripts/toolchain.sh
command -v swift-build >/dev/null 2>&1 || { echo "test.sh: swift-build not found" >&2; exit 1; }

# The servers: the same functions as `bash scripts/test-servers.sh up|down`, with this run's
# own state directory (start scripts' output, export lines).
. scripts/test-servers.sh
TS_STATE=$(mktemp -d /tmp/dvbackup-test-run.XXXXXX)
ts_config || exit 1
if ! ts_preflight; then ts_remove_state; exit 1; fi

cleanup() {
  local rc=$?
  ts_stop
  ts_remove_state
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Start every server in the background, build meanwhile, then wait for the servers.
ts_launch
swift-build --build-tests
ts_wait || { echo "test.sh: a test server did not start" >&2; exit 1; }
export DVBACKUP_TEST_REQUIRE_SERVERS=${DVBACKUP_TEST_REQUIRE_SERVERS:-1}

set +e
swift-test --skip-build "$@"
rc=$?
set -e
echo "test.sh: swift-test exited with $rc" >&2
# The install (a static release build: minutes), the systemd units and the cron file: on a
# full run only, not when swift-test arguments select tests.
if [ $# -eq 0 ]; then
  set +e
  bash scripts/test-install.sh
  irc=$?
  set -e
  echo "test.sh: scripts/test-install.sh exited with $irc" >&2
  if [ $rc -eq 0 ]; then rc=$irc; fi
fi
exit $rc
