#!/usr/bin/env bash
# Stop the sshd started by start-sshd.sh with the same SSHD_DIR, like a server going down:
# the listener AND every session process of this instance (so established SSH connections
# drop), then remove SSHD_DIR unless SSHD_KEEP=1 (keep it to restart the same server, same
# host key and client keys, with start-sshd.sh). The accounts, their backup directories and
# the chroot stay; without SSHD_KEEP=1 this instance's authorized-keys files
# (~/.ssh/dvbackup-sshd-<port>.authorized_keys) are removed too. Safe to call when nothing
# runs. Prints one line.
#
# The processes of this instance are found from sshd processes only (executable name
# "sshd"): the listener (its pid file, checked against its command line, or an sshd whose
# command line names $SSHD_DIR/sshd_config) and every sshd holding a TCP socket whose local
# end is 127.0.0.1:<port> (session processes, also those whose listener is gone, but never
# those under another sshd, and never port 22); plus all descendants of those (sftp-server,
# commands run over exec channels). They are frozen
# (SIGSTOP) until no new one appears, so that none can fork away, then killed (SIGKILL; the
# listener gets SIGTERM first). Never this script, its ancestors or pid 1.
#
# Env knobs: SSHD_DIR (default /tmp/dvbackup-sshd), SSHD_PORT (default: from
# $SSHD_DIR/sshd_config), SSHD_KEEP (1 = keep SSHD_DIR), SSHD_STOP_DRY_RUN (1 = only print
# the pids it would signal, change nothing).
set -uo pipefail
SSHD_DIR=${SSHD_DIR:-/tmp/dvbackup-sshd}
conf=$SSHD_DIR/sshd_config
dry=${SSHD_STOP_DRY_RUN:-0}
case "$SSHD_DIR" in
  /*) ;;
  *) echo "stop-sshd: SSHD_DIR must be an absolute path (got '$SSHD_DIR')" >&2; exit 1 ;;
esac

port=${SSHD_PORT:-}
if [ -z "$port" ] && [ -f "$conf" ]; then
  port=$(awk '$1 == "Port" { print $2; exit }' "$conf")
fi
case "$port" in *[!0-9]*) port="" ;; esac
# start-sshd.sh never uses 22: never touch the sessions of the system sshd
[ "$port" = 22 ] && port=""

# Never signal this script, its ancestors, or pid 1.
protected=" 1 "
q=$$
while [ -n "$q" ] && [ "$q" != 0 ] && [ "$q" != 1 ]; do
  protected="$protected$q "
  q=$(awk '/^PPid:/ { print $2 }' "/proc/$q/status" 2>/dev/null)
done

cmdline() { tr '\0' ' ' < "/proc/$1/cmdline" 2>/dev/null; }
# alive PID: exists and is not a zombie (pid 1 here may reap orphans late)
alive() { local s; s=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null); [ -n "$s" ] && [ "$s" != Z ]; }
is_sshd() { [ "$(cat "/proc/$1/comm" 2>/dev/null)" = sshd ]; }

listener=""
p=$(cat "$SSHD_DIR/sshd.pid" 2>/dev/null || true)
case "$p" in ''|*[!0-9]*) p="" ;; esac
if [ -n "$p" ] && is_sshd "$p" && cmdline "$p" | grep -qF -- "-f $conf "; then
  listener=$p
fi

# sshd processes whose command line names our sshd_config (a listener without pid file,
# a connection before it renames itself)
by_config() {
  local f pid
  for f in $(grep -lsaF -- "$conf" /proc/[0-9]*/cmdline); do
    pid=${f#/proc/}; pid=${pid%/cmdline}
    is_sshd "$pid" || continue
    case "$(cmdline "$pid")" in
      *"-f $conf "*) echo "$pid" ;;
    esac
  done
}

# under_other_sshd PID: true if an ancestor of PID is an sshd started without "-f $conf"
# (the session belongs to another server, e.g. the system's)
under_other_sshd() {
  local q=$1
  while q=$(awk '/^PPid:/ { print $2 }' "/proc/$q/status" 2>/dev/null) && [ -n "$q" ] && [ "$q" -gt 1 ]; do
    if is_sshd "$q"; then
      case "$(cmdline "$q")" in
        *"-f $conf "*) return 1 ;;
        *"[listener]"*|*/sshd\ *|*/sshd) return 0 ;;
      esac
    fi
  done
  return 1
}

