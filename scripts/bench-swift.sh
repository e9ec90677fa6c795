#!/usr/bin/env bash
# On-demand measurement of dvbackup's Swift target (not a test; nothing here runs in CI):
# one file of BIG_MIB MiB (default 1024) sent to the same OpenStack Swift cluster by
#   (a) dvbackup run      StorageType swift, SwiftSegmentSize SEGMENT_MIB: a Static Large
#                         Object whose every segment ETag is checked, manifest last
#   (b) dvbackup run      SwiftSegmentSize 5GiB: one PUT with the catalog MD5 sent as ETag
#   (c) swift upload --use-slo -S SEGMENT_MIB MiB   (python-swiftclient, /usr/bin/swift;
#                         it checks every segment's ETag; 10 segment threads by default)
# RUNS times each, interleaved, every run into a new empty container (and for dvbackup a new
# empty backup database). The source is read into the page cache before every timed command.
# Every copy is checked afterwards, untimed: the MD5 of the object downloaded (GET) must be the
# source's. Timing: /usr/bin/time (wall seconds, peak RSS).
# Prints the medians and the ratio of dvbackup's throughput to swift upload's (> 1: faster).
#
# Last measured (2026-11-21, 2 cores shared with other builds, one-node Swift 2.30.1 with
# tempauth on loopback, RUNS=5, medians): (a) 4.37 s = 246 MB/s, 43 MB peak RSS; (b) 3.59 s =
# 299 MB/s, 38 MB; (c) 5.94 s = 181 MB/s, 65 MB: throughput ratio dvbackup/swift upload 1.36
# (SLO) and 1.65 (one PUT). swift upload's runs ranged from 4.0 to 8.2 s on the busy machine.
#
#   bash scripts/bench-swift.sh                  (about 2-4 min at 1 GiB, RUNS=3)
#   BIG_MIB=256 RUNS=1 bash scripts/bench-swift.sh   (a quick check)
#
# The cluster: an existing one when SWIFT_AUTH_URL is set (auth v1; SWIFT_USER, SWIFT_KEY,
# default test:tester / testing), otherwise one started here with scripts/services/start-swift.sh
# on SWIFT_PORT (default 18280), backends from SWIFT_BASE_PORT (16280), memcached on
# SWIFT_MEMCACHED_PORT (11380), state in SWIFT_DIR (/tmp/dvbackup-bench-swift), stopped at the
# end. A throwaway PostgreSQL (scripts/services/start-postgres.sh) on PG_PORT (5583) in PG_DIR
# (/tmp/dvbackup-bench-swift-pg) holds the catalog and the backup databases.
#
# Then (RESTORE=1, the default; RESTORE=0 skips it) `dvbackup restore` of that SLO against
# `swift download`, see restore_bench below.
#
# Knobs: RUNS (3), BIG_MIB (1024), SEGMENT_MIB (256), RESTORE (1), DVBACKUP (binary, default
# .build/release/dvbackup, built with `swift-build -c release` if missing), BENCH_KEEP=1 (keep
# the work directory and the containers).
# AUDIT=1: also measure `dvbackup audit --all` of the SLO against `swift download -o - | md5sum`.
# Needs: python3-swiftclient (/usr/bin/swift), curl, GNU time, about 2 x BIG_MIB MiB in /tmp
# plus what the cluster stores (each run's objects are deleted after it is checked).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

RUNS=${RUNS:-3}
BIG_MIB=${BIG_MIB:-1024}
SEGMENT_MIB=${SEGMENT_MIB:-256}
PG_PORT=${PG_PORT:-5583}
PG_DIR=${PG_DIR:-/tmp/dvbackup-bench-swift-pg}
PG_USER=dvbackup
PG_PASSWORD=dvbackup-pw
SWIFT_PORT=${SWIFT_PORT:-18280}
SWIFT_BASE_PORT=${SWIFT_BASE_PORT:-16280}
SWIFT_MEMCACHED_PORT=${SWIFT_MEMCACHED_PORT:-11380}
SWIFT_DIR=${SWIFT_DIR:-/tmp/dvbackup-bench-swift}
DVBACKUP=${DVBACKUP:-$repo/.build/release/dvbackup}

