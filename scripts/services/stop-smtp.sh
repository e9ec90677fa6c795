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
SMTP_DIR=${SMTP_DIR:-/tmp/dvbackup-smtp}
svc_check_dir SMTP_DIR "$SMTP_DIR"

stopped=$(svc_stop_recorded "$SMTP_DIR/pids")
if [ -n "$stopped" ]; then
  echo "stopped the SMTP sink ($stopped)"
else
  echo "no SMTP sink of $SMTP_DIR running; nothing to stop"
fi
rm -f "$SMTP_DIR/pids"
[ "${SMTP_KEEP:-0}" = 1 ] || svc_remove_dir "$SMTP_DIR"
exit 0
