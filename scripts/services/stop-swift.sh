#!/usr/bin/env bash
# Stop the Swift started by start-swift.sh with the same SWIFT_DIR (memcached, the storage
# servers and both proxies) and remove SWIFT_DIR (SWIFT_KEEP=1 keeps it, e.g. for the logs).
#
# Only the processes recorded in $SWIFT_DIR/pids are signalled, and each only while its pid,
# start time and command line (its own config file under SWIFT_DIR) still match the record
# (scripts/services/svc-lib.sh): SIGTERM, then SIGKILL after 5 s. Nothing is looked up by
# name. Safe to call when nothing runs (it then signals nothing). Prints one line.
#
# Env knobs: SWIFT_DIR (default /tmp/dvbackup-swift), SWIFT_KEEP (1 = keep SWIFT_DIR).
set -uo pipefail
SVC_NAME=stop-swift
. "$(dirname "$0")/svc-lib.sh"
svc_stop_service swift SWIFT_DIR /tmp/dvbackup-swift SWIFT_KEEP
exit 0
