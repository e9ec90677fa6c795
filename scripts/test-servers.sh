#!/usr/bin/env bash
# Start, describe and stop ALL of dvbackup's test servers at once: the one source of truth for
# which servers the tests get, on which ports, and under which DVBACKUP_TEST_* names.
# scripts/test.sh sources this file and uses the same functions.
#
#   bash scripts/test-servers.sh up [SERVER...]   start them (in parallel), print the
#                                                 `export DVBACKUP_TEST_...=...` lines
#   bash scripts/test-servers.sh env              print those lines again
#   bash scripts/test-servers.sh down             stop what `up` started, remove the state
#
# A developer's loop:
#   eval "$(bash scripts/test-servers.sh up)"
#   swift-test --filter SwiftTargetTests          # as often as needed, servers keep running
#   bash scripts/test-servers.sh down
#
# SERVER: postgres sshd swift keystone s3 smtp (default: $DVBACKUP_TEST_SERVERS, or all of
# them). sshd needs root (accounts): as another user it is left out. keystone needs swift.
# Start times measured on 2 busy cores: postgres ~1-2 s, sshd ~1 s, swift ~5-8 s,
# keystone ~20-40 s (it waits for swift, then adds its proxy), s3 ~1 s (+~30 s the first
# time, to build the moto venv from PyPI), smtp ~0.5 s; all together about as long as
# keystone alone.
#
# Knobs (env; each start script's header says more). Every server refuses to start when its
# state directory holds a running instance or one of its ports is in use:
#   DVBACKUP_TEST_PGPORT (5544)  DVBACKUP_TEST_PGDIR (/tmp/dvbackup-pg)
#   DVBACKUP_TEST_SSHPORT (2222)  DVBACKUP_TEST_SSHDIR (/tmp/dvbackup-sshd)
#   DVBACKUP_TEST_SWIFT_PORT (8080)  DVBACKUP_TEST_SWIFT_SHORT_PORT (8082)
#   DVBACKUP_TEST_SWIFT_BASE_PORT (6200: object, +1 container, +2 account)
#   DVBACKUP_TEST_MEMCACHED_PORT (11211)  DVBACKUP_TEST_SWIFT_DIR (/tmp/dvbackup-swift)
#   DVBACKUP_TEST_KEYSTONE_PORT (5001)  DVBACKUP_TEST_KEYSTONE_SWIFT_PORT (8081)
#   DVBACKUP_TEST_KEYSTONE_DIR (/tmp/dvbackup-keystone)
#   DVBACKUP_TEST_S3_PORT (5000)  DVBACKUP_TEST_S3_DIR (/tmp/dvbackup-s3)
#   DVBACKUP_TEST_MOTO_VENV (/tmp/dvbackup-moto-venv: kept between runs, rebuilt only when
#                            scripts/services/moto-requirements.txt changes)
#   DVBACKUP_TEST_SMTP_PLAIN_PORT (2525)  DVBACKUP_TEST_SMTP_STARTTLS_PORT (2587)
#   DVBACKUP_TEST_SMTP_SMTPS_PORT (2465)  DVBACKUP_TEST_SMTP_AUTH_PORT (2526)
#   DVBACKUP_TEST_SMTP_REFUSE_PORT (2528)  DVBACKUP_TEST_SMTP_DOWN_PORT (2529, must be free)
#   DVBACKUP_TEST_SMTP_DIR (/tmp/dvbackup-smtp)
#   DVBACKUP_TEST_STATE_DIR (/tmp/dvbackup-test-servers): what `up` started, its knobs, the
#                            start scripts' output and the export lines
#
# The exported variables are listed (with their values) in scripts/test.sh's header.
# Logs of the start scripts: $DVBACKUP_TEST_STATE_DIR/<server>.err; the servers' own logs are
# in their state directories.

TS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TS_SVC=$TS_ROOT/scripts/services
TS_ALL="postgres sshd swift keystone s3 smtp"
declare -A TS_BG=()       # server -> pid of its start script running in the background

ts_log() { echo "test-servers: $*" >&2; }

