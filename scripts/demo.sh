#!/usr/bin/env bash
# dvbackup, end to end, on a fresh Debian 12 machine:
#   installs what is missing, builds the release binary, starts a throwaway PostgreSQL
#   (127.0.0.1:5545, databases dvndb and backupdb), loads a Dataverse 6.x catalog with a small
#   sample (file bytes in two file stores, including one missing file and one damaged
#   primary copy), writes a config.ini, and runs dvbackup: check-config, init-db, a dry run,
#   a run, the copies it made, a second (incremental) run, a restore of one dataset by its
#   labels (with its manifest), a dry run of restoring damaged primaries, an orphan scan after
#   a file is deleted from the catalog, and status. The morning report of
#   each run is mailed to a throwaway SMTP sink (127.0.0.1:3525, scripts/services/start-smtp.sh)
#   and the first one is printed as it arrived.
#
#   bash scripts/demo.sh              DEMO_KEEP=1 bash scripts/demo.sh   (keep the temp dir)
#
# Knobs: PG_PORT (default 5545), PG_DIR (default /tmp/dvbackup-demo-pg), DEMO_KEEP=1,
#        DVBACKUP (a binary to use instead of building .build/release/dvbackup).
# Exits 0 when every step ended as expected (the runs end with exit 1, see below).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

PG_PORT=${PG_PORT:-5545}
PG_DIR=${PG_DIR:-/tmp/dvbackup-demo-pg}
PG_USER=dvbackup
PG_PASSWORD=dvbackup-pw

step() { printf '\n==> %s\n' "$*"; }

step "Installing what is missing (scripts/install-deps.sh)"
bash scripts/install-deps.sh
. scripts/toolchain.sh

if [ -n "${DVBACKUP:-}" ]; then
  step "Using the binary $DVBACKUP"
else
  step "Building dvbackup: swift-build -c release"
  swift-build -c release
  DVBACKUP=.build/release/dvbackup