say() { echo "bench-swift: $*" >&2; }
. scripts/bench-lib.sh
for v in RUNS BIG_MIB SEGMENT_MIB; do
  case "${!v}" in ''|*[!0-9]*|0) say "$v must be a whole number >= 1"; exit 2 ;; esac
done
[ -x /usr/bin/swift ] || { say "needs /usr/bin/swift (apt-get install python3-swiftclient)"; exit 1; }
[ -x /usr/bin/time ] || { say "needs GNU time (apt-get install time)"; exit 1; }
# /usr/bin/swift is OpenStack's CLI; the Swift toolchain comes after it in PATH on purpose.
. scripts/toolchain.sh
bench_release_binary

work=$(mktemp -d "${TMPDIR:-/tmp}/dvbackup-bench-swift.XXXXXX")
pg_started=0
swift_started=0
containers=()
cleanup() {
  local rc=$?
  if [ "${BENCH_KEEP:-0}" != 1 ]; then
    for c in "${containers[@]}"; do swiftcli delete "$c" >/dev/null 2>&1 || true; swiftcli delete "${c}_segments" >/dev/null 2>&1 || true; done
  fi
  [ $swift_started = 1 ] && { SWIFT_DIR=$SWIFT_DIR bash scripts/services/stop-swift.sh >&2 || true; }
  [ $pg_started = 1 ] && { PG_DIR=$PG_DIR bash scripts/services/stop-postgres.sh >&2 || true; }
  if [ "${BENCH_KEEP:-0}" = 1 ]; then say "kept $work"; else rm -rf "$work"; fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- servers ---------------------------------------------------------------------------------
if [ -z "${SWIFT_AUTH_URL:-}" ]; then
  [ -f scripts/services/start-swift.sh ] || { say "no SWIFT_AUTH_URL and no scripts/services/start-swift.sh to start a cluster"; exit 1; }
  swift_started=1
  SWIFT_DIR=$SWIFT_DIR SWIFT_PORT=$SWIFT_PORT SWIFT_BASE_PORT=$SWIFT_BASE_PORT SWIFT_MEMCACHED_PORT=$SWIFT_MEMCACHED_PORT \
    SWIFT_SHORT_PORT=$((SWIFT_PORT + 1)) bash scripts/services/start-swift.sh > "$work/swift.env"
  SWIFT_AUTH_URL=$(sed -n 's/^SWIFT_AUTH_URL=//p' "$work/swift.env")
fi
SWIFT_USER=${SWIFT_USER:-test:tester}
SWIFT_KEY=${SWIFT_KEY:-testing}
swiftcli() { /usr/bin/swift -A "$SWIFT_AUTH_URL" -U "$SWIFT_USER" -K "$SWIFT_KEY" "$@"; }
swiftcli stat >/dev/null || { say "cannot use the cluster at $SWIFT_AUTH_URL as $SWIFT_USER"; exit 1; }

pg_started=1
PG_PORT=$PG_PORT PG_DIR=$PG_DIR PG_USER=$PG_USER PG_PASSWORD=$PG_PASSWORD PG_DATABASES="dvndb" \
  bash scripts/services/start-postgres.sh > "$work/pg.env"

# --- data: one file in a file store, and its catalog row ---------------------------------------
store=$work/store
rel=10.5072/FK2/BENCHSWIFT/18b39722140-50eb7d3c5ece
mkdir -p "$store/$(dirname "$rel")"
say "writing $BIG_MIB MiB of random bytes"
head -c $((BIG_MIB * 1048576)) /dev/urandom > "$store/$rel"
md5=$(md5sum "$store/$rel" | cut -d' ' -f1)
psql_db dvndb -f sql/catalog/dataverse-6.sql
psql_db dvndb <<SQL
INSERT INTO dvobject (id, dtype, createdate, modificationtime) VALUES (1, 'Dataverse', '2024-01-01', '2024-01-01');
INSERT INTO dataverse (id, alias, name, dataversetype) VALUES (1, 'root', 'Root', 'UNCATEGORIZED');
INSERT INTO dvobject (id, dtype, owner_id, createdate, modificationtime, protocol, authority, identifier, separator)
  VALUES (2, 'Dataset', 1, '2024-01-02', '2024-01-02', 'doi', '10.5072', 'FK2/BENCHSWIFT', '/');
INSERT INTO dataset (id, datasettype_id) VALUES (2, 1);
INSERT INTO dvobject (id, dtype, owner_id, createdate, modificationtime, storageidentifier)
  VALUES (3, 'DataFile', 2, '2024-01-03', '2024-01-03', 'file://18b39722140-50eb7d3c5ece');
INSERT INTO datafile (id, checksumtype, checksumvalue, contenttype, filesize, ingeststatus, restricted)
  VALUES (3, 'MD5', '$md5', 'application/octet-stream', $((BIG_MIB * 1048576)), 'A', false);
SQL

# write_config FILE BACKUP_DB CONTAINER SEGMENT
write_config() {
  cat > "$1" <<EOF
[Database]
Host: 127.0.0.1
Port: $PG_PORT
Database: dvndb
Username: $PG_USER
Password: $PG_PASSWORD
BackupDatabase: $2

[Repository]
FileSystemDirectory: $store

[Backup]
StorageType: swift
SwiftAuthUrl: $SWIFT_AUTH_URL
SwiftAuthVersion: 1
SwiftUser: $SWIFT_USER
SwiftKey: $SWIFT_KEY
SwiftContainer: $3
SwiftSegmentSize: $4
Workers: 1
EOF
}

warm() { cat "$store/$rel" > /dev/null; }

# timed OUT CMD...: GNU time -> OUT.time ("secs KB"), exit code -> OUT.rc
timed() {
  local out=$1; shift
  local rc=0
  /usr/bin/time -f '%e %M' -o "$out.time" "$@" >"$out.out" 2>"$out.log" || rc=$?
  echo "$rc" > "$out.rc"
}

# check CONTAINER OBJECT: "ok" when the object's bytes have the source's MD5
check() {
  local got
  got=$(swiftcli download "$1" "$2" -o - 2>/dev/null | md5sum | cut -d' ' -f1)
  if [ "$got" = "$md5" ]; then echo ok; else echo "BAD:md5_$got"; fi
}

: > "$work/results"     # tool run secs kb rc check
for i in $(seq "$RUNS"); do
  for tool in dvbackup-slo dvbackup-put swift-upload; do
    c=bench-$tool-$i-$$
    containers+=("$c")
    warm; sync
    case $tool in
      dvbackup-slo|dvbackup-put)
        seg=$([ $tool = dvbackup-slo ] && echo "${SEGMENT_MIB}MiB" || echo 5GiB)
        db=bk_${tool//-/_}_$i
        psql_db dvndb -c "CREATE DATABASE \"$db\""
        write_config "$work/$c.ini" "$db" "$c" "$seg"
        "$DVBACKUP" init-db --config "$work/$c.ini" >/dev/null 2>&1
        say "run $i/$RUNS $tool (SwiftSegmentSize $seg)"
        timed "$work/$c" "$DVBACKUP" run --config "$work/$c.ini"
        obj=$rel ;;
      swift-upload)
        swiftcli post "$c"
        say "run $i/$RUNS swift upload --use-slo -S $((SEGMENT_MIB * 1048576))"
        timed "$work/$c" /usr/bin/swift -A "$SWIFT_AUTH_URL" -U "$SWIFT_USER" -K "$SWIFT_KEY" \
          upload --use-slo -S $((SEGMENT_MIB * 1048576)) --object-name "$rel" "$c" "$store/$rel"
        obj=$rel ;;
    esac
    rc=$(cat "$work/$c.rc")
    [ "$rc" = 0 ] || { say "$tool exited $rc:"; tail -n 5 "$work/$c.log" >&2; }
    echo "$tool $i $(tail -n1 "$work/$c.time") $rc $(check "$c" "$obj")" >> "$work/results"
    if [ "${BENCH_KEEP:-0}" != 1 ]; then swiftcli delete "$c" >/dev/null 2>&1 || true; swiftcli delete "${c}_segments" >/dev/null 2>&1 || true; fi
  done
