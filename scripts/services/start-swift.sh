#!/usr/bin/env bash
# Start a throwaway one-node OpenStack Swift ("Swift All In One") for dvbackup's tests, on
# 127.0.0.1 only, from Debian's packages (swift 2.30.1 on Debian 12):
#
#   memcached            127.0.0.1:$SWIFT_MEMCACHED_PORT (11211): tempauth keeps its tokens here
#   object/container/account servers   $SWIFT_BASE_PORT, +1, +2 (6200, 6201, 6202)
#   proxy                $SWIFT_PORT (8080): tempauth, auth v1 at /auth/v1.0, user
#                        test:tester / testing (.admin of account AUTH_test; test:tester2 /
#                        testing2 and test2:tester2 / testing2 exist too), token life 24 h;
#                        SLO, DLO, bulk, tempurl, copy, versioned_writes, symlink; and the
#                        s3api middleware: S3 at http://127.0.0.1:$SWIFT_PORT, path-style,
#                        region us-east-1, access key "test:tester", secret "testing"
#   short-token proxy    $SWIFT_SHORT_PORT (8082): same rings, backends and memcached, but its
#                        tempauth hands out tokens that live $SWIFT_SHORT_TOKEN_LIFE (3)
#                        seconds, so a client can be seen renewing an expired token. Its
#                        reseller prefix is SHORT (tokens SHORT_tk..., account SHORT_test,
#                        storage URL http://127.0.0.1:8082/v1/SHORT_test), same users and keys:
#                        with the same prefix the two proxies would share token entries in
#                        memcached, and each would hand out the other's tokens (tempauth
#                        reuses a user's cached token while it is valid).
#
# Both proxies: SLO/DLO GETs are not rate-limited (rate_limit_segments_per_sec = 0; stock
# Swift slows a GET down to 1 segment/s after the 10th segment smaller than 1 MiB). SLO
# limits as shipped: min_segment_size 1 (fixed in 2.30, see /info), max_manifest_segments
# 1000, max_manifest_size 8 MiB. max_file_size 5 GiB + 2 bytes.
#
# Every server runs with workers = 0 (one process, no forks), as the current user (root is
# fine), logging to $SWIFT_DIR/log/<name>.log (there is no syslog). Object metadata lives in
# user.* xattrs: the filesystem of $SWIFT_DIR must support them (probed first; /tmp on ext4
# or tmpfs does). Swift always reads /etc/swift/swift.conf (hash prefix/suffix, storage
# policies; not configurable): the Debian package ships one, and this script writes one only
# if it is missing.
#
# Needs Debian packages swift swift-proxy swift-account swift-container swift-object
# memcached and curl (scripts/install-deps.sh installs them).
#
# Env knobs:
#   SWIFT_DIR             state dir (default /tmp/dvbackup-swift); wiped on start, removed by
#                         stop-swift.sh
#   SWIFT_PORT            proxy port (default 8080)
#   SWIFT_SHORT_PORT      short-token proxy port (default 8082)
#   SWIFT_SHORT_TOKEN_LIFE  seconds (default 3)
#   SWIFT_BASE_PORT       object=BASE, container=BASE+1, account=BASE+2 (default 6200)
#   SWIFT_MEMCACHED_PORT  (default 11211)
# A running instance in SWIFT_DIR, or any of these ports in use, is refused.
#
# Prints KEY=value lines once auth works and a container PUT/DELETE went through both proxies:
#   SWIFT_PIDS SWIFT_AUTH_URL SWIFT_USER SWIFT_KEY SWIFT_STORAGE_URL
#   SWIFT_SHORT_TOKEN_AUTH_URL SWIFT_SHORT_TOKEN_STORAGE_URL SWIFT_SHORT_TOKEN_LIFE
#   SWIFT_S3_ENDPOINT SWIFT_S3_REGION SWIFT_S3_ACCESS_KEY SWIFT_S3_SECRET_KEY
#   SWIFT_MEMCACHED SWIFT_DIR SWIFT_STARTUP_SECONDS
# The same lines are kept in $SWIFT_DIR/ready (start-keystone.sh waits for that file).
# Stop with stop-swift.sh (same SWIFT_DIR). Measured: ~5-8 s on 2 busy cores.
set -euo pipefail
set +m   # no job control: `setsid cmd &` then execs cmd directly, so $! is the server's pid
SVC_NAME=start-swift
. "$(dirname "$0")/svc-lib.sh"

