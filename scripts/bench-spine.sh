#!/usr/bin/env bash
# On-demand measurement of dvbackup's spine (not a test; nothing here runs in CI):
#   (a) planning: a Dataverse 6.x catalog of N_PLAN datafiles (datasets of 100 files, 5% of
#       the files tabular, 10% of the datasets with a storage-designating alternative PID),
#       generated in SQL; times `dvbackup run --dry-run` (wall time, peak RSS).
#   (b) copying: N_SMALL files of 4 KiB with real random bytes in a file store and matching
#       catalog rows; times one `dvbackup run` into an empty local backup directory (wall
#       time, peak RSS, files/s, MiB/s).
# Starts its own PostgreSQL (PG_PORT=5547, PG_DIR=/tmp/dvbackup-bench-pg), builds the release
# binary if .build/release/dvbackup is missing, and cleans everything up afterwards.
#
#   bash scripts/bench-spine.sh                  N_PLAN=200000 N_SMALL=2000 bash scripts/bench-spine.sh
#
# Knobs: N_PLAN (default 1000000), N_SMALL (default 10000), PG_PORT, PG_DIR, DVBACKUP (binary to
# measure, default .build/release/dvbackup), BENCH_KEEP=1 (keep the work directory).
# Needs: about 0.6 GB of disk per million planned files (PostgreSQL), N_SMALL x 8 KiB for (b).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

N_PLAN=${N_PLAN:-1000000}
N_SMALL=${N_SMALL:-10000}
PG_PORT=${PG_PORT:-5547}
PG_DIR=${PG_DIR:-/tmp/dvbackup-bench-pg}
PG_USER=dvbackup
PG_PASSWORD=dvbackup-pw
DVBACKUP=${DVBACKUP:-$repo/.build/release/dvbackup}

say() { echo "bench: $*" >&2; }
. scripts/bench-lib.sh

bash scripts/install-deps.sh
. scripts/toolchain.sh

if [ ! -x /usr/bin/time ]; then
  if [ "$(id -u)" = 0 ]; then
    bench_apt_install time
  else
    say "GNU time (/usr/bin/time) is missing: apt-get install time"; exit 1
  fi
fi

bench_release_binary

work=$(mktemp -d "${TMPDIR:-/tmp}/dvbackup-bench.XXXXXX")
pg_started=0
cleanup() {
  local rc=$?
  if [ $pg_started = 1 ]; then
    PG_DIR=$PG_DIR bash scripts/services/stop-postgres.sh >&2 || true
  fi
  if [ "${BENCH_KEEP:-0}" = 1 ]; then say "kept $work"; else rm -rf "$work"; fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if (exec 3<>"/dev/tcp/127.0.0.1/$PG_PORT") 2>/dev/null; then
  say "port $PG_PORT is in use; set PG_PORT"; exit 1
fi
if [ -f "$PG_DIR/data/postmaster.pid" ] && kill -0 "$(head -n1 "$PG_DIR/data/postmaster.pid")" 2>/dev/null; then
  say "a PostgreSQL already runs in $PG_DIR; set PG_DIR"; exit 1
fi
pg_started=1
PG_PORT=$PG_PORT PG_DIR=$PG_DIR PG_USER=$PG_USER PG_PASSWORD=$PG_PASSWORD \
  PG_DATABASES="plan_dvndb plan_backupdb small_dvndb small_backupdb" \
  bash scripts/services/start-postgres.sh >"$work/pg.env"

# write_config FILE CATALOG_DB BACKUP_DB STORE_DIR BACKUP_DIR
write_config() {
  cat > "$1" <<EOF
[Database]
Host: 127.0.0.1
Port: $PG_PORT
Database: $2
Username: $PG_USER
Password: $PG_PASSWORD
BackupDatabase: $3

[Repository]
FileSystemDirectory: $4

[Backup]
StorageType: local
BackupDirectory: $5
IncrementalOverlap: 24h

[Stores]
dataverse.files.file.type = file
dataverse.files.file.directory = $4

[Notifications]
Email: admin@example.edu
EOF
}

# timed OUT_PREFIX CMD...: runs CMD under GNU time; leaves $OUT_PREFIX.time ("secs KB") and
# $OUT_PREFIX.rc; stdout to /dev/null, stderr to $OUT_PREFIX.log.
timed() {
  local out=$1; shift
  local rc=0
  /usr/bin/time -f '%e s %M KB' -o "$out.time" "$@" >/dev/null 2>"$out.log" || rc=$?
  echo "$rc" > "$out.rc"
  [ "$rc" = 0 ] || { say "exit $rc from: $*"; tail -n 5 "$out.log" >&2; }
}

now() { date +%s%N; }
secs_since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }'; }

