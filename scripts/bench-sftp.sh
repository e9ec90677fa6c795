#!/usr/bin/env bash
# On-demand measurement of dvbackup's SFTP target (not a test; nothing here runs in CI),
# against what an administrator would otherwise use, in one run on this machine, over a
# private loopback sshd (scripts/services/start-sshd.sh, account dvbsftp):
#   (a) dvbackup run   StorageType ssh, SshConnections 4, a fresh empty backup database each
#                      run (it proves every copy itself)
#   (b) rclone copy --transfers 4   sftp remote; rclone verifies each file by running
#                      `md5sum` on the server (md5sum_command) against the MD5 it computed
#                      while reading
#   (c) OpenSSH sftp -b (put -r) of the tree, then one `find DIR -type f -exec md5sum {} +`
#                      over ssh, timed together
# for two data sets laid out as a Dataverse file store <store>/<authority>/<identifier>/<name>
# with a matching Dataverse 6 catalog (MD5 checksums of the real bytes) in a throwaway
# PostgreSQL:
#   small  SMALL_FILES files of 4 KiB, 100 per dataset (10.5072/FK2/BENCH000, BENCH001, ...)
#   big    one file of BIG_MIB MiB (dataset 10.5072/FK2/BENCHBIG)
# Each tool runs RUNS times per set, interleaved, every run into a NEW empty remote directory
# (never a directory deleted right before: on ext4 without a journal, creating files right
# after deleting many costs up to ~0.7 ms each; copies of earlier bench runs are deleted at
# the start, followed by a SETTLE pause). The source is read into the page cache and `sync`
# runs before every timed command; every copy is checked afterwards (file count, and MD5 of
# every file against the source, read locally: same machine), untimed.
# Timing: /usr/bin/time (wall seconds, peak RSS of the timed process tree's largest process,
# client CPU seconds = user + sys of the timed process tree); server CPU seconds = what the
# sshd session processes (with internal-sftp and the remote checksum commands) used, read
# from a cgroup v1 cpuacct group holding the sshd listener (-1 where there is none); on 2
# shared cores, wall time is at best (client + server CPU) / 2.
# Prints the medians, the ratios dvbackup/rclone and dvbackup/(sftp+md5sum), and the targets:
# small set in at most 1/3 of rclone's time, big file in no more than rclone's time,
# dvbackup's peak RSS under 64 MB.
#
#   bash scripts/bench-sftp.sh                       (about 20-30 min at full size)
#   BIG_MIB=64 SMALL_FILES=500 RUNS=1 SETTLE=0 bash scripts/bench-sftp.sh   (a quick check)
#
# Knobs: TOOLS (default "dvbackup rclone sftp"), RUNS (default 3), BIG_MIB (default 2048), SMALL_FILES (default 10000), SETS
# (default "small big"), SETTLE (default 65: seconds to wait after deleting old copies),
# PG_PORT (5571), PG_DIR (/tmp/dvbackup-bench-sftp-pg), SSHD_PORT (2223), SSHD_DIR
# (/tmp/dvbackup-bench-sshd), DVBACKUP (binary to measure, default .build/release/dvbackup,
# built with `swift-build -c release` if missing), BENCH_KEEP=1 (keep the work directory and
# the remote copies), RTT_MS (default 0; above 0 every tool reaches sshd through scripts/delay-relay.py,
# RTT_MS/2 each way, on RELAY_PORT, default SSHD_PORT + 1000).
# RESTORE=1 (also measure `dvbackup restore --to` against `rclone copy`
# from the server, after the backups: see restore_bench below).
# AUDIT=1: also measure `dvbackup audit --all` against `rclone check` on a backup of each set
# (after the runs; TOOLS=none measures the audits alone). AUDIT_RCLONE_WARM=1: rclone check reads
# the copies from the page cache (see audit_bench).
# Needs root (the sshd test accounts), about 2 x BIG_MIB + SMALL_FILES x 8 KiB in /tmp
# plus (3 x RUNS + 1) x SMALL_FILES x 8 KiB in /home (big copies are deleted after each run).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

RUNS=${RUNS:-3}
BIG_MIB=${BIG_MIB:-2048}
SMALL_FILES=${SMALL_FILES:-10000}
SETS=${SETS:-small big}
TOOLS=${TOOLS:-dvbackup rclone sftp}
SETTLE=${SETTLE:-65}
PG_PORT=${PG_PORT:-5571}
PG_DIR=${PG_DIR:-/tmp/dvbackup-bench-sftp-pg}
PG_USER=dvbackup
PG_PASSWORD=dvbackup-pw
SSHD_PORT=${SSHD_PORT:-2223}
SSHD_DIR=${SSHD_DIR:-/tmp/dvbackup-bench-sshd}
DVBACKUP=${DVBACKUP:-$repo/.build/release/dvbackup}
# when the last bench deleted its copies (pitfall: recently deleted inodes, see above)
CLEAN_STAMP=/tmp/dvbackup-bench-sftp.cleaned

say() { echo "bench-sftp: $*" >&2; }
. scripts/bench-lib.sh

for v in RUNS BIG_MIB SMALL_FILES SETTLE; do
  case "${!v}" in ''|*[!0-9]*) say "$v must be a whole number"; exit 2 ;; esac