# ts_config [SERVER...]: resolve the knobs and the list of servers (TS_SERVERS)
ts_config() {
  TS_PGPORT=${DVBACKUP_TEST_PGPORT:-5544}
  TS_PGDIR=${DVBACKUP_TEST_PGDIR:-/tmp/dvbackup-pg}
  TS_SSHPORT=${DVBACKUP_TEST_SSHPORT:-2222}
  TS_SSHDIR=${DVBACKUP_TEST_SSHDIR:-/tmp/dvbackup-sshd}
  TS_SWIFT_PORT=${DVBACKUP_TEST_SWIFT_PORT:-8080}
  TS_SWIFT_SHORT_PORT=${DVBACKUP_TEST_SWIFT_SHORT_PORT:-8082}
  TS_SWIFT_BASE_PORT=${DVBACKUP_TEST_SWIFT_BASE_PORT:-6200}
  TS_MEMCACHED_PORT=${DVBACKUP_TEST_MEMCACHED_PORT:-11211}
  TS_SWIFT_DIR=${DVBACKUP_TEST_SWIFT_DIR:-/tmp/dvbackup-swift}
  TS_KEYSTONE_PORT=${DVBACKUP_TEST_KEYSTONE_PORT:-5001}
  TS_KEYSTONE_SWIFT_PORT=${DVBACKUP_TEST_KEYSTONE_SWIFT_PORT:-8081}
  TS_KEYSTONE_DIR=${DVBACKUP_TEST_KEYSTONE_DIR:-/tmp/dvbackup-keystone}
  TS_S3_PORT=${DVBACKUP_TEST_S3_PORT:-5000}
  TS_S3_DIR=${DVBACKUP_TEST_S3_DIR:-/tmp/dvbackup-s3}
  TS_MOTO_VENV=${DVBACKUP_TEST_MOTO_VENV:-/tmp/dvbackup-moto-venv}
  TS_SMTP_PLAIN_PORT=${DVBACKUP_TEST_SMTP_PLAIN_PORT:-2525}
  TS_SMTP_STARTTLS_PORT=${DVBACKUP_TEST_SMTP_STARTTLS_PORT:-2587}
  TS_SMTP_SMTPS_PORT=${DVBACKUP_TEST_SMTP_SMTPS_PORT:-2465}
  TS_SMTP_AUTH_PORT=${DVBACKUP_TEST_SMTP_AUTH_PORT:-2526}
  TS_SMTP_REFUSE_PORT=${DVBACKUP_TEST_SMTP_REFUSE_PORT:-2528}
  TS_SMTP_DOWN_PORT=${DVBACKUP_TEST_SMTP_DOWN_PORT:-2529}
  TS_SMTP_DIR=${DVBACKUP_TEST_SMTP_DIR:-/tmp/dvbackup-smtp}
  TS_STATE=${TS_STATE:-${DVBACKUP_TEST_STATE_DIR:-/tmp/dvbackup-test-servers}}
  local want=${*:-${DVBACKUP_TEST_SERVERS:-$TS_ALL}} s
  TS_SERVERS=""
  for s in $want; do
    case " $TS_ALL " in *" $s "*) ;; *) ts_log "unknown server '$s' (known: $TS_ALL)"; return 1 ;; esac
    if [ "$s" = sshd ] && [ "$(id -u)" != 0 ]; then
      ts_log "not root: the SFTP test server (accounts, sshd) is not started"
      continue
    fi
    TS_SERVERS="$TS_SERVERS $s"
  done
  TS_SERVERS=${TS_SERVERS# }
  case " $TS_SERVERS " in
    *" keystone "*) case " $TS_SERVERS " in *" swift "*) ;; *) ts_log "keystone needs swift (its proxy uses swift's rings and memcached)"; return 1 ;; esac ;;
  esac
  return 0
}

# ts_save_knobs FILE: the resolved knobs as shell assignments (read back by `down`)
ts_save_knobs() {
  local v
  for v in $(compgen -v TS_ | grep -v '^TS_BG$'); do printf '%s=%q\n' "$v" "${!v}"; done > "$1"
}