fi
[ -x "$DVBACKUP" ] || { echo "no executable $DVBACKUP" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/dvbackup-demo.XXXXXX")
pg_started=0
smtp_started=0
SMTP_DEMO_DIR=${SMTP_DEMO_DIR:-/tmp/dvbackup-demo-smtp}
cleanup() {
  local rc=$?
  if [ $smtp_started = 1 ]; then
    SMTP_DIR=$SMTP_DEMO_DIR bash scripts/services/stop-smtp.sh >/dev/null 2>&1 || true
  fi
  if [ $pg_started = 1 ]; then
    step "Stopping PostgreSQL"
    PG_DIR=$PG_DIR bash scripts/services/stop-postgres.sh || true
  fi
  if [ "${DEMO_KEEP:-0}" = 1 ]; then
    echo "demo files kept in $tmp (config: $tmp/config.ini)"
  else
    rm -rf "$tmp"
    echo "demo files were in $tmp (removed; DEMO_KEEP=1 keeps them)"
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

step "Starting a throwaway PostgreSQL on 127.0.0.1:$PG_PORT (data in $PG_DIR)"
if (exec 3<>"/dev/tcp/127.0.0.1/$PG_PORT") 2>/dev/null; then
  echo "port $PG_PORT is in use; set PG_PORT" >&2; exit 1
fi
if [ -f "$PG_DIR/data/postmaster.pid" ] && kill -0 "$(head -n1 "$PG_DIR/data/postmaster.pid")" 2>/dev/null; then
  echo "a PostgreSQL already runs in $PG_DIR; set PG_DIR" >&2; exit 1
fi
pg_started=1
PG_PORT=$PG_PORT PG_DIR=$PG_DIR PG_USER=$PG_USER PG_PASSWORD=$PG_PASSWORD \
  PG_DATABASES="dvndb backupdb" bash scripts/services/start-postgres.sh

step "Starting a throwaway SMTP sink on 127.0.0.1:3525 (it keeps each message in $SMTP_DEMO_DIR/mail)"
smtp_started=1
SMTP_DIR=$SMTP_DEMO_DIR SMTP_PLAIN_PORT=3525 SMTP_STARTTLS_PORT=3587 SMTP_SMTPS_PORT=3465 \
  SMTP_AUTH_PORT=3526 SMTP_REFUSE_PORT=3528 SMTP_DOWN_PORT=3529 bash scripts/services/start-smtp.sh >/dev/null

store=$tmp/files
store2=$tmp/files-file2
backup=$tmp/backup
mkdir -p "$backup"   # an administrator creates (or mounts) the backup directory; dvbackup never does
config=$tmp/config.ini

step "Making a sample Dataverse: file stores $store and $store2, catalog in dvndb"
python3 scripts/make-sample-catalog.py --store "$store" --sql "$tmp/sample.sql" \
  --expect "$tmp/expected.tsv"
export PGPASSWORD=$PG_PASSWORD
psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" -d dvndb -f sql/catalog/dataverse-6.sql
psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" -d dvndb -f "$tmp/sample.sql"
unset PGPASSWORD
echo "catalog loaded: $(PGPASSWORD=$PG_PASSWORD psql -X -At -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" -d dvndb \
  -c 'SELECT count(*) FROM datafile') datafiles"

step "Writing $config"
cat > "$config" <<EOF
[Database]
Host: 127.0.0.1
Port: $PG_PORT
Database: dvndb
Username: $PG_USER
Password: $PG_PASSWORD
BackupDatabase: backupdb

[Repository]
FileSystemDirectory: $store

[Backup]
StorageType: local
BackupDirectory: $backup
IncrementalOverlap: 24h

[Stores]
dataverse.files.file.type = file
dataverse.files.file.directory = $store
dataverse.files.file2.type = file
dataverse.files.file2.directory = $store2

[Notifications]
Email: admin@example.edu
SmtpUrl: smtp://127.0.0.1:3525
Installation: demo.dataverse.example.edu
EOF
chmod 600 "$config"  # it holds the database password (dvbackup warns about a config others can read)
cat "$config"

failed_ids=$(awk -F'\t' '$3 ~ /^FAIL_/ { printf "%s%s (%s)", sep, $1, $3; sep = ", " }' "$tmp/expected.tsv")
surprises=0
# run EXPECTED_EXIT CMD...: echo the command, run it, report its exit code.
run() {
  local want=$1; shift
  printf '\n$ %s\n' "$*"
  local rc=0
  "$@" || rc=$?
  if [ "$rc" = "$want" ]; then
    echo "(exit $rc, as expected)"
  else
    echo "(exit $rc; expected $want)"
    surprises=$((surprises + 1))
  fi
  return 0
}

step "Checking the configuration"
run 0 "$DVBACKUP" check-config --config "$config"

step "Creating the backup database schema"
run 0 "$DVBACKUP" init-db --config "$config"

step "Dry run: what would be copied (nothing is touched)"
run 0 "$DVBACKUP" run --config "$config" --dry-run

step "First run: copy and prove every file"
run 1 "$DVBACKUP" run --config "$config"
echo "Exit 1 is expected: the sample has a datafile missing from its store (FAIL_READ) and one"
echo "whose bytes no longer match the catalog checksum (FAIL_SOURCE_CHECKSUM, a damaged primary"
echo "copy, which is reported and never overwritten): $failed_ids."
echo "Harvested files are skipped, and the file whose ingest is scheduled is left for a later run."

step "Copies in the backup directory"
printf '\n$ find %s -type f | sort | head\n' "$backup"
if [ -d "$backup" ]; then
  find "$backup" -type f | sort | sed -n '1,10p'
  echo "($(find "$backup" -type f | wc -l) files in all)"
else
  echo "(no backup directory was created)"
  surprises=$((surprises + 1))
fi

step "The morning report of the first run, as the SMTP server received it"
first_mail=$(ls "$SMTP_DEMO_DIR/mail/"*.eml 2>/dev/null | sort | head -n1 || true)
if [ -n "$first_mail" ]; then
  tr -d '\r' < "$first_mail" | sed -n '1,60p'
else
  echo "(no message arrived)"
  surprises=$((surprises + 1))
fi

step "Second run: incremental; skips what is OK, retries the failures"
run 1 "$DVBACKUP" run --config "$config"

psql_demo() { PGPASSWORD=$PG_PASSWORD psql -X -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" -d dvndb "$@"; }
first_file=$(awk -F'\t' '$4 == "MD5, text, shared createdate" { print $1 }' "$tmp/expected.tsv")
dataset_pid=$(psql_demo -c "SELECT d.protocol || ':' || d.authority || '/' || d.identifier FROM dvobject f
                            JOIN dvobject d ON d.id = f.owner_id WHERE f.id = $first_file")
restored=$tmp/restored
mkdir -p "$restored"
step "Restoring the dataset $dataset_pid into $restored, named by the labels of its latest version"
run 0 "$DVBACKUP" restore --config "$config" --dataset "$dataset_pid" --to "$restored" --names labels
echo "Every file was streamed from the backup, proven against its catalog checksum, and only then"
echo "renamed into place. Its latest version (a draft) moved files into folders and gave two of them"
echo "the same name: the second became 'notes (2).txt'."
printf '
$ find %s -type f | sort
' "$restored"
find "$restored" -type f | sort
printf '
$ cat %s/dvbackup-restore-manifest.csv
' "$restored"
cat "$restored/dvbackup-restore-manifest.csv" 2>/dev/null || { echo "(no manifest)"; surprises=$((surprises + 1)); }

step "Which damaged or missing primaries could be restored into their stores (dry run)"
run 0 "$DVBACKUP" restore --config "$config" --damaged-primaries --into-store --dry-run
echo "A primary counts as damaged once a run or an audit of the stores found it so after its copy"
echo "was proven; the sample's damaged primary never had a good copy, so there is nothing to restore."

handle_file=$(awk -F'\t' '$4 == "Handle dataset, SHA1" { print $1 }' "$tmp/expected.tsv")
step "Dataverse deletes datafile $handle_file; the orphan scan lists its copy (and deletes nothing)"
psql_demo -q -c "DELETE FROM filemetadata WHERE datafile_id = $handle_file;
                 DELETE FROM datafile WHERE id = $handle_file; DELETE FROM dvobject WHERE id = $handle_file"
run 0 "$DVBACKUP" audit --orphans --config "$config"

# --- audit: the copies proven again, the primaries checked (dvbackup audit) ---------------------
step "Audit: prove every copy again on the target (dvbackup audit --all)"
run 0 "$DVBACKUP" audit --config "$config" --all
echo "Each copy is read back from the disk (its cached pages dropped) and checked against the"
echo "catalog's checksum. Without --all, nightly audits take the copies verified longest ago, so"
echo "that every copy is proven again within [Audit] Cycle (90d); --max-time and --max-bytes cap one."

# A primary whose copy is proven is damaged behind Dataverse's back (a byte changed).
rotten_name=$(psql_demo -c "SELECT regexp_replace(storageidentifier, '^[a-z0-9]+://', '') FROM dvobject WHERE id = $first_file")
rotten=$(find "$store" "$store2" -type f -name "$rotten_name" | head -n 1)
cp -p "$rotten" "$tmp/rotten.orig"
printf 'X' | dd of="$rotten" bs=1 seek=3 conv=notrunc status=none

step "Audit of the primaries: the file stores against the catalog (dvbackup audit --source)"
echo "(datafile $first_file's primary, $rotten, had one byte changed since its copy was proven)"
run 1 "$DVBACKUP" audit --config "$config" --source --all
echo "Exit 1 is expected: datafile $first_file's damaged primary is found, and reported restorable"
echo "(its copy is proven), with the command that restores it. The sample's other damaged primary"
echo "and its missing file are found again; neither was ever backed up, so no proven copy can"
echo "restore them (NO PROVEN COPY ANYWHERE). Findings go to sourcefixity, never to the backup's status."

step "Restoring the damaged primaries that have a proven copy, into their stores"
run 0 "$DVBACKUP" restore --config "$config" --damaged-primaries --into-store
if cmp -s "$rotten" "$tmp/rotten.orig"; then
  echo "$rotten holds its deposited bytes again (proven against the catalog's checksum while"
  echo "streaming, written under a temporary name, flushed and renamed); sourcefixity records it"
  echo "as restored, so status no longer counts it damaged."
else
  echo "$rotten does not hold its deposited bytes"
  surprises=$((surprises + 1))
fi

step "What the backup database says"
run 0 "$DVBACKUP" status --config "$config"

echo
if [ $surprises = 0 ]; then
  echo "demo: every step ended as expected"
else
  echo "demo: $surprises step(s) did not end as expected"
  exit 1
fi