# ----------------------------------------------------------------------------------------
# (a) planning over N_PLAN datafiles
# ----------------------------------------------------------------------------------------
say "(a) generating a catalog of $N_PLAN datafiles"
t=$(now)
psql_db plan_dvndb -f sql/catalog/dataverse-6.sql
psql_db plan_dvndb -v n="$N_PLAN" <<'SQL'
\set per 100
SELECT (:n + :per - 1) / :per AS nds \gset
BEGIN;
INSERT INTO dvobject (id, dtype, owner_id, createdate, modificationtime, publicationdate, creator_id)
VALUES (1, 'Dataverse', NULL, '2020-01-01 08:00:00', '2020-01-01 08:00:00', '2020-01-01 08:00:00', 1);
INSERT INTO dataverse (id, alias, name, dataversetype, permissionroot, facetroot, metadatablockroot, themeroot)
VALUES (1, 'root', 'Root', 'UNCATEGORIZED', true, true, true, true);
-- Datasets 2 .. nds+1, each created with its first file.
INSERT INTO dvobject (id, dtype, owner_id, createdate, modificationtime, publicationdate, protocol,
                      authority, identifier, separator, storageidentifier, globalidcreatetime,
                      identifierregistered, creator_id)
SELECT 1 + k, 'Dataset', 1, ts, ts, ts + interval '1 hour', 'doi', '10.5072', 'FK2/' || id7, '/',
       'file://10.5072/FK2/' || id7, ts, true, 1
FROM generate_series(1, :nds) AS k,
     LATERAL (SELECT timestamp '2021-01-01 00:00:00' + ((k - 1) * :per / 10) * interval '1250 ms' AS ts,
                     upper(lpad(to_hex(k), 7, '0')) AS id7) AS x;
INSERT INTO dataset (id, datasettype_id, fileaccessrequest, usegenericthumbnail)
SELECT 1 + k, 1, false, false FROM generate_series(1, :nds) AS k;
-- Files nds+2 .. nds+1+n: createdate ties of 10 files, storage names in Dataverse's form.
INSERT INTO dvobject (id, dtype, owner_id, createdate, modificationtime, publicationdate,
                      storageidentifier, previewimageavailable, creator_id)
SELECT :nds + 1 + i, 'DataFile', 2 + (i - 1) / :per, ts, ts, ts + interval '1 hour',
       'file://' || lpad(to_hex((extract(epoch FROM ts) * 1000)::bigint), 11, '0') || '-'
                 || substr(md5(i::text), 1, 12),
       false, 1
FROM generate_series(1, :n) AS i,
     LATERAL (SELECT timestamp '2021-01-01 00:00:00' + ((i - 1) / 10) * interval '1250 ms' AS ts) AS x;
INSERT INTO datafile (id, checksumtype, checksumvalue, contenttype, filesize, ingeststatus,
                      restricted, rootdatafileid)
SELECT :nds + 1 + i, 'MD5', md5(random()::text),
       CASE WHEN i % 20 = 0 THEN 'text/tab-separated-values' ELSE 'application/octet-stream' END,
       (random() * 1000000)::bigint, 'A', false, -1
FROM generate_series(1, :n) AS i;
-- Every 20th file is tabular; every 10th dataset keeps its files under an older DOI.
INSERT INTO datatable (datafile_id, unf, casequantity, varquantity, originalfileformat,
                       originalfilename, originalfilesize, storedwithvariableheader)
SELECT :nds + 1 + i, 'UNF:6:' || substr(md5(i::text), 1, 22) || '==', 100, 5, 'text/csv',
       'data' || i || '.csv', (random() * 1000000)::bigint, false
FROM generate_series(20, :n, 20) AS i;
INSERT INTO alternativepersistentidentifier (dvobject_id, protocol, authority, identifier,
                                             storagelocationdesignator, identifierregistered)