ts_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# ts_recorded_running DIR: true if DIR/pids names a process that still runs as recorded
ts_recorded_running() {
  ( SVC_NAME=test-servers; . "$TS_SVC/svc-lib.sh"; svc_running "$1/pids" >/dev/null )
}

# ts_preflight: refuse (return 1, nothing started) when a server already runs in its state
# directory or one of its ports is in use
ts_preflight() {
  local s p bad=0
  check_ports() {  # KNOB=PORT...
    local kv
    for kv in "$@"; do
      if ts_in_use "${kv#*=}"; then
        ts_log "port ${kv#*=} on 127.0.0.1 is in use; set ${kv%%=*} to a free port"; bad=1
      fi
    done
  }
  running() {  # SERVER DIR KNOB
    ts_log "a $1 test server already runs from $2; stop it (bash scripts/test-servers.sh down, or scripts/services/stop-$1.sh) or set $3"; bad=1
  }
  for s in $TS_SERVERS; do
    case $s in
      postgres)
        if [ -f "$TS_PGDIR/data/postmaster.pid" ] && kill -0 "$(head -n1 "$TS_PGDIR/data/postmaster.pid")" 2>/dev/null; then
          running postgres "$TS_PGDIR" "DVBACKUP_TEST_PGDIR/DVBACKUP_TEST_PGPORT"
        fi
        check_ports DVBACKUP_TEST_PGPORT="$TS_PGPORT" ;;
      sshd)
        if [ -f "$TS_SSHDIR/sshd.pid" ] && kill -0 "$(cat "$TS_SSHDIR/sshd.pid")" 2>/dev/null; then
          running sshd "$TS_SSHDIR" "DVBACKUP_TEST_SSHDIR/DVBACKUP_TEST_SSHPORT"
        fi
        check_ports DVBACKUP_TEST_SSHPORT="$TS_SSHPORT" ;;
      swift)
        ts_recorded_running "$TS_SWIFT_DIR" && running swift "$TS_SWIFT_DIR" DVBACKUP_TEST_SWIFT_DIR
        check_ports DVBACKUP_TEST_SWIFT_PORT="$TS_SWIFT_PORT" DVBACKUP_TEST_SWIFT_SHORT_PORT="$TS_SWIFT_SHORT_PORT" \
          DVBACKUP_TEST_SWIFT_BASE_PORT="$TS_SWIFT_BASE_PORT" DVBACKUP_TEST_SWIFT_BASE_PORT="$((TS_SWIFT_BASE_PORT + 1))" \
          DVBACKUP_TEST_SWIFT_BASE_PORT="$((TS_SWIFT_BASE_PORT + 2))" DVBACKUP_TEST_MEMCACHED_PORT="$TS_MEMCACHED_PORT" ;;
      keystone)
        ts_recorded_running "$TS_KEYSTONE_DIR" && running keystone "$TS_KEYSTONE_DIR" DVBACKUP_TEST_KEYSTONE_DIR
        check_ports DVBACKUP_TEST_KEYSTONE_PORT="$TS_KEYSTONE_PORT" DVBACKUP_TEST_KEYSTONE_SWIFT_PORT="$TS_KEYSTONE_SWIFT_PORT" ;;
      s3)
        ts_recorded_running "$TS_S3_DIR" && running s3 "$TS_S3_DIR" DVBACKUP_TEST_S3_DIR
        check_ports DVBACKUP_TEST_S3_PORT="$TS_S3_PORT" ;;
      smtp)
        ts_recorded_running "$TS_SMTP_DIR" && running smtp "$TS_SMTP_DIR" DVBACKUP_TEST_SMTP_DIR
        check_ports DVBACKUP_TEST_SMTP_PLAIN_PORT="$TS_SMTP_PLAIN_PORT" DVBACKUP_TEST_SMTP_STARTTLS_PORT="$TS_SMTP_STARTTLS_PORT" \
          DVBACKUP_TEST_SMTP_SMTPS_PORT="$TS_SMTP_SMTPS_PORT" DVBACKUP_TEST_SMTP_AUTH_PORT="$TS_SMTP_AUTH_PORT" \
          DVBACKUP_TEST_SMTP_REFUSE_PORT="$TS_SMTP_REFUSE_PORT" DVBACKUP_TEST_SMTP_DOWN_PORT="$TS_SMTP_DOWN_PORT" ;;
    esac
  done
  return $bad
}