done
[ "$RUNS" -ge 1 ] && [ "$BIG_MIB" -ge 1 ] && [ "$SMALL_FILES" -ge 1 ] || { say "RUNS, BIG_MIB, SMALL_FILES must be >= 1"; exit 2; }
[ "$(id -u)" = 0 ] || { say "must run as root (start-sshd.sh creates the test accounts)"; exit 1; }

bash scripts/install-deps.sh
. scripts/toolchain.sh

# The comparison tools (Debian packages).
need=()
command -v rclone >/dev/null 2>&1 || need+=(rclone)
command -v sftp >/dev/null 2>&1 || need+=(openssh-client)
[ -x /usr/bin/time ] || need+=(time)
[ ${#need[@]} -eq 0 ] || bench_apt_install "${need[@]}"
bench_release_binary

# Refuse busy ports and running instances before starting anything (the trap stops ours).
for p in "$PG_PORT" "$SSHD_PORT"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then say "port $p is in use; set PG_PORT/SSHD_PORT"; exit 1; fi
done
if [ -f "$PG_DIR/data/postmaster.pid" ] && kill -0 "$(head -n1 "$PG_DIR/data/postmaster.pid")" 2>/dev/null; then
  say "a PostgreSQL already runs in $PG_DIR; set PG_DIR"; exit 1
fi
if [ -f "$SSHD_DIR/sshd.pid" ] && kill -0 "$(cat "$SSHD_DIR/sshd.pid")" 2>/dev/null; then
  say "an sshd already runs from $SSHD_DIR; set SSHD_DIR"; exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/dvbackup-bench-sftp.XXXXXX")
chmod 0755 "$work"
pg_started=0
ssh_started=0
rroot=""
cleanup() {
  local rc=$?
  if [ -n "$rroot" ] && [ -d "$rroot" ] && [ "${BENCH_KEEP:-0}" != 1 ]; then
    say "deleting the remote copies in $rroot"
    rm -rf "$rroot"; date +%s > "$CLEAN_STAMP"
  fi
  [ -z "${relay_pid:-}" ] || kill "$relay_pid" 2>/dev/null || true
  if [ $ssh_started = 1 ]; then
    SSHD_DIR=$SSHD_DIR SSHD_PORT=$SSHD_PORT bash scripts/services/stop-sshd.sh >&2 || true
    [ -z "${cg:-}" ] || rmdir "$cg" 2>/dev/null || true
  fi
  if [ $pg_started = 1 ]; then
    PG_DIR=$PG_DIR bash scripts/services/stop-postgres.sh >&2 || true
  fi
  if [ "${BENCH_KEEP:-0}" = 1 ]; then say "kept $work${rroot:+ and $rroot}"; else rm -rf "$work"; fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- servers ---------------------------------------------------------------------------------
dbs=""
for s in $SETS; do dbs="$dbs ${s}_dvndb"; done
pg_started=1
PG_PORT=$PG_PORT PG_DIR=$PG_DIR PG_USER=$PG_USER PG_PASSWORD=$PG_PASSWORD PG_DATABASES="${dbs# }" \
  bash scripts/services/start-postgres.sh >"$work/pg.env"
ssh_started=1
SSHD_PORT=$SSHD_PORT SSHD_DIR=$SSHD_DIR bash scripts/services/start-sshd.sh >"$work/sshd.env"
sshv() { sed -n "s/^$1=//p" "$work/sshd.env" | head -n1; }
ruser=$(sshv SSH_USER)
rbase=$(sshv SSH_BACKUP_DIR)
key=$(sshv SSH_KEY)
sshd_pid=$(sshv SSHD_PID)
known=$(sshv SSH_KNOWN_HOSTS)
rgroup=$(id -gn "$ruser")
# RTT_MS: the tools connect to a relay that delays every byte (this kernel has no netem);
# its known_hosts names the server's key at the relay's port.
TOOL_PORT=$SSHD_PORT
case "${RTT_MS:=0}" in ''|*[!0-9]*) say "RTT_MS must be a whole number"; exit 2 ;; esac
if [ "$RTT_MS" != 0 ]; then
  TOOL_PORT=${RELAY_PORT:-$((SSHD_PORT + 1000))}
  python3 scripts/delay-relay.py "$TOOL_PORT" 127.0.0.1 "$SSHD_PORT" "$(awk -v r="$RTT_MS" 'BEGIN { print r / 2 }')" &
  relay_pid=$!
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$TOOL_PORT") 2>/dev/null && break; sleep 0.1; done
  sed "s/]:$SSHD_PORT /]:$TOOL_PORT /" "$known" > "$work/known_hosts_relay"; known=$work/known_hosts_relay
  say "tools reach sshd through a delay relay on port $TOOL_PORT (round trip $RTT_MS ms)"
fi
SSH_OPTS=(-F /dev/null -o BatchMode=yes -o IdentitiesOnly=yes -o IdentityAgent=none -i "$key"
          -o UserKnownHostsFile="$known" -o GlobalKnownHostsFile=/dev/null
          -o StrictHostKeyChecking=yes -o Port="$TOOL_PORT")

# --- remote root: copies of an earlier bench go first (the wait comes after the data) --------
# One per sshd port: benches on other ports (run side by side) never delete each other's copies.
rroot=$rbase/dvbackup-bench-sftp$([ "$SSHD_PORT" = 2223 ] || echo "-$SSHD_PORT")
if [ -e "$rroot" ]; then
  say "deleting copies left by an earlier bench run in $rroot"
  rm -rf "$rroot"; sync; date +%s > "$CLEAN_STAMP"
fi

# --- data: file stores + catalogs ---------------------------------------------------------------
# make_set NAME FILES SIZE PER IDENT_FMT: store in $work/NAME-store, catalog rows into NAME_dvndb,
# manifest "<md5>  <relative path>" (sorted) in $work/NAME.md5
make_set() {
  local name=$1 n=$2 size=$3 per=$4 fmt=$5 t
  t=$(date +%s)
  say "[$name] writing $n file(s) of $size bytes and their catalog rows"
  psql_db "${name}_dvndb" -f sql/catalog/dataverse-6.sql
  mkdir -p "$work/$name-store"
  python3 scripts/bench-catalog.py "$work/$name-store" "$work/$name.sql" "$n" "$size" "$per" "$fmt" "$work/$name.md5"
  psql_db "${name}_dvndb" -f "$work/$name.sql"
  say "[$name] store and catalog ready in $(( $(date +%s) - t ))s"
}

declare -A set_files set_bytes
for s in $SETS; do
  case $s in
    small) make_set small "$SMALL_FILES" 4096 100 'BENCH%03d'
           set_files[small]=$SMALL_FILES; set_bytes[small]=$(( SMALL_FILES * 4096 )) ;;
    big)   make_set big 1 $(( BIG_MIB * 1048576 )) 1 'BENCHBIG'
           set_files[big]=1; set_bytes[big]=$(( BIG_MIB * 1048576 )) ;;
    *) say "unknown set '$s' (use small, big)"; exit 2 ;;
  esac