done

# --- restore (RESTORE=1, the default) ----------------------------------------------------------
# One untimed dvbackup run (SLO of SEGMENT_MIB segments) into a container of its own, then RUNS
# times, interleaved, into a new empty local directory each:
#   (r-a) dvbackup restore --datafile 3 --to DIR   (GET streamed, hashed, proven against the
#         catalog MD5, written under a temporary name and renamed)
#   (r-b) swift download C OBJ -o FILE             (python-swiftclient)
# The copy is checked by its MD5, untimed. Target (issue 13): dvbackup no slower than swift
# download, peak RSS < 64 MB.
restore_bench() {
  local c=bench-restore-$$ db=bk_restore i d tool rc got
  containers+=("$c")
  psql_db dvndb -c "CREATE DATABASE \"$db\""
  write_config "$work/restore.ini" "$db" "$c" "${SEGMENT_MIB}MiB"
  "$DVBACKUP" init-db --config "$work/restore.ini" >/dev/null 2>&1
  say "restore: the backup to restore from (untimed)"
  "$DVBACKUP" run --config "$work/restore.ini" >/dev/null 2>"$work/restore-backup.log" \
    || { say "restore: the backup failed:"; tail -n 5 "$work/restore-backup.log" >&2; return 0; }
  for i in $(seq "$RUNS"); do
    for tool in restore-dvbackup swift-download; do
      d=$work/restored-$tool-$i
      mkdir -p "$d/$(dirname "$rel")"; sync
      case $tool in
        restore-dvbackup)
          say "restore run $i/$RUNS (r-a) dvbackup restore --to"
          timed "$work/$tool-$i" "$DVBACKUP" restore --config "$work/restore.ini" --datafile 3 --to "$d" ;;
        swift-download)
          say "restore run $i/$RUNS (r-b) swift download"
          timed "$work/$tool-$i" /usr/bin/swift -A "$SWIFT_AUTH_URL" -U "$SWIFT_USER" -K "$SWIFT_KEY" \
            download "$c" "$rel" -o "$d/$rel" ;;
      esac
      rc=$(cat "$work/$tool-$i.rc")
      [ "$rc" = 0 ] || { say "$tool exited $rc:"; tail -n 5 "$work/$tool-$i.log" >&2; }
      got=$(md5sum "$d/$rel" 2>/dev/null | cut -d' ' -f1 || true)
      echo "$tool $i $(tail -n1 "$work/$tool-$i.time") $rc $([ "$got" = "$md5" ] && echo ok || echo "BAD:md5_${got:-none}")" >> "$work/results"
      rm -rf "$d"
    done
  done
  echo
  echo "restore of the $BIG_MIB MiB SLO: CPU $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1) x $(nproc), load $(cut -d' ' -f1-3 /proc/loadavg); RUNS=$RUNS; medians of runs that exited 0"
  awk -v bytes=$((BIG_MIB * 1048576)) '
    function median(list,   n, a, i, j, t) {
      n = split(list, a, " "); if (n == 0) return -1
      for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
      return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    $1 == "restore-dvbackup" || $1 == "swift-download" { runs[$1]++; if ($5 == 0) { secs[$1] = secs[$1] " " $3; kb[$1] = kb[$1] " " $4 } if ($6 != "ok" || $5 != 0) bad[$1] = 1 }
    END {
      label["restore-dvbackup"] = "(r-a) dvbackup restore --to"; label["swift-download"] = "(r-b) swift download"
      printf "%-44s %8s %10s %10s %14s %6s\n", "tool", "runs", "wall (s)", "MB/s", "peak RSS (MB)", "copy"
      n = split("restore-dvbackup swift-download", T, " ")
      for (k = 1; k <= n; k++) {
        t = T[k]; if (!(t in runs)) continue
        m = median(secs[t]); med[t] = m; rss[t] = median(kb[t])
        if (m <= 0) { printf "%-44s %8d %10s\n", label[t], runs[t], "failed"; continue }
        printf "%-44s %8d %10.2f %10.0f %14.1f %6s\n", label[t], runs[t], m, bytes / 1e6 / m, rss[t] / 1024, (t in bad) ? "BAD" : "ok"
      }
      d = med["restore-dvbackup"]; s = med["swift-download"]
      if (d > 0 && s > 0) printf "targets:\n  restore no slower than swift download: dvbackup/swift download = %.2f (%.2f s vs %.2f s): %s\n", d / s, d, s, (d <= s) ? "MET" : "NOT MET"
      if (d > 0) printf "  restore peak RSS < 64 MB: %.1f MB: %s\n", rss["restore-dvbackup"] / 1024, (rss["restore-dvbackup"] / 1024 < 64) ? "MET" : "NOT MET"
    }' "$work/results"
}
if [ "${RESTORE:-1}" = 1 ]; then restore_bench; fi

