# Shared helpers of the Swift, Keystone, S3 (moto) and SMTP test-server scripts in this
# directory (start-*.sh / stop-*.sh source it; it does nothing by itself).
#
# Processes are recorded in a state directory's "pids" file, one line per process:
#   NAME PID STARTTIME MARK...
# STARTTIME is field 22 of /proc/PID/stat (clock ticks since boot: together with the pid it
# names one process for the lifetime of the machine), MARK is a string that the process's
# command line (NULs read as spaces) contains, e.g. its own config file's path. A stop
# script signals a recorded pid only when all three still match, so a reused pid, or any
# process the scripts did not start, is never touched. Nothing is ever looked up or killed
# by name or pattern.
#
# State directories are created with a marker file (.dvbackup-test-server) and are only
# wiped or removed when that marker is there (or the directory is empty), so a mistyped
# *_DIR knob cannot delete someone's files.

SVC_MARKER=.dvbackup-test-server

svc_die() { echo "${SVC_NAME:-svc}: $*" >&2; exit 1; }
svc_log() { echo "${SVC_NAME:-svc}: $*" >&2; }

# svc_now: nanoseconds since the epoch; svc_seconds T0 T1: "1.2"
svc_now() { date +%s%N; }
svc_seconds() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) / 1e9 }'; }

# svc_check_port NAME VALUE: a port number 1024..65535
svc_check_port() {
  case "$2" in ''|*[!0-9]*) svc_die "$1 must be a number (got '$2')" ;; esac
  [ "$2" -ge 1024 ] && [ "$2" -le 65535 ] || svc_die "$1 out of range 1024..65535: $2"
}

# svc_check_dir NAME VALUE: an absolute path of [A-Za-z0-9._/-] (it goes into config files
# and command lines), not "/" and not directly under /
svc_check_dir() {
  case "$2" in /?*/?*) ;; *) svc_die "$1 must be an absolute path at least two levels deep (got '$2')" ;; esac
  case "$2" in *[!A-Za-z0-9._/-]*|*/../*|*/..) svc_die "$1 may only contain A-Z a-z 0-9 . _ / - (got '$2')" ;; esac
}

# svc_port_in_use PORT: true if something accepts connections on 127.0.0.1:PORT
svc_port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# svc_refuse_busy_ports KNOB=PORT...: die on the first port that is in use
svc_refuse_busy_ports() {
  local kv
  for kv in "$@"; do
    if svc_port_in_use "${kv#*=}"; then
      svc_die "port ${kv#*=} on 127.0.0.1 is already in use; set ${kv%%=*} to a free port"
    fi
  done
}

