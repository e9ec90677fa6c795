#!/usr/bin/env bash
# Stop the SMTP sink started by start-smtp.sh with the same SMTP_DIR and remove SMTP_DIR with
# the stored mail (SMTP_KEEP=1 keeps it).
#
# Only the process recorded in $SMTP_DIR/pids is signalled, and only while its pid, start time
# and command line (smtp-sink.py with $SMTP_DIR/sink.json) still match the record
# (scripts/services/svc-lib.sh): SIGTERM, then SIGKILL after 5 s. Nothing is looked up by
# name. Safe to call when nothing runs. Prints one line.
#
# Env knobs: SMTP_DIR (default /tmp/dvbackup-smtp), SMTP_KEEP (1 = keep SMTP_DIR).
set -uo pipefail
SVC_NAME=stop-smtp
. "$(dirname "$0")/svc-lib.sh"
svc_stop_service "the SMTP sink" SMTP_DIR /tmp/dvbackup-smtp SMTP_KEEP
exit 0