done

if [ -f "$CLEAN_STAMP" ]; then
  wait_s=$(( $(cat "$CLEAN_STAMP") + SETTLE - $(date +%s) ))
  if [ "$wait_s" -gt 0 ]; then
    say "waiting ${wait_s}s: files were deleted in the backup file system less than ${SETTLE}s ago"
    sleep "$wait_s"
  fi
fi
install -d -o "$ruser" -g "$rgroup" -m 0755 "$rroot"

cat > "$work/rclone.conf" <<EOF
[bench]
type = sftp
host = 127.0.0.1
port = $TOOL_PORT
user = $ruser
key_file = $key
known_hosts_file = $known
# rclone detects these on first use and writes them back into its config: set them up
# front so that every timed run does the same work (verification by remote md5sum)
shell_type = unix
md5sum_command = md5sum
sha1sum_command = sha1sum
EOF

# write_config FILE SET BACKUP_DB REMOTE_DIR
write_config() {
  cat > "$1" <<EOF
[Database]
Host: 127.0.0.1
Port: $PG_PORT
Database: ${2}_dvndb
Username: $PG_USER
Password: $PG_PASSWORD
BackupDatabase: $3

[Repository]
FileSystemDirectory: $work/$2-store

[Backup]
StorageType: ssh
SshHost: 127.0.0.1
SshPort: $TOOL_PORT
SshUsername: $ruser
BackupDirectory: $4
SshPrivateKey: $key
SshKnownHosts: $known
SshConnections: 4
IncrementalOverlap: 24h

[Stores]
dataverse.files.file.type = file
dataverse.files.file.directory = $work/$2-store

[Notifications]
Email: admin@example.edu
EOF
}

warm() { find "$work/$1-store" -type f -exec cat {} + > /dev/null; }

# server_ticks: CPU time (in 1/100 s) of the sshd listener's cgroup (cgroup v1 cpuacct: every
# session process, internal-sftp, the remote checksum commands). Without such a cgroup the
# server's CPU is not measured (the listener's reaped-children times miss the session
# processes whose parent never waits for them, so they would understate it).
cg=/sys/fs/cgroup/cpuacct/dvbackup-bench-sshd-$SSHD_PORT
if mkdir -p "$cg" 2>/dev/null && echo "$sshd_pid" > "$cg/cgroup.procs" 2>/dev/null; then
  server_ticks() { echo $(( $(cat "$cg/cpuacct.usage") / 10000000 )); }
else
  say "no cgroup v1 cpuacct here: the server's CPU seconds are not measured (shown as -1)"
  cg=""
  server_ticks() { echo 0; }
fi