# --- audit (AUDIT=1): dvbackup audit --all of the SLO vs swift download piped into md5sum ----------
# One untimed dvbackup run (an SLO of SEGMENT_MIB MiB segments) into its own container, then RUNS
# times, interleaved: (d) `dvbackup audit --all` (a full GET of the SLO, hashed as it streams,
# against the catalog's MD5) and (e) `swift download -o - | md5sum` (the same bytes fetched and
# hashed by the standard client; swift download alone checks no digest of an SLO as a whole,
# so the md5sum is what makes it a proof). Lines "tool run secs kb rc" into $work/audit-results.
audit_bench() {
  local c=bench-audit-$$ db=bk_audit i rc
  containers+=("$c")
  psql_db dvndb -c "CREATE DATABASE \"$db\""
  write_config "$work/$c.ini" "$db" "$c" "${SEGMENT_MIB}MiB"
  say "audit: making the SLO to audit (untimed)"
  "$DVBACKUP" run --config "$work/$c.ini" >"$work/$c-run.log" 2>&1 \
    || { say "audit: the backup failed:"; tail -n 5 "$work/$c-run.log" >&2; return 0; }
  : > "$work/audit-results"
  for i in $(seq "$RUNS"); do
    say "audit $i/$RUNS (d) dvbackup audit --all"
    timed "$work/$c-audit-$i" "$DVBACKUP" audit --all --config "$work/$c.ini"
    echo "dvbackup-audit $i $(tail -n1 "$work/$c-audit-$i.time") $(cat "$work/$c-audit-$i.rc")" >> "$work/audit-results"
    say "audit $i/$RUNS (e) swift download -o - | md5sum"
    timed "$work/$c-download-$i" bash -c '/usr/bin/swift -A "$1" -U "$2" -K "$3" download "$4" "$5" -o - | md5sum | grep -q "^$6 "' \
      swift-md5 "$SWIFT_AUTH_URL" "$SWIFT_USER" "$SWIFT_KEY" "$c" "$rel" "$md5"
    echo "swift-download $i $(tail -n1 "$work/$c-download-$i.time") $(cat "$work/$c-download-$i.rc")" >> "$work/audit-results"
  done
  if [ "${BENCH_KEEP:-0}" != 1 ]; then swiftcli delete "$c" >/dev/null 2>&1 || true; swiftcli delete "${c}_segments" >/dev/null 2>&1 || true; fi
  echo
  echo "audit benchmark: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); an SLO of $BIG_MIB MiB; RUNS=$RUNS, medians of runs that exited 0"
  awk -v bytes=$((BIG_MIB * 1048576)) '
    function median(list,   n, a, i, j, t) {
      n = split(list, a, " "); if (n == 0) return -1
      for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
      return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    { if ($5 == 0) { secs[$1] = secs[$1] " " $3; kb[$1] = kb[$1] " " $4 } else fails[$1]++ }
    END {
      printf "  %-34s %10s %10s %14s %6s\n", "tool", "wall (s)", "MB/s", "peak RSS (MB)", "failed"
      n = split("dvbackup-audit swift-download", T, " ")
      for (k = 1; k <= n; k++) { t = T[k]; m[t] = median(secs[t])
        printf "  %-34s %10.2f %10.0f %14.1f %6d\n", (t == "dvbackup-audit") ? "(d) dvbackup audit --all" : "(e) swift download | md5sum", m[t], (m[t] > 0 ? bytes / 1e6 / m[t] : 0), median(kb[t]) / 1024, fails[t] }
      if (m["dvbackup-audit"] > 0 && m["swift-download"] > 0)
        printf "  ratio dvbackup audit / swift download = %.2f (target <= 1): %s; peak RSS %.1f MB (target < 64): %s\n",
          m["dvbackup-audit"] / m["swift-download"], (m["dvbackup-audit"] <= m["swift-download"]) ? "MET" : "NOT MET",
          median(kb["dvbackup-audit"]) / 1024, (median(kb["dvbackup-audit"]) / 1024 < 64) ? "MET" : "NOT MET"
    }' "$work/audit-results"
  echo "  raw (tool run wall_s peak_rss_kb exit):"
  sed 's/^/    /' "$work/audit-results"
}
[ "${AUDIT:-0}" != 1 ] || audit_bench

echo
echo "dvbackup Swift target benchmark: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); cluster $SWIFT_AUTH_URL"
echo "one file of $BIG_MIB MiB (MD5 in the catalog); segments of $SEGMENT_MIB MiB; RUNS=$RUNS; MB = 10^6 bytes; medians of runs that exited 0"
awk -v bytes=$((BIG_MIB * 1048576)) -v seg="$SEGMENT_MIB" '
  function median(list,   n, a, i, j, t) {
    n = split(list, a, " "); if (n == 0) return -1
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
    return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  { runs[$1]++; if ($5 == 0) { secs[$1] = secs[$1] " " $3; kb[$1] = kb[$1] " " $4 } if ($6 != "ok" || $5 != 0) bad[$1] = bad[$1] " run" $2 ":" $5 "/" $6 }
  END {
    label["dvbackup-slo"] = "(a) dvbackup run, SLO of " seg " MiB segments"
    label["dvbackup-put"] = "(b) dvbackup run, one PUT (MD5 as ETag)"
    label["swift-upload"] = "(c) swift upload --use-slo -S " seg " MiB"
    printf "%-44s %8s %10s %10s %14s %6s\n", "tool", "runs", "wall (s)", "MB/s", "peak RSS (MB)", "copy"
    n = split("dvbackup-slo dvbackup-put swift-upload", T, " ")
    for (k = 1; k <= n; k++) {
      t = T[k]; m = median(secs[t]); med[t] = m
      if (m <= 0) { printf "%-44s %8d %10s\n", label[t], runs[t], "failed"; continue }
      printf "%-44s %8d %10.2f %10.0f %14.1f %6s\n", label[t], runs[t], m, bytes / 1e6 / m, median(kb[t]) / 1024, (t in bad) ? "BAD" : "ok"
    }
    print ""
    s = med["swift-upload"]
    if (s > 0 && med["dvbackup-slo"] > 0) printf "throughput ratio dvbackup (SLO) / swift upload: %.2f\n", s / med["dvbackup-slo"]
    if (s > 0 && med["dvbackup-put"] > 0) printf "throughput ratio dvbackup (one PUT) / swift upload: %.2f\n", s / med["dvbackup-put"]
    for (t in bad) printf "WARNING: %s:%s\n", t, bad[t]
  }' "$work/results"
echo
echo "raw (tool run wall_s peak_rss_kb exit copy_check):"
sed 's/^/  /' "$work/results"
! awk '$5 != 0 || $6 != "ok" { bad = 1 } END { exit !bad }' "$work/results"