# ts_exec_start SERVER: exec that server's start script (stdout: its KEY=value lines). Call it
# only in a subshell (ts_launch runs it with `&`): the exec makes the background job's pid
# the start script's own, so that ts_stop's SIGTERM reaches it.
ts_exec_start() {
  case $1 in
    postgres) PG_PORT=$TS_PGPORT PG_DIR=$TS_PGDIR PG_USER=dvbackup PG_PASSWORD=dvbackup-pw \
                PG_DATABASES="dvndb backupdb" exec bash "$TS_SVC/start-postgres.sh" ;;
    # As OpenSSH ships: no SHA-1 RSA signatures, so the tests see what real servers do.
    sshd)     SSHD_PORT=$TS_SSHPORT SSHD_DIR=$TS_SSHDIR SSHD_ACCEPT_SSH_RSA=0 exec bash "$TS_SVC/start-sshd.sh" ;;
    swift)    SWIFT_DIR=$TS_SWIFT_DIR SWIFT_PORT=$TS_SWIFT_PORT SWIFT_SHORT_PORT=$TS_SWIFT_SHORT_PORT \
                SWIFT_BASE_PORT=$TS_SWIFT_BASE_PORT SWIFT_MEMCACHED_PORT=$TS_MEMCACHED_PORT \
                exec bash "$TS_SVC/start-swift.sh" ;;
    keystone) KEYSTONE_DIR=$TS_KEYSTONE_DIR KEYSTONE_PORT=$TS_KEYSTONE_PORT \
                KEYSTONE_SWIFT_PORT=$TS_KEYSTONE_SWIFT_PORT SWIFT_DIR=$TS_SWIFT_DIR \
                exec bash "$TS_SVC/start-keystone.sh" ;;
    s3)       S3_DIR=$TS_S3_DIR S3_PORT=$TS_S3_PORT MOTO_VENV=$TS_MOTO_VENV exec bash "$TS_SVC/start-s3.sh" ;;
    smtp)     SMTP_DIR=$TS_SMTP_DIR SMTP_PLAIN_PORT=$TS_SMTP_PLAIN_PORT SMTP_STARTTLS_PORT=$TS_SMTP_STARTTLS_PORT \
                SMTP_SMTPS_PORT=$TS_SMTP_SMTPS_PORT SMTP_AUTH_PORT=$TS_SMTP_AUTH_PORT \
                SMTP_REFUSE_PORT=$TS_SMTP_REFUSE_PORT SMTP_DOWN_PORT=$TS_SMTP_DOWN_PORT \
                exec bash "$TS_SVC/start-smtp.sh" ;;
  esac
}

# ts_launch: start every server's start script in the background (they run in parallel;
# keystone's waits for swift's by itself). Output in $TS_STATE/<server>.out and .err.
ts_launch() {
  local s
  mkdir -p "$TS_STATE"
  printf '%s\n' $TS_SERVERS > "$TS_STATE/servers"
  for s in $TS_SERVERS; do
    ts_exec_start "$s" </dev/null >"$TS_STATE/$s.out" 2>"$TS_STATE/$s.err" &
    TS_BG[$s]=$!
  done
}

# ts_wait: wait for every start script launched by ts_launch; on success write the export
# lines to $TS_STATE/env and export them here; on a failure show its log and return 1
ts_wait() {
  local s rc bad=0 secs
  for s in $TS_SERVERS; do
    [ -n "${TS_BG[$s]:-}" ] || continue
    rc=0; wait "${TS_BG[$s]}" || rc=$?
    unset "TS_BG[$s]"
    if [ $rc != 0 ]; then
      ts_log "starting $s failed (exit $rc):"
      sed 's/^/  /' "$TS_STATE/$s.err" >&2
      bad=1
    else
      secs=$(sed -n 's/^[A-Z0-9]*_STARTUP_SECONDS=//p' "$TS_STATE/$s.out" | tail -n1)
      ts_log "$s up (${secs:-?} s)"
    fi
  done
  [ $bad = 0 ] || return 1
  ts_env_lines > "$TS_STATE/env.tmp" || return 1
  mv "$TS_STATE/env.tmp" "$TS_STATE/env"
  eval "$(cat "$TS_STATE/env")"
}