SWIFT_DIR=${SWIFT_DIR:-/tmp/dvbackup-swift}
SWIFT_PORT=${SWIFT_PORT:-8080}
SWIFT_SHORT_PORT=${SWIFT_SHORT_PORT:-8082}
SWIFT_SHORT_TOKEN_LIFE=${SWIFT_SHORT_TOKEN_LIFE:-3}
SWIFT_BASE_PORT=${SWIFT_BASE_PORT:-6200}
SWIFT_MEMCACHED_PORT=${SWIFT_MEMCACHED_PORT:-11211}
svc_check_dir SWIFT_DIR "$SWIFT_DIR"
for v in SWIFT_PORT SWIFT_SHORT_PORT SWIFT_BASE_PORT SWIFT_MEMCACHED_PORT; do svc_check_port "$v" "${!v}"; done
case "$SWIFT_SHORT_TOKEN_LIFE" in ''|*[!0-9]*|0) svc_die "SWIFT_SHORT_TOKEN_LIFE must be a positive number of seconds" ;; esac
OBJ_PORT=$SWIFT_BASE_PORT
CONT_PORT=$((SWIFT_BASE_PORT + 1))
ACCT_PORT=$((SWIFT_BASE_PORT + 2))
RUN_USER=$(id -un)
# The Debian swift tools are #!/usr/bin/python3 scripts: call them by full path, so that a
# pyenv/venv python3 earlier on PATH never gets involved.
BIN=/usr/bin
ETC=$SWIFT_DIR/etc
PIDS=$SWIFT_DIR/pids

t0=$(svc_now)
for b in swift-proxy-server swift-account-server swift-container-server swift-object-server; do
  [ -x "$BIN/$b" ] || svc_die "missing $BIN/$b (apt-get install swift swift-proxy swift-account swift-container swift-object; scripts/install-deps.sh)"
done
[ -x /usr/bin/memcached ] || svc_die "missing /usr/bin/memcached (apt-get install memcached)"
command -v curl >/dev/null || svc_die "missing curl"

if running=$(svc_running "$PIDS"); then
  svc_die "swift already runs from $SWIFT_DIR ($(echo $running)); stop it first (SWIFT_DIR=$SWIFT_DIR scripts/services/stop-swift.sh)"
fi
svc_refuse_busy_ports SWIFT_PORT="$SWIFT_PORT" SWIFT_SHORT_PORT="$SWIFT_SHORT_PORT" \
  SWIFT_BASE_PORT="$OBJ_PORT" SWIFT_BASE_PORT="$CONT_PORT" SWIFT_BASE_PORT="$ACCT_PORT" \
  SWIFT_MEMCACHED_PORT="$SWIFT_MEMCACHED_PORT"

# Swift reads the hash settings and storage policies from the fixed path /etc/swift/swift.conf.
if [ ! -f /etc/swift/swift.conf ]; then
  mkdir -p /etc/swift
  cat > /etc/swift/swift.conf <<'EOF'
# written by dvbackup scripts/services/start-swift.sh (the Debian package ships one like it)
[swift-hash]
swift_hash_path_suffix = changeme
swift_hash_path_prefix = changeme
[storage-policy:0]
name = Policy-0
default = yes
EOF
fi

svc_fresh_dir "$SWIFT_DIR"
mkdir -p "$ETC" "$SWIFT_DIR/log" "$SWIFT_DIR/srv/node/d1"
: > "$PIDS"