SELECT 1 + k, 'doi', '10.5072', 'FK2/OLD' || upper(lpad(to_hex(k), 7, '0')), true, true
FROM generate_series(10, :nds, 10) AS k;
DO $$ BEGIN PERFORM setval('dvobject_id_seq', (SELECT max(id) FROM dvobject)); END $$;
COMMIT;
ANALYZE dvobject; ANALYZE dataset; ANALYZE datafile; ANALYZE datatable;
ANALYZE alternativepersistentidentifier; ANALYZE dataverse;
SQL
gen_a=$(secs_since "$t")
say "(a) catalog ready in ${gen_a}s"

mkdir -p "$work/plan-store" "$work/plan-backup"
write_config "$work/plan.ini" plan_dvndb plan_backupdb "$work/plan-store" "$work/plan-backup"
"$DVBACKUP" init-db --config "$work/plan.ini" >/dev/null 2>"$work/plan-init.log" \
  || { say "init-db failed (going on):"; tail -n 3 "$work/plan-init.log" >&2; }
say "(a) timing: dvbackup run --config plan.ini --dry-run > /dev/null"
timed "$work/plan" "$DVBACKUP" run --config "$work/plan.ini" --dry-run

# ----------------------------------------------------------------------------------------
# (b) copying N_SMALL files of 4 KiB
# ----------------------------------------------------------------------------------------
say "(b) writing $N_SMALL files of 4 KiB and their catalog rows"
t=$(now)
psql_db small_dvndb -f sql/catalog/dataverse-6.sql
mkdir -p "$work/small-store" "$work/small-backup"
python3 scripts/bench-catalog.py "$work/small-store" "$work/small.sql" "$N_SMALL" 4096 100 'S%06X'
psql_db small_dvndb -f "$work/small.sql"
gen_b=$(secs_since "$t")
say "(b) store and catalog ready in ${gen_b}s"

write_config "$work/small.ini" small_dvndb small_backupdb "$work/small-store" "$work/small-backup"
"$DVBACKUP" init-db --config "$work/small.ini" >/dev/null 2>"$work/small-init.log" \
  || { say "init-db failed (going on):"; tail -n 3 "$work/small-init.log" >&2; }
sync
say "(b) timing: dvbackup run --config small.ini (into an empty backup directory)"
timed "$work/small" "$DVBACKUP" run --config "$work/small.ini"
copied=$(find "$work/small-backup" -type f | wc -l)

# ----------------------------------------------------------------------------------------
read -r a_secs _ a_kb _ < "$work/plan.time" || true
read -r b_secs _ b_kb _ < "$work/small.time" || true
a_rc=$(cat "$work/plan.rc"); b_rc=$(cat "$work/small.rc")
echo
echo "dvbackup spine benchmark ($(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), PostgreSQL $(PGPASSWORD=$PG_PASSWORD psql -X -At -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" -d plan_dvndb -c 'show server_version'))"
echo "binary: $DVBACKUP"
awk -v np="$N_PLAN" -v ns="$N_SMALL" -v as="${a_secs:-0}" -v ak="${a_kb:-0}" -v arc="$a_rc" \
    -v bs="${b_secs:-0}" -v bk="${b_kb:-0}" -v brc="$b_rc" -v ga="$gen_a" -v gb="$gen_b" -v cp="$copied" 'BEGIN {
  printf "%-34s %12s %14s %10s %12s %6s\n", "measurement", "wall (s)", "peak RSS (MB)", "files/s", "MiB/s", "exit"
  printf "%-34s %12.2f %14.1f %10.0f %12s %6d\n", "(a) plan " np " files (--dry-run)", as, ak / 1024, (as > 0 ? np / as : 0), "-", arc
  printf "%-34s %12.2f %14.1f %10.0f %12.2f %6d\n", "(b) copy " ns " x 4 KiB files", bs, bk / 1024, (bs > 0 ? ns / bs : 0), (bs > 0 ? ns * 4096 / 1048576 / bs : 0), brc
  printf "\nsetup (not timed above): catalog (a) %ss, store + catalog (b) %ss; files in the backup directory after (b): %d of %d\n", ga, gb, cp, ns
}'
[ "$a_rc" = 0 ] && [ "$b_rc" = 0 ]