# timed OUT CMD...: GNU time -> OUT.time ("secs KB client_cpu server_cpu"), exit code -> OUT.rc,
# stderr -> OUT.log
timed() {
  local out=$1; shift
  local rc=0 before after
  before=$(server_ticks)
  /usr/bin/time -f '%e %M %U %S' -o "$out.time" "$@" >"$out.out" 2>"$out.log" || rc=$?
  # the session processes exit just after the client: wait (up to 10 s) until all are gone
  for _ in $(seq 100); do pgrep -P "$sshd_pid" >/dev/null || break; sleep 0.1; done
  after=$(server_ticks)
  awk -v b="$before" -v a="$after" -v measured="${cg:+1}" 'END { printf "%s %s %.2f %.2f\n", $1, $2, $3 + $4, measured ? (a - b) / 100 : -1 }' "$out.time" > "$out.time.2"
  mv "$out.time.2" "$out.time"
  echo "$rc" > "$out.rc"
  return 0
}
wall_rss() { awk '{ print $1, $2 }' "$1.time"; }
cpu() { awk '{ print $3, $4 }' "$1.time"; }

# check_copy SET DIR: "ok" when DIR holds exactly the set's files with the right MD5s
check_copy() {
  local set=$1 dir=$2 nfiles
  nfiles=$(find "$dir" -type f 2>/dev/null | wc -l)
  if [ "$nfiles" != "${set_files[$set]}" ]; then echo "BAD: $nfiles files, expected ${set_files[$set]}"; return; fi
  if (cd "$dir" && md5sum --quiet -c "$work/$set.md5") >/dev/null 2>&1; then echo ok; else echo "BAD: checksum mismatch"; fi
}