# svc_starttime PID: field 22 of /proc/PID/stat (fields counted after the ")" of the comm)
svc_starttime() {
  local s
  s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  s=${s##*) }
  # after "comm) ": field 3 is the state, field 22 is the 20th word here
  set -- $s
  [ $# -ge 20 ] || return 1
  echo "${20}"
}

# svc_alive PID: exists and is not a zombie
svc_alive() {
  local s
  s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  s=${s##*) }
  [ "${s%% *}" != Z ]
}

# svc_owned PID STARTTIME MARK: PID is alive, started at STARTTIME, and its command line
# contains MARK
svc_owned() {
  case "$1" in ''|*[!0-9]*) return 1 ;; esac
  [ "$1" -gt 1 ] || return 1
  svc_alive "$1" || return 1
  [ "$(svc_starttime "$1")" = "$2" ] || return 1
  tr '\0' ' ' < "/proc/$1/cmdline" 2>/dev/null | grep -qF -- "$3"
}

# svc_record PIDFILE NAME PID MARK: append the line for a process just launched with `&`
svc_record() {
  local st
  st=$(svc_starttime "$3") || st=gone
  echo "$2 $3 $st $4" >> "$1"
}

# svc_running PIDFILE: prints "NAME PID" of the recorded processes that still run; true if any
svc_running() {
  local name pid st mark any=1
  [ -f "$1" ] || return 1
  while read -r name pid st mark; do
    [ -n "$pid" ] || continue
    if svc_owned "$pid" "$st" "$mark"; then echo "$name $pid"; any=0; fi
  done < "$1"
  return $any
}

# svc_wait_gone PIDFILE TENTHS: wait up to TENTHS tenths of a second until none of the
# recorded processes is still the one recorded; false if some still are
svc_wait_gone() {
  local i
  for i in $(seq "$2"); do
    svc_running "$1" >/dev/null || return 0
    sleep 0.1
  done
  ! svc_running "$1" >/dev/null
}

# svc_stop_recorded PIDFILE [GRACE_SECONDS]: SIGTERM every recorded process that is still
# the one recorded, wait up to GRACE_SECONDS (default 5) for them to exit, SIGKILL the ones
# left (checked again first). Prints "name=pid ..." of what it signalled (nothing if none).
svc_stop_recorded() {
  local file=$1 grace=${2:-5} name pid st mark targets=""
  [ -f "$file" ] || return 0
  while read -r name pid st mark; do
    [ -n "$pid" ] || continue
    [ "$pid" != "$$" ] || continue
    if svc_owned "$pid" "$st" "$mark"; then
      kill -TERM "$pid" 2>/dev/null || true
      targets="$targets $name=$pid"
    fi
  done < "$file"
  [ -n "$targets" ] || return 0
  svc_wait_gone "$file" $((grace * 10)) || true
  while read -r name pid st mark; do
    [ -n "$pid" ] || continue
    [ "$pid" != "$$" ] || continue
    if svc_owned "$pid" "$st" "$mark"; then
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done < "$file"
  svc_wait_gone "$file" 30 || true
  echo "${targets# }"
}

# svc_stop_service LABEL DIR_KNOB DEFAULT_DIR KEEP_KNOB: what each stop-*.sh of a server
# whose processes are recorded in DIR/pids does. DIR is the value of the variable named
# DIR_KNOB (DEFAULT_DIR when unset or empty). Stops the recorded processes
# (svc_stop_recorded), prints one line naming the server by LABEL ("moto", "the SMTP sink"),
# removes DIR/pids and then DIR (svc_remove_dir) unless the variable named KEEP_KNOB is 1.
svc_stop_service() {
  local label=$1 knob=$2 keep=$4 dir stopped
  dir=${!knob:-$3}
  svc_check_dir "$knob" "$dir"
  stopped=$(svc_stop_recorded "$dir/pids")
  if [ -n "$stopped" ]; then
    echo "stopped $label ($stopped)"
  else
    echo "no ${label#the } of $dir running; nothing to stop"
  fi
  rm -f "$dir/pids"
  [ "${!keep:-0}" = 1 ] || svc_remove_dir "$dir"
}

# svc_fresh_dir DIR: (re)create DIR empty, with the marker. Refuses a non-empty DIR that
# has no marker (not one of ours).
svc_fresh_dir() {
  if [ -d "$1" ] && [ -n "$(ls -A "$1" 2>/dev/null)" ] && [ ! -f "$1/$SVC_MARKER" ]; then
    svc_die "$1 exists, is not empty and was not made by these scripts (no $SVC_MARKER); choose another directory"
  fi
  rm -rf "$1"
  mkdir -p "$1"
  echo "created by dvbackup scripts/services/ (removed by the matching stop script)" > "$1/$SVC_MARKER"
}

# svc_remove_dir DIR: remove DIR if it has the marker (or is empty); otherwise leave it
svc_remove_dir() {
  [ -e "$1" ] || return 0
  if [ -f "$1/$SVC_MARKER" ] || [ -z "$(ls -A "$1" 2>/dev/null)" ]; then
    rm -rf "$1"
  else
    svc_log "not removing $1: it has no $SVC_MARKER (not made by these scripts)"
  fi
}

# svc_wait_http URL SECONDS [PID]: until URL answers 2xx/3xx; false on timeout (or when
# PID, if given, dies)
svc_wait_http() {
  local i
  for i in $(seq $(($2 * 10))); do
    curl -sf -o /dev/null --max-time 2 "$1" 2>/dev/null && return 0
    if [ -n "${3:-}" ] && ! svc_alive "$3"; then return 1; fi
    sleep 0.1
  done
  return 1
}

# svc_hdr FILE NAME: value of the last header NAME (any case) in a curl -D dump
svc_hdr() { tr -d '\r' < "$1" | awk -F': ' -v h="$2" 'tolower($1) == tolower(h) { v = substr($0, length($1) + 3) } END { print v }'; }