# ts_env_lines: the export lines, from the start scripts' output
ts_env_lines() {
  local s
  v() { sed -n "s/^$2=//p" "$TS_STATE/$1.out" | head -n1; }
  x() { printf 'export %s=%q\n' "$1" "$2"; }
  for s in $TS_SERVERS; do
    case $s in
      postgres)
        x DVBACKUP_TEST_PGHOST 127.0.0.1
        x DVBACKUP_TEST_PGPORT "$(v postgres PG_PORT)"
        x DVBACKUP_TEST_PGUSER "$(v postgres PG_USER)"
        x DVBACKUP_TEST_PGPASSWORD "$(v postgres PG_PASSWORD)" ;;
      sshd)
        x DVBACKUP_TEST_SSH_HOST 127.0.0.1
        x DVBACKUP_TEST_SSH_PORT "$(v sshd SSHD_PORT)"
        x DVBACKUP_TEST_SSH_DIR "$(v sshd SSHD_DIR)"
        x DVBACKUP_TEST_SSH_USER "$(v sshd SSH_USER)"
        x DVBACKUP_TEST_SSH_BACKUP_DIR "$(v sshd SSH_BACKUP_DIR)"
        x DVBACKUP_TEST_SSH_CHROOT_USER "$(v sshd SSH_CHROOT_USER)"
        x DVBACKUP_TEST_SSH_CHROOT_BACKUP_DIR "$(v sshd SSH_CHROOT_BACKUP_DIR)"
        x DVBACKUP_TEST_SSH_CHROOT "$(v sshd SSH_CHROOT_DIR)"
        x DVBACKUP_TEST_SSH_LIAR_USER "$(v sshd SSH_LIAR_USER)"
        x DVBACKUP_TEST_SSH_LIAR_BACKUP_DIR "$(v sshd SSH_LIAR_BACKUP_DIR)"
        x DVBACKUP_TEST_SSH_KEY "$(v sshd SSH_KEY)"
        x DVBACKUP_TEST_SSH_KEY_PASS "$(v sshd SSH_KEY_PASS)"
        x DVBACKUP_TEST_SSH_KEY_PASSPHRASE "$(v sshd SSH_KEY_PASSPHRASE)"
        x DVBACKUP_TEST_SSH_KEY_RSA "$(v sshd SSH_KEY_RSA)"
        x DVBACKUP_TEST_SSH_KNOWN_HOSTS "$(v sshd SSH_KNOWN_HOSTS)"
        x DVBACKUP_TEST_SSH_KNOWN_HOSTS_HASHED "$(v sshd SSH_KNOWN_HOSTS_HASHED)"
        x DVBACKUP_TEST_SSH_KNOWN_HOSTS_CHANGED "$(v sshd SSH_KNOWN_HOSTS_CHANGED)"
        x DVBACKUP_TEST_SSH_FINGERPRINT "$(v sshd SSH_HOST_FINGERPRINT)" ;;
      swift)
        x DVBACKUP_TEST_SWIFT_AUTH_URL "$(v swift SWIFT_AUTH_URL)"
        x DVBACKUP_TEST_SWIFT_USER "$(v swift SWIFT_USER)"
        x DVBACKUP_TEST_SWIFT_KEY "$(v swift SWIFT_KEY)"
        x DVBACKUP_TEST_SWIFT_SHORT_TOKEN_AUTH_URL "$(v swift SWIFT_SHORT_TOKEN_AUTH_URL)"
        x DVBACKUP_TEST_SWIFT_SHORT_TOKEN_LIFE "$(v swift SWIFT_SHORT_TOKEN_LIFE)"
        x DVBACKUP_TEST_SWIFT_DIR "$(v swift SWIFT_DIR)"
        x DVBACKUP_TEST_SWIFT_S3_ENDPOINT "$(v swift SWIFT_S3_ENDPOINT)"
        x DVBACKUP_TEST_SWIFT_S3_REGION "$(v swift SWIFT_S3_REGION)"
        x DVBACKUP_TEST_SWIFT_S3_ACCESS_KEY "$(v swift SWIFT_S3_ACCESS_KEY)"
        x DVBACKUP_TEST_SWIFT_S3_SECRET_KEY "$(v swift SWIFT_S3_SECRET_KEY)" ;;
      keystone)
        x DVBACKUP_TEST_KEYSTONE_AUTH_URL "$(v keystone KEYSTONE_AUTH_URL)"
        x DVBACKUP_TEST_KEYSTONE_USER "$(v keystone KEYSTONE_USER)"
        x DVBACKUP_TEST_KEYSTONE_PASSWORD "$(v keystone KEYSTONE_PASSWORD)"
        x DVBACKUP_TEST_KEYSTONE_PROJECT "$(v keystone KEYSTONE_PROJECT)"
        x DVBACKUP_TEST_KEYSTONE_USER_DOMAIN "$(v keystone KEYSTONE_USER_DOMAIN)"
        x DVBACKUP_TEST_KEYSTONE_PROJECT_DOMAIN "$(v keystone KEYSTONE_PROJECT_DOMAIN)"
        x DVBACKUP_TEST_KEYSTONE_REGION "$(v keystone KEYSTONE_REGION)"
        x DVBACKUP_TEST_KEYSTONE_SWIFT_URL_PREFIX "$(v keystone KEYSTONE_SWIFT_URL_PREFIX)" ;;
      s3)
        x DVBACKUP_TEST_S3_ENDPOINT "$(v s3 S3_ENDPOINT)"
        x DVBACKUP_TEST_S3_REGION "$(v s3 S3_REGION)"
        x DVBACKUP_TEST_S3_ACCESS_KEY "$(v s3 S3_ACCESS_KEY)"
        x DVBACKUP_TEST_S3_SECRET_KEY "$(v s3 S3_SECRET_KEY)" ;;
      smtp)
        x DVBACKUP_TEST_SMTP_MAIL_DIR "$(v smtp SMTP_MAIL_DIR)"
        x DVBACKUP_TEST_SMTP_PLAIN_URL "$(v smtp SMTP_PLAIN_URL)"
        x DVBACKUP_TEST_SMTP_STARTTLS_URL "$(v smtp SMTP_STARTTLS_URL)"
        x DVBACKUP_TEST_SMTP_SMTPS_URL "$(v smtp SMTP_SMTPS_URL)"
        x DVBACKUP_TEST_SMTP_AUTH_URL "$(v smtp SMTP_AUTH_URL)"
        x DVBACKUP_TEST_SMTP_AUTH_USER "$(v smtp SMTP_AUTH_USER)"
        x DVBACKUP_TEST_SMTP_AUTH_PASSWORD "$(v smtp SMTP_AUTH_PASSWORD)"
        x DVBACKUP_TEST_SMTP_REFUSE_URL "$(v smtp SMTP_REFUSE_URL)"
        x DVBACKUP_TEST_SMTP_DOWN_URL "$(v smtp SMTP_DOWN_URL)"
        x DVBACKUP_TEST_SMTP_CA_FILE "$(v smtp SMTP_CA_FILE)" ;;
    esac
  done
}