# --- the runs -----------------------------------------------------------------------------------
: > "$work/results"       # lines: set tool run secs kb rc check
dvb_unavailable=""
for s in $SETS; do
  install -d -o "$ruser" -g "$rgroup" -m 0755 "$rroot/$s"
  # Does this binary take StorageType ssh at all? (check-config: exit 2 = configuration refused)
  write_config "$work/check-$s.ini" "$s" "${s}_probe" "$rroot/$s"
  dvb_ok=1
  wants() { case " $TOOLS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
  wants dvbackup || dvb_ok=0
  if [ $dvb_ok = 1 ] && ! "$DVBACKUP" check-config --config "$work/check-$s.ini" >/dev/null 2>"$work/check-$s.log"; then
    dvb_ok=0
    dvb_unavailable=$(grep -m1 -iE 'error' "$work/check-$s.log" | sed 's/^.*\[ERROR\] //' || true)
    say "[$s] (a) dvbackup refuses the SFTP configuration (exit 2): ${dvb_unavailable:-see $work/check-$s.log}"
    say "[$s] (a) skipped; (b) and (c) still run"
  fi
  for i in $(seq "$RUNS"); do
    # (a) dvbackup
    if [ $dvb_ok = 1 ]; then
      d=$rroot/$s/dvbackup-$i
      install -d -o "$ruser" -g "$rgroup" -m 0755 "$d"       # dvbackup does not create BackupDirectory
      db=bk_${s}_$i
      psql_db postgres -c "CREATE DATABASE \"$db\""
      write_config "$work/$s-$i.ini" "$s" "$db" "$d"
      "$DVBACKUP" init-db --config "$work/$s-$i.ini" >/dev/null 2>"$work/$s-$i-init.log" \
        || { say "[$s] init-db failed:"; tail -n 3 "$work/$s-$i-init.log" >&2; }
      warm "$s"; sync
      say "[$s] run $i/$RUNS (a) dvbackup run"
      timed "$work/$s-dvbackup-$i" "$DVBACKUP" run --config "$work/$s-$i.ini"
      rc=$(cat "$work/$s-dvbackup-$i.rc")
      if [ "$rc" = 2 ]; then
        dvb_ok=0
        dvb_unavailable=$(grep -m1 -iE 'error' "$work/$s-dvbackup-$i.log" | sed 's/^.*\[ERROR\] //' || true)
        say "[$s] (a) dvbackup exited 2 (configuration refused): $dvb_unavailable"
      elif [ "$rc" != 0 ]; then
        say "[$s] (a) dvbackup exited $rc:"; tail -n 5 "$work/$s-dvbackup-$i.log" >&2
      fi
      echo "$s dvbackup $i $(wall_rss "$work/$s-dvbackup-$i") $rc $(check_copy "$s" "$d" | tr ' ' '_') $(cpu "$work/$s-dvbackup-$i")" >> "$work/results"
      if [ "$s" = big ]; then rm -rf "$d"; sync; fi
    fi
    # (b) rclone copy, verified by remote md5sum
    if wants rclone; then
    d=$rroot/$s/rclone-$i
    warm "$s"; sync
    say "[$s] run $i/$RUNS (b) rclone copy --transfers 4"
    timed "$work/$s-rclone-$i" rclone --config "$work/rclone.conf" copy --transfers 4 "$work/$s-store" "bench:$d"
    rc=$(cat "$work/$s-rclone-$i.rc")
    [ "$rc" = 0 ] || { say "[$s] (b) rclone exited $rc:"; tail -n 5 "$work/$s-rclone-$i.log" >&2; }
    echo "$s rclone $i $(wall_rss "$work/$s-rclone-$i") $rc $(check_copy "$s" "$d" | tr ' ' '_') $(cpu "$work/$s-rclone-$i")" >> "$work/results"
    if [ "$s" = big ]; then rm -rf "$d"; sync; fi
    fi
    # (c) sftp put -r + one remote md5sum pass, timed together
    if wants sftp; then
    d=$rroot/$s/sftp-$i
    warm "$s"; sync
    say "[$s] run $i/$RUNS (c) sftp put -r + ssh find -exec md5sum"
    printf 'put -r %s %s\n' "$work/$s-store" "$d" > "$work/$s-sftp-$i.batch"
    timed "$work/$s-sftp-$i" bash -c '
      set -e
      sftp -q -b "$1" "${@:4}" "$2" >/dev/null
      ssh "${@:4}" "$2" "find '\''$3'\'' -type f -exec md5sum {} +" > "$1.sums"
    ' sftp-md5 "$work/$s-sftp-$i.batch" "$ruser@127.0.0.1" "$d" "${SSH_OPTS[@]}"
    rc=$(cat "$work/$s-sftp-$i.rc")
    [ "$rc" = 0 ] || { say "[$s] (c) sftp/ssh exited $rc:"; tail -n 5 "$work/$s-sftp-$i.log" >&2; }
    # the administrator's comparison of the remote sums with the source (untimed)
    chk=$(check_copy "$s" "$d")
    if [ "$chk" = ok ] && ! diff -q <(sed "s#  $d/#  #" "$work/$s-sftp-$i.batch.sums" | LC_ALL=C sort) \
                                    <(LC_ALL=C sort "$work/$s.md5") >/dev/null; then
      chk="BAD: remote md5sum output differs from the source"
    fi
    echo "$s sftp $i $(wall_rss "$work/$s-sftp-$i") $rc $(echo "$chk" | tr ' ' '_') $(cpu "$work/$s-sftp-$i")" >> "$work/results"
    if [ "$s" = big ]; then rm -rf "$d"; sync; fi
    fi
  done
done

# --- restore (RESTORE=1) ---------------------------------------------------------------------
# restore_bench: per set, one untimed dvbackup backup into $rroot/SET/restore-src (a backup
# database of its own), then RUNS times, interleaved, each into a NEW empty local directory:
#   (r-a) dvbackup restore --to DIR of every file of the set (streamed, hashed, proven against
#         the catalog checksum, written under a temporary name and renamed; SshConnections 4
#         readers), the manifest left out of the copy check
#   (r-b) rclone copy --transfers 4 from the sftp remote to DIR (rclone checks each file's MD5
#         against a remote md5sum)
# Lines "SET-restore TOOL RUN ..." go into the same results file (so the exit status counts
# them) and a table of their own is printed with the ratios and the issue's targets: small
# set in at most 0.5 x rclone's time, big file no slower than rclone, peak RSS < 64 MB.
# RESTORE_TOOLS (default "dvbackup rclone") chooses among them; TOOLS=none RESTORE=1 measures
# the restores alone (the backup to restore from is always made).
restore_bench() {
  local s i d src db ids rc chk
  rwants() { case " ${RESTORE_TOOLS:-dvbackup rclone} " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
  : > "$work/restore-results"
  for s in $SETS; do
    src=$rroot/$s/restore-src
    db=rs_$s
    install -d -o "$ruser" -g "$rgroup" -m 0755 "$src"
    psql_db postgres -c "CREATE DATABASE \"$db\""
    write_config "$work/$s-restore.ini" "$s" "$db" "$src"
    "$DVBACKUP" init-db --config "$work/$s-restore.ini" >/dev/null 2>"$work/$s-restore-init.log"
    say "[$s] restore: the backup to restore from (untimed)"
    "$DVBACKUP" run --config "$work/$s-restore.ini" >/dev/null 2>"$work/$s-restore-backup.log" \
      || { say "[$s] restore: the backup failed:"; tail -n 5 "$work/$s-restore-backup.log" >&2; continue; }
    # every file of the set, by id (restore takes --datafile, --dataset or --damaged-primaries)
    ids=$(PGPASSWORD=$PG_PASSWORD psql -X -At -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" -d "${s}_dvndb" \
          -c "SELECT '--datafile=' || id FROM datafile ORDER BY id")
    for i in $(seq "$RUNS"); do
      if rwants dvbackup; then
        d=$work/restored-$s-dvbackup-$i
        mkdir -p "$d"; sync
        say "[$s] restore run $i/$RUNS (r-a) dvbackup restore --to"
        # shellcheck disable=SC2086  # one argument per id
        timed "$work/$s-restore-dvbackup-$i" "$DVBACKUP" restore --config "$work/$s-restore.ini" --to "$d" $ids
        rc=$(cat "$work/$s-restore-dvbackup-$i.rc")
        [ "$rc" = 0 ] || { say "[$s] (r-a) dvbackup restore exited $rc:"; tail -n 5 "$work/$s-restore-dvbackup-$i.log" >&2; }
        rm -f "$d/dvbackup-restore-manifest.csv"
        chk=$(check_copy "$s" "$d")
        echo "$s-restore dvbackup $i $(wall_rss "$work/$s-restore-dvbackup-$i") $rc $(echo "$chk" | tr ' ' '_') $(cpu "$work/$s-restore-dvbackup-$i")" >> "$work/results"
        rm -rf "$d"; sync
      fi
      if rwants rclone; then
        d=$work/restored-$s-rclone-$i
        mkdir -p "$d"; sync
        say "[$s] restore run $i/$RUNS (r-b) rclone copy --transfers 4 from the server"
        timed "$work/$s-restore-rclone-$i" rclone --config "$work/rclone.conf" copy --transfers 4 "bench:$src" "$d"
        rc=$(cat "$work/$s-restore-rclone-$i.rc")
        [ "$rc" = 0 ] || { say "[$s] (r-b) rclone exited $rc:"; tail -n 5 "$work/$s-restore-rclone-$i.log" >&2; }
        chk=$(check_copy "$s" "$d")
        echo "$s-restore rclone $i $(wall_rss "$work/$s-restore-rclone-$i") $rc $(echo "$chk" | tr ' ' '_') $(cpu "$work/$s-restore-rclone-$i")" >> "$work/results"
        rm -rf "$d"; sync
      fi
    done
    [ "$s" != big ] || rm -rf "$src"
  done
  echo
  echo "dvbackup restore over SFTP: CPU $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1) x $(nproc), load $(cut -d' ' -f1-3 /proc/loadavg); RUNS=$RUNS; medians over the runs with exit 0"
  awk -v sets="$SETS" '
    function median(list,   n, a, i, j, t) {
      n = split(list, a, " "); if (n == 0) return -1
      for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
      return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    $1 ~ /-restore$/ { key = $1 SUBSEP $2; runs[key]++
      if ($6 == 0) { secs[key] = secs[key] " " $4; kb[key] = kb[key] " " $5; cc[key] = cc[key] " " $8; sc[key] = sc[key] " " $9 }
      if ($7 != "ok") bad[key] = 1 }
    END {
      printf "%-14s %-34s %5s %10s %14s %8s %16s\n", "set", "tool", "runs", "wall (s)", "peak RSS (MB)", "copies", "CPU s cli+srv"
      ns = split(sets, S, " ")
      for (k = 1; k <= ns; k++) for (t = 1; t <= 2; t++) {
        tool = (t == 1) ? "dvbackup" : "rclone"; key = S[k] "-restore" SUBSEP tool
        if (!(key in runs)) continue
        med[key] = median(secs[key]); rss[key] = median(kb[key])
        printf "%-14s %-34s %5d %10.2f %14.1f %8s %16s\n", S[k] "-restore", (t == 1) ? "(r-a) dvbackup restore --to" : "(r-b) rclone copy --transfers 4",
          runs[key], med[key], rss[key] / 1024, (key in bad) ? "BAD" : "ok", sprintf("%.1f+%.1f", median(cc[key]), median(sc[key]))
      }
      print "targets:"
      for (k = 1; k <= ns; k++) {
        d = S[k] "-restore" SUBSEP "dvbackup"; r = S[k] "-restore" SUBSEP "rclone"; limit = (S[k] == "small") ? 0.5 : 1
        if ((d in med) && med[d] > 0 && (r in med) && med[r] > 0)
          printf "  %s restore in <= %.1f x rclone copy: dvbackup/rclone = %.2f (%.2f s vs %.2f s): %s\n", S[k], limit,
            med[d] / med[r], med[d], med[r], (med[d] <= limit * med[r]) ? "MET" : "NOT MET"
        if (d in rss) printf "  %s restore peak RSS < 64 MB: %.1f MB: %s\n", S[k], rss[d] / 1024, (rss[d] / 1024 < 64) ? "MET" : "NOT MET"
      }
    }' "$work/results"
}
if [ "${RESTORE:-0}" = 1 ]; then restore_bench; fi

# --- audit (AUDIT=1): dvbackup audit --all vs rclone check, on a backup made for it ---------------
# audit_bench SET: one untimed dvbackup run into $rroot/SET/audit (its own backup database),
# then RUNS times, interleaved: (d) `dvbackup audit --all` (the server hashes the copies,
# SshConnections 4, batches of 400 per command) and (e) `rclone check SRC bench:DST` (rclone
# reads the source and runs md5sum on the server, default --checkers 8); the page cache of
# the source is warm for both, and dvbackup drops the copies' cached pages on the server
# first (it proves the disk). So that both tools read the copies from the disk, as a nightly
# audit of copies written days ago does, the copies' cached pages are dropped before rclone
# check too (untimed; AUDIT_RCLONE_WARM=1 leaves them cached for rclone, the comparison of
# earlier sessions, in which rclone reads what the backup run left in the page cache).
# Lines "set tool run wall_s peak_rss_kb exit" into $work/audit-results.
# drop_cached DIR: lets go of the cached pages of every file under DIR (posix_fadvise DONTNEED,
# as dvbackup's audit does on the server before it hashes).
drop_cached() {
  find "$1" -type f -print0 | xargs -0 -r python3 -c 'import os, sys
for p in sys.argv[1:]:
    fd = os.open(p, os.O_RDONLY)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    os.close(fd)'
}
audit_bench() {
  local s=$1 d=$rroot/$1/audit db=audit_$1 i rc
  install -d -o "$ruser" -g "$rgroup" -m 0755 "$d"
  psql_db postgres -c "CREATE DATABASE \"$db\""
  write_config "$work/$s-audit.ini" "$s" "$db" "$d"
  say "[$s] audit: making the backup to audit (untimed)"
  "$DVBACKUP" run --config "$work/$s-audit.ini" >"$work/$s-audit-run.log" 2>&1 \
    || { say "[$s] audit: the backup failed:"; tail -n 5 "$work/$s-audit-run.log" >&2; return 0; }
  for i in $(seq "$RUNS"); do
    warm "$s"; sync
    say "[$s] audit $i/$RUNS (d) dvbackup audit --all"
    timed "$work/$s-audit-dvb-$i" "$DVBACKUP" audit --all --config "$work/$s-audit.ini"
    rc=$(cat "$work/$s-audit-dvb-$i.rc")
    [ "$rc" = 0 ] || { say "[$s] (d) dvbackup audit exited $rc:"; tail -n 5 "$work/$s-audit-dvb-$i.log" >&2; }
    echo "$s dvbackup-audit $i $(wall_rss "$work/$s-audit-dvb-$i") $rc" >> "$work/audit-results"
    warm "$s"; sync
    [ "${AUDIT_RCLONE_WARM:-0}" = 1 ] || drop_cached "$d"
    say "[$s] audit $i/$RUNS (e) rclone check"
    timed "$work/$s-audit-rclone-$i" rclone --config "$work/rclone.conf" check "$work/$s-store" "bench:$d"
    rc=$(cat "$work/$s-audit-rclone-$i.rc")
    [ "$rc" = 0 ] || { say "[$s] (e) rclone check exited $rc:"; tail -n 5 "$work/$s-audit-rclone-$i.log" >&2; }
    echo "$s rclone-check $i $(wall_rss "$work/$s-audit-rclone-$i") $rc" >> "$work/audit-results"
  done
  [ "$s" != big ] || rm -rf "$d"
}
if [ "${AUDIT:-0}" = 1 ]; then
  : > "$work/audit-results"
  for s in $SETS; do audit_bench "$s"; done
  echo
  echo "audit benchmark: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); RUNS=$RUNS, medians of the runs with exit 0"
  if [ "${AUDIT_RCLONE_WARM:-0}" = 1 ]; then echo "  dvbackup reads the copies from the disk, rclone check from the page cache (AUDIT_RCLONE_WARM=1)"
  else echo "  both tools read the copies from the disk (their cached pages dropped first)"; fi
  awk '
    function median(list,   n, a, i, j, t) {
      n = split(list, a, " "); if (n == 0) return -1
      for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
      return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    { key = $1 " " $2; if (!(key in seen)) { seen[key] = 1; order[++n] = key }
      if ($6 == 0) { secs[key] = secs[key] " " $4; kb[key] = kb[key] " " $5 } else fails[key]++ }
    END {
      printf "  %-6s %-16s %10s %14s %6s\n", "set", "tool", "wall (s)", "peak RSS (MB)", "failed"
      for (k = 1; k <= n; k++) { split(order[k], p, " "); m[order[k]] = median(secs[order[k]])
        printf "  %-6s %-16s %10.2f %14.1f %6d\n", p[1], p[2], m[order[k]], median(kb[order[k]]) / 1024, fails[order[k]] }
      for (s in seen) { split(s, p, " "); if (p[2] != "dvbackup-audit") continue
        r = p[1] " rclone-check"; if (!(r in m) || m[r] <= 0 || m[s] < 0) continue
        limit = (p[1] == "small") ? 0.3 : 1.0
        printf "  %-6s ratio dvbackup audit / rclone check = %.2f (target <= %.1f): %s; peak RSS %.1f MB (target < 64): %s\n",
          p[1], m[s] / m[r], limit, (m[s] / m[r] <= limit) ? "MET" : "NOT MET", median(kb[s]) / 1024, (median(kb[s]) / 1024 < 64) ? "MET" : "NOT MET" }
    }' "$work/audit-results"
  echo "  raw (set tool run wall_s peak_rss_kb exit):"
  sed 's/^/    /' "$work/audit-results"
fi

# --- report -------------------------------------------------------------------------------------
echo
echo "dvbackup SFTP target benchmark: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "binary: $DVBACKUP"
echo "server: OpenSSH $(ssh -V 2>&1 | sed 's/,.*//; s/OpenSSH_//') on 127.0.0.1:$SSHD_PORT (internal-sftp)$([ "$RTT_MS" = 0 ] || echo ", reached through a relay adding a $RTT_MS ms round trip"); rclone $(rclone version 2>/dev/null | head -n1 | awk '{ print $2 }'); RUNS=$RUNS"
echo "sets: small = $SMALL_FILES x 4 KiB in $(( (SMALL_FILES + 99) / 100 )) datasets; big = 1 x $BIG_MIB MiB. MB = 10^6 bytes; medians over the runs with exit 0"
[ -n "$dvb_unavailable" ] && echo "(a) dvbackup: NOT MEASURED, the binary refuses StorageType ssh (exit 2): $dvb_unavailable"
echo
awk -v files_small="${set_files[small]:-0}" -v bytes_small="${set_bytes[small]:-0}" \
    -v files_big="${set_files[big]:-0}" -v bytes_big="${set_bytes[big]:-0}" -v sets="$SETS" '
  function median(list,   n, a, i, j, t) {
    n = split(list, a, " "); if (n == 0) return -1
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
    return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  { key = $1 SUBSEP $2; runs[key]++
    if ($6 == 0) { secs[key] = secs[key] " " $4; kb[key] = kb[key] " " $5; ccpu[key] = ccpu[key] " " $8; scpu[key] = scpu[key] " " $9; okruns[key]++ }
    if ($7 != "ok") bad[key] = bad[key] " run" $3 ":" $6 "/" $7
    if ($6 != 0) fails[key]++ }
  END {
    label["dvbackup"] = "(a) dvbackup run (SshConnections 4)"
    label["rclone"] = "(b) rclone copy --transfers 4"
    label["sftp"] = "(c) sftp put -r + remote md5sum"
    printf "%-6s %-38s %5s %10s %12s %14s %10s %16s\n", "set", "tool", "runs", "wall (s)", "throughput", "peak RSS (MB)", "copies", "CPU s cli+srv"
    ns = split(sets, S, " ")
    for (k = 1; k <= ns; k++) {
      s = S[k]; nf = (s == "small") ? files_small : files_big; nb = (s == "small") ? bytes_small : bytes_big
      for (t = 1; t <= 3; t++) {
        tool = (t == 1) ? "dvbackup" : (t == 2) ? "rclone" : "sftp"; key = s SUBSEP tool
        if (!(key in runs)) { printf "%-6s %-38s %5s %10s %12s %14s %10s\n", s, label[tool], "-", "n/a", "-", "-", "-"; continue }
        m = median(secs[key]); r = median(kb[key])
        med[key] = m; rss[key] = r
        if (m < 0) { printf "%-6s %-38s %5d %10s %12s %14s %10s\n", s, label[tool], runs[key], "failed", "-", "-", "exit!=0"; continue }
        tp = (s == "small") ? sprintf("%.0f files/s", nf / m) : sprintf("%.0f MB/s", nb / 1e6 / m)
        printf "%-6s %-38s %5d %10.2f %12s %14.1f %10s %16s\n", s, label[tool], okruns[key], m, tp, r / 1024, (key in bad) ? "BAD" : "ok", sprintf("%.1f+%.1f", median(ccpu[key]), median(scpu[key]))
      }
    }
    print ""
    for (k = 1; k <= ns; k++) {
      s = S[k]; d = s SUBSEP "dvbackup"; rc = s SUBSEP "rclone"; sf = s SUBSEP "sftp"
      if (!(d in med) || med[d] < 0) {
        printf "%-6s ratios: n/a (no dvbackup measurement)", s
        if ((rc in med) && (sf in med) && med[rc] > 0 && med[sf] > 0) printf "; rclone/(sftp+md5sum) = %.2f", med[rc] / med[sf]
        printf "\n"; continue
      }
      printf "%-6s ratios: dvbackup/rclone = %s, dvbackup/(sftp+md5sum) = %s\n", s,
        (rc in med && med[rc] > 0) ? sprintf("%.2f", med[d] / med[rc]) : "n/a",
        (sf in med && med[sf] > 0) ? sprintf("%.2f", med[d] / med[sf]) : "n/a"
    }
    print ""
    print "targets:"
    d = "small" SUBSEP "dvbackup"; rc = "small" SUBSEP "rclone"
    if ((d in med) && med[d] >= 0 && (rc in med) && med[rc] > 0)
      printf "  small set in <= 1/3 of rclone'\''s time: %.2f s vs %.2f s (limit %.2f s): %s\n", med[d], med[rc], med[rc] / 3, (med[d] <= med[rc] / 3) ? "MET" : "NOT MET"
    else print "  small set in <= 1/3 of rclone'\''s time: n/a"
    d = "big" SUBSEP "dvbackup"; rc = "big" SUBSEP "rclone"
    if ((d in med) && med[d] >= 0 && (rc in med) && med[rc] > 0)
      printf "  big file in <= rclone'\''s time: %.2f s vs %.2f s: %s\n", med[d], med[rc], (med[d] <= med[rc]) ? "MET" : "NOT MET"
    else print "  big file in <= rclone'\''s time: n/a"
    worst = -1
    for (k = 1; k <= ns; k++) { d = S[k] SUBSEP "dvbackup"; if ((d in rss) && rss[d] > worst) worst = rss[d] }
    if (worst >= 0) printf "  dvbackup peak RSS < 64 MB: %.1f MB (median of the worse set): %s\n", worst / 1024, (worst / 1024 < 64) ? "MET" : "NOT MET"
    else print "  dvbackup peak RSS < 64 MB: n/a"
    for (key in bad) { split(key, kk, SUBSEP); printf "\nWARNING: %s %s:%s\n", kk[1], kk[2], bad[key] }
  }' "$work/results"
echo
echo "raw (set tool run wall_s peak_rss_kb exit copy_check client_cpu_s server_cpu_s):"
sed 's/^/  /' "$work/results"
# exit 0 when every run that was made exited 0 and left a correct copy (dvbackup refusing ssh
# is reported above, not an error of the benchmark)
! awk '$6 != 0 || $7 != "ok" { bad = 1 } END { exit !bad }' "$work/results"
