#!/usr/bin/env bash
# Stop what start-keystone.sh started with the same KEYSTONE_DIR (Keystone and the
# keystone-auth Swift proxy) and remove KEYSTONE_DIR (KEYSTONE_KEEP=1 keeps it). Run it before
# stop-swift.sh. If start-keystone.sh itself is still running (started in the background), it
# should be stopped first (a TERM makes it stop what it had started).
#
# Only the processes recorded in $KEYSTONE_DIR/pids are signalled, each only while its pid,
# start time and command line (its config file under KEYSTONE_DIR) still match the record
# (scripts/services/svc-lib.sh): SIGTERM, then SIGKILL after 5 s. Nothing is looked up by
# name. Safe to call when nothing runs (it then signals nothing). Prints one line.
#
# Env knobs: KEYSTONE_DIR (default /tmp/dvbackup-keystone), KEYSTONE_KEEP (1 = keep it).
set -uo pipefail
SVC_NAME=stop-keystone
. "$(dirname "$0")/svc-lib.sh"
KEYSTONE_DIR=${KEYSTONE_DIR:-/tmp/dvbackup-keystone}
svc_check_dir KEYSTONE_DIR "$KEYSTONE_DIR"

stopped=$(svc_stop_recorded "$KEYSTONE_DIR/pids")
if [ -n "$stopped" ]; then
  echo "stopped keystone ($stopped)"
else
  echo "no keystone of $KEYSTONE_DIR running; nothing to stop"
fi
rm -f "$KEYSTONE_DIR/pids"
[ "${KEYSTONE_KEEP:-0}" = 1 ] || svc_remove_dir "$KEYSTONE_DIR"
exit 0