# ts_stop: stop every configured server (the stop scripts signal only the processes their
# state directories recorded, and are harmless where nothing runs). Start scripts still
# running in the background (children of this shell) are sent SIGTERM first and waited
# for: each then stops what it had started itself.
ts_stop() {
  local s p
  for s in "${!TS_BG[@]}"; do
    p=${TS_BG[$s]}
    # still our child and running? (field 4 of /proc/PID/stat is the parent pid)
    if [ "$(awk '{ sub(/.*\) /, ""); print $2 }' "/proc/$p/stat" 2>/dev/null)" = "$$" ]; then
      kill -TERM "$p" 2>/dev/null || true
    fi
  done
  for s in "${!TS_BG[@]}"; do wait "${TS_BG[$s]}" 2>/dev/null || true; unset "TS_BG[$s]"; done
  # reverse order of dependence: keystone's proxy uses swift's backends
  for s in keystone swift s3 smtp sshd postgres; do
    case " $TS_SERVERS " in *" $s "*) ;; *) continue ;; esac
    case $s in
      keystone) KEYSTONE_DIR=$TS_KEYSTONE_DIR bash "$TS_SVC/stop-keystone.sh" ;;
      swift)    SWIFT_DIR=$TS_SWIFT_DIR bash "$TS_SVC/stop-swift.sh" ;;
      s3)       S3_DIR=$TS_S3_DIR bash "$TS_SVC/stop-s3.sh" ;;
      smtp)     SMTP_DIR=$TS_SMTP_DIR bash "$TS_SVC/stop-smtp.sh" ;;
      sshd)     SSHD_DIR=$TS_SSHDIR SSHD_PORT=$TS_SSHPORT bash "$TS_SVC/stop-sshd.sh" ;;
      postgres) PG_DIR=$TS_PGDIR bash "$TS_SVC/stop-postgres.sh" ;;
    esac 2>&1 | sed 's/^/test-servers: /' >&2
  done
  return 0
}

