#!/usr/bin/env bash
# Stop the moto server started by start-s3.sh with the same S3_DIR and remove S3_DIR
# (S3_KEEP=1 keeps it). The venv ($MOTO_VENV) stays, to be reused by the next start.
#
# Only the process recorded in $S3_DIR/pids is signalled, and only while its pid, start time
# and command line (moto_server of the venv, on the recorded port) still match the record
# (scripts/services/svc-lib.sh): SIGTERM, then SIGKILL after 5 s (werkzeug can take ~2 s).
# Nothing is looked up by name. Safe to call when nothing runs. Prints one line.
#
# Env knobs: S3_DIR (default /tmp/dvbackup-s3), S3_KEEP (1 = keep S3_DIR).
set -uo pipefail
SVC_NAME=stop-s3
. "$(dirname "$0")/svc-lib.sh"
svc_stop_service moto S3_DIR /tmp/dvbackup-s3 S3_KEEP
exit 0