# sshd processes holding a non-listening TCP socket whose local end is 127.0.0.1:$port
by_socket() {
  [ -n "$port" ] || return 0
  local hex inodes pid
  hex=$(printf '0100007F:%04X' "$port")
  inodes=$(awk -v a="$hex" '$2 == a && $4 != "0A" { print $10 }' /proc/net/tcp 2>/dev/null | sort -u)
  [ -n "$inodes" ] || return 0
  for pid in $(find /proc/[0-9]*/fd -maxdepth 1 -lname 'socket:*' -printf '%h %l\n' 2>/dev/null \
      | awk -v list="$inodes" 'BEGIN { n = split(list, a, "\n"); for (i = 1; i <= n; i++) want["socket:[" a[i] "]"] = 1 }
                               ($2 in want) { split($1, p, "/"); print p[3] }' | sort -u); do
    is_sshd "$pid" && ! under_other_sshd "$pid" && echo "$pid"
  done
}

# with_descendants PID...: the given pids and all their descendants (nothing for no pids)
with_descendants() {
  [ $# -gt 0 ] || return 0
  ps -e -o pid=,ppid= | awk -v seeds="$*" '
    BEGIN { n = split(seeds, s, " "); for (i = 1; i <= n; i++) keep[s[i]] = 1 }
    { parent[$1] = $2 }
    END { do { changed = 0
               for (c in parent) if (!(c in keep) && (parent[c] in keep)) { keep[c] = 1; changed = 1 }
          } while (changed)
          for (p in keep) print p }'
}

known=" "
for round in $(seq 50); do
  seeds=$( { [ -n "$listener" ] && echo "$listener"; by_config; by_socket; } | grep -E '^[0-9]+$' | sort -u)
  new=""
  for q in $(with_descendants $seeds ${known}); do
    case "$protected" in *" $q "*) continue ;; esac
    case "$known" in *" $q "*) continue ;; esac
    [ -d "/proc/$q" ] || continue
    new="$new $q"
  done
  [ -n "$new" ] || break
  if [ "$(echo $known $new | wc -w)" -gt 2000 ]; then
    echo "stop-sshd: refusing: more than 2000 processes look like this sshd instance's; nothing killed" >&2
    [ "$dry" = 1 ] || kill -CONT $known 2>/dev/null
    exit 1
  fi
  # freeze: a stopped process cannot fork or accept
  [ "$dry" = 1 ] || kill -STOP $new 2>/dev/null
  known="$known${new# } "
done

if [ "$dry" = 1 ]; then
  echo "dry run: listener=${listener:-none} port=${port:-?} would kill:${known% }"
  for q in $known; do echo "  $q $(cmdline "$q")"; done
  exit 0
fi

sessions=0
for q in $known; do
  [ "$q" = "$listener" ] && continue
  kill -KILL "$q" 2>/dev/null && sessions=$((sessions + 1))
done
if [ -n "$listener" ]; then
  kill -TERM "$listener" 2>/dev/null
  kill -CONT "$listener" 2>/dev/null
  for _ in $(seq 50); do alive "$listener" || break; sleep 0.1; done
  alive "$listener" && kill -KILL "$listener" 2>/dev/null
fi
# wait until the killed processes are gone (their sockets closed); zombies count as gone
for _ in $(seq 50); do
  alive=0
  for q in $known; do alive "$q" && alive=1; done
  [ $alive = 0 ] && break
  sleep 0.1
done
rm -f "$SSHD_DIR/sshd.pid"

if [ -n "$listener" ] || [ "$sessions" != 0 ]; then
  echo "stopped sshd ${listener:+pid $listener }on port ${port:-?} ($sessions session process(es) killed)"
else
  echo "no sshd of $SSHD_DIR running; nothing to stop"
fi

if [ "${SSHD_KEEP:-0}" != 1 ]; then
  if [ -n "$port" ] && [ -f "$conf" ]; then
    for u in $(awk '$1 == "AllowUsers" { for (i = 2; i <= NF; i++) print $i }' "$conf"); do
      h=$(getent passwd "$u" | cut -d: -f6)
      [ -n "$h" ] && rm -f "$h/.ssh/dvbackup-sshd-$port.authorized_keys"
    done
  fi
  rm -rf "$SSHD_DIR"
fi
exit 0