# On failure: stop what was started, keep the directory (logs) for stop-swift.sh to remove.
started_ok=0
on_exit() {
  local rc=$?
  if [ $started_ok != 1 ]; then
    svc_log "failed (exit $rc); stopping what was started; logs in $SWIFT_DIR/log"
    for f in "$SWIFT_DIR"/log/*.log; do
      [ -s "$f" ] && { echo "--- $f" >&2; tail -n 15 "$f" >&2; }
    done
    svc_stop_recorded "$PIDS" 3 >/dev/null || true
    [ -d "$SWIFT_DIR" ] && touch "$SWIFT_DIR/failed"
  fi
}
trap on_exit EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

# xattr probe: Swift keeps object metadata in user.* xattrs of the data files.
probe=$SWIFT_DIR/srv/node/d1/.xattr-probe
touch "$probe"
/usr/bin/python3 - "$probe" <<'EOF' || svc_die "the filesystem of $SWIFT_DIR has no user xattrs; choose another SWIFT_DIR"
import sys, xattr
xattr.setxattr(sys.argv[1], 'user.swift.probe', b'x' * 200)
assert xattr.getxattr(sys.argv[1], 'user.swift.probe') == b'x' * 200
EOF
rm -f "$probe"

common_default() {  # PORT
  cat <<EOF
# dvbackup test Swift (scripts/services/start-swift.sh)
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $1
workers = 0
user = $RUN_USER
swift_dir = $ETC
devices = $SWIFT_DIR/srv/node
mount_check = false
disable_fallocate = true
log_level = INFO
# no syslog daemon here: the syslog copy goes to loopback UDP (nobody listens); the real log
# is stderr (-v) in $SWIFT_DIR/log/<name>.log
log_udp_host = 127.0.0.1
EOF
}
for kind in object container account; do
  case $kind in object) port=$OBJ_PORT ;; container) port=$CONT_PORT ;; account) port=$ACCT_PORT ;; esac
  { common_default "$port"; cat <<EOF

[pipeline:main]
pipeline = healthcheck $kind-server

[app:$kind-server]
use = egg:swift#$kind

[filter:healthcheck]
use = egg:swift#healthcheck
EOF
  } > "$ETC/$kind-server.conf"
done

# proxy_conf PORT PIPELINE-AUTH-PART RESELLER TOKEN_LIFE
proxy_conf() {
  cat <<EOF
# dvbackup test Swift proxy (scripts/services/start-swift.sh)
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $1
workers = 0
user = $RUN_USER
swift_dir = $ETC
log_level = INFO
log_udp_host = 127.0.0.1

[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats bulk tempurl $2 copy slo dlo versioned_writes symlink proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
# without it the first container PUT of a new account gets 404
account_autocreate = true
allow_account_management = true

[filter:tempauth]
use = egg:swift#tempauth
reseller_prefix = $3
token_life = $4
user_admin_admin = admin .admin .reseller_admin
user_test_tester = testing .admin
user_test_tester2 = testing2 .admin
user_test2_tester2 = testing2 .admin
storage_url_scheme = http

[filter:s3api]
use = egg:swift#s3api
location = us-east-1

[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:$SWIFT_MEMCACHED_PORT

[filter:slo]
use = egg:swift#slo
# stock: after the 10th segment smaller than 1 MiB a GET is slowed down to 1 segment/s
rate_limit_segments_per_sec = 0

[filter:dlo]
use = egg:swift#dlo
rate_limit_segments_per_sec = 0

[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:bulk]
use = egg:swift#bulk
[filter:tempurl]
use = egg:swift#tempurl
[filter:copy]
use = egg:swift#copy
[filter:versioned_writes]
use = egg:swift#versioned_writes
allow_versioned_writes = true
[filter:symlink]
use = egg:swift#symlink
EOF
}
proxy_conf "$SWIFT_PORT" "s3api tempauth" AUTH 86400 > "$ETC/proxy-server.conf"
proxy_conf "$SWIFT_SHORT_PORT" "tempauth" SHORT "$SWIFT_SHORT_TOKEN_LIFE" > "$ETC/proxy-short-token.conf"

# Rings: part power 6, 1 replica, one device each, all built by ONE python process
# (swift-ring-builder costs ~0.3 s of interpreter start per call, 9 calls).
/usr/bin/python3 - "$ETC" "$OBJ_PORT" "$CONT_PORT" "$ACCT_PORT" <<'EOF'
import sys, os
from swift.common.ring import RingBuilder
etc = sys.argv[1]
ports = dict(object=int(sys.argv[2]), container=int(sys.argv[3]), account=int(sys.argv[4]))
for name, port in ports.items():
    b = RingBuilder(6, 1, 1)           # part_power, replicas, min_part_hours
    b.add_dev({'id': 0, 'region': 1, 'zone': 1, 'ip': '127.0.0.1', 'port': port,
               'device': 'd1', 'weight': 1.0, 'meta': ''})
    b.rebalance()
    b.save(os.path.join(etc, name + '.builder'))
    b.get_ring().save(os.path.join(etc, name + '.ring.gz'))
EOF

# launch NAME MARK COMMAND...: start in its own session, output to log/NAME.log, record it
launch() {
  local name=$1 mark=$2; shift 2
  setsid "$@" </dev/null >"$SWIFT_DIR/log/$name.log" 2>&1 &
  svc_record "$PIDS" "$name" $! "$mark"
}
launch memcached "-p $SWIFT_MEMCACHED_PORT " \
  /usr/bin/memcached -l 127.0.0.1 -p "$SWIFT_MEMCACHED_PORT" -U 0 -m 64 -c 1024 -u "$RUN_USER"
# -v: log to stderr too
launch object      "$ETC/object-server.conf"      "$BIN/swift-object-server"    "$ETC/object-server.conf" -v
launch container   "$ETC/container-server.conf"   "$BIN/swift-container-server" "$ETC/container-server.conf" -v
launch account     "$ETC/account-server.conf"     "$BIN/swift-account-server"   "$ETC/account-server.conf" -v
launch proxy       "$ETC/proxy-server.conf"       "$BIN/swift-proxy-server"     "$ETC/proxy-server.conf" -v
launch proxy-short "$ETC/proxy-short-token.conf"  "$BIN/swift-proxy-server"     "$ETC/proxy-short-token.conf" -v

pid_of() { awk -v n="$1" '$1 == n { print $2 }' "$PIDS"; }
wait_up() {  # NAME URL
  svc_wait_http "$2" 60 "$(pid_of "$1")" || svc_die "$1 did not answer $2 (see $SWIFT_DIR/log/$1.log)"
}
wait_up object      "http://127.0.0.1:$OBJ_PORT/healthcheck"
wait_up container   "http://127.0.0.1:$CONT_PORT/healthcheck"
wait_up account     "http://127.0.0.1:$ACCT_PORT/healthcheck"
wait_up proxy       "http://127.0.0.1:$SWIFT_PORT/healthcheck"
wait_up proxy-short "http://127.0.0.1:$SWIFT_SHORT_PORT/healthcheck"

# End to end, through each proxy: auth (needs memcached), then a container PUT and DELETE.
tmp=$SWIFT_DIR/readiness
mkdir -p "$tmp"
probe_proxy() {  # PORT -> prints the storage URL
  local i tok url
  for i in $(seq 100); do
    if curl -s -o /dev/null -D "$tmp/h" --max-time 3 -H 'X-Auth-User: test:tester' -H 'X-Auth-Key: testing' \
         "http://127.0.0.1:$1/auth/v1.0"; then
      tok=$(svc_hdr "$tmp/h" X-Auth-Token); url=$(svc_hdr "$tmp/h" X-Storage-Url)
      if [ -n "$tok" ] && [ -n "$url" ] \
         && curl -sf -o /dev/null --max-time 5 -X PUT -H "X-Auth-Token: $tok" "$url/.readiness-probe" \
         && curl -sf -o /dev/null --max-time 5 -X DELETE -H "X-Auth-Token: $tok" "$url/.readiness-probe"; then
        echo "$url"; cp "$tmp/h" "$tmp/h.$1"; return 0
      fi
    fi
    sleep 0.1
  done
  svc_die "the proxy on port $1 answers but auth or the account does not work (see $SWIFT_DIR/log/)"
}
storage_url=$(probe_proxy "$SWIFT_PORT")
short_storage_url=$(probe_proxy "$SWIFT_SHORT_PORT")
expires=$(svc_hdr "$tmp/h.$SWIFT_SHORT_PORT" X-Auth-Token-Expires)
case "$expires" in ''|*[!0-9]*) svc_die "the short-token proxy sent no X-Auth-Token-Expires" ;; esac
[ "$expires" -le "$SWIFT_SHORT_TOKEN_LIFE" ] || svc_die "the short-token proxy's token lives $expires s, not <= $SWIFT_SHORT_TOKEN_LIFE"
rm -rf "$tmp"

t1=$(svc_now)
{
echo "SWIFT_PIDS=$(awk '{ printf "%s%s", (NR > 1 ? " " : ""), $2 }' "$PIDS")"
echo "SWIFT_AUTH_URL=http://127.0.0.1:$SWIFT_PORT/auth/v1.0"
echo "SWIFT_USER=test:tester"
echo "SWIFT_KEY=testing"
echo "SWIFT_STORAGE_URL=$storage_url"
echo "SWIFT_SHORT_TOKEN_AUTH_URL=http://127.0.0.1:$SWIFT_SHORT_PORT/auth/v1.0"
echo "SWIFT_SHORT_TOKEN_STORAGE_URL=$short_storage_url"
echo "SWIFT_SHORT_TOKEN_LIFE=$SWIFT_SHORT_TOKEN_LIFE"
echo "SWIFT_S3_ENDPOINT=http://127.0.0.1:$SWIFT_PORT"
echo "SWIFT_S3_REGION=us-east-1"
echo "SWIFT_S3_ACCESS_KEY=test:tester"
echo "SWIFT_S3_SECRET_KEY=testing"
echo "SWIFT_MEMCACHED=127.0.0.1:$SWIFT_MEMCACHED_PORT"
echo "SWIFT_DIR=$SWIFT_DIR"
echo "SWIFT_STARTUP_SECONDS=$(svc_seconds "$t0" "$t1")"
} > "$SWIFT_DIR/ready.tmp"
# $SWIFT_DIR/ready (these lines) tells start-keystone.sh that the rings and memcached are up
mv "$SWIFT_DIR/ready.tmp" "$SWIFT_DIR/ready"
started_ok=1
cat "$SWIFT_DIR/ready"