# ts_remove_state: delete the files ts_launch/ts_wait/up wrote in $TS_STATE, then the
# directory if that left it empty (never anything else: TS_STATE is a knob)
ts_remove_state() {
  local s
  [ -d "$TS_STATE" ] || return 0
  rm -f "$TS_STATE/knobs" "$TS_STATE/servers" "$TS_STATE/env" "$TS_STATE/env.tmp"
  for s in $TS_ALL; do rm -f "$TS_STATE/$s.out" "$TS_STATE/$s.err"; done
  rmdir "$TS_STATE" 2>/dev/null || true
}

# --- command line -------------------------------------------------------------------------
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  cmd=${1:-}
  [ $# -gt 0 ] && shift
  case "$cmd" in
    up)
      ts_config "$@"
      if [ -f "$TS_STATE/knobs" ]; then
        ts_log "$TS_STATE/knobs exists: servers from an earlier 'up' may still run; run 'bash scripts/test-servers.sh down' first"
        exit 1
      fi
      ts_preflight || exit 1
      mkdir -p "$TS_STATE"
      ts_save_knobs "$TS_STATE/knobs"
      t0=$(date +%s%N)
      # a Ctrl-C or TERM while starting: stop everything started so far
      trap 'ts_log "interrupted; stopping"; ts_stop; ts_remove_state; exit 130' INT TERM
      ts_launch
      if ! ts_wait; then
        ts_log "stopping the servers that did start"
        ts_stop
        ts_remove_state
        exit 1
      fi
      trap - INT TERM
      ts_log "all up in $(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }') s: $TS_SERVERS (stop with: bash scripts/test-servers.sh down)"
      cat "$TS_STATE/env"
      ;;
    env)
      ts_config
      [ -f "$TS_STATE/env" ] || { ts_log "no $TS_STATE/env: run 'bash scripts/test-servers.sh up' first"; exit 1; }
      cat "$TS_STATE/env"
      ;;
    down)
      ts_config
      if [ ! -f "$TS_STATE/knobs" ]; then
        # Without it, which servers are "ours" is unknown (someone else's test run may use the
        # default directories): stop nothing.
        ts_log "no $TS_STATE/knobs: nothing was started by 'up' there; nothing to stop"
        exit 0
      fi
      # shellcheck disable=SC1090
      . "$TS_STATE/knobs"
      ts_stop
      ts_remove_state
      ;;
    *)
      echo "usage: bash scripts/test-servers.sh up [postgres|sshd|swift|keystone|s3|smtp...] | env | down" >&2
      exit 2
      ;;
  esac
fi
