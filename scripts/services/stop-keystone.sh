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
svc_stop_service keystone KEYSTONE_DIR /tmp/dvbackup-keystone KEYSTONE_KEEP
exit 0
