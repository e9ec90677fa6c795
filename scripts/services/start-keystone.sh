#!/usr/bin/env bash
# Start a throwaway Keystone (identity API v3) on 127.0.0.1 for dvbackup's tests, plus a
# Swift proxy that authenticates with it (keystonemiddleware authtoken + Swift keystoneauth),
# from Debian's packages (python3-keystone 22 "Zed", python3-keystonemiddleware 10.1):
#
#   Keystone v3      http://127.0.0.1:$KEYSTONE_PORT/v3 (5001); SQLite DB, fernet tokens
#                    (lifetime 1 h, Keystone's default), in $KEYSTONE_DIR
#   user             swiftuser / swiftpw, domain "Default" (id "default"), member of project
#                    "backup" (domain "Default") with role "member"
#   admin            admin / adminpw, role admin on project "admin" (the bootstrap account;
#                    the keystone proxy's authtoken validates tokens with it)
#   catalog          service "swift", type "object-store", ONE endpoint: interface public,
#                    region $KEYSTONE_REGION (RegionOne),
#                    url http://127.0.0.1:$KEYSTONE_SWIFT_PORT/v1/AUTH_%(project_id)s
#                    (a token scoped to "backup" lists it with the project id filled in); and
#                    Keystone's own "identity" endpoints (public, internal, admin)
#   Swift proxy      $KEYSTONE_SWIFT_PORT (8081): the pipeline of start-swift.sh's proxy with
#                    "s3api tempauth" replaced by "authtoken keystoneauth"
#                    (operator_roles admin, member), sharing its rings, storage servers and
#                    memcached, so the account of project "backup" is AUTH_<project id>.
#
# The Swift proxy needs start-swift.sh's rings and memcached: this script sets Keystone up
# first (the slow part, ~15-40 s: db_sync and key setup are multi-second Python starts each),
# and then waits up to KEYSTONE_SWIFT_WAIT seconds for start-swift.sh (same SWIFT_DIR) to be
# ready, so both can be started at the same time. Keystone's server is Debian's
# keystone-wsgi-public (wsgiref, single-threaded: one request at a time).
#
# Pitfall seen with Keystone on SQLite: an admin POST sometimes fails with 500 "database is
# locked". The DB is put into WAL mode and the setup calls are retried (a create that was in
# fact done before its 500 is then found by name instead of created twice).
#
# Needs Debian packages python3-keystone python3-keystonemiddleware (and the swift ones),
# curl (scripts/install-deps.sh installs them).
#
# Env knobs:
#   KEYSTONE_DIR         state dir (default /tmp/dvbackup-keystone); wiped on start
#   KEYSTONE_PORT        (default 5001)
#   KEYSTONE_SWIFT_PORT  the keystone-auth Swift proxy's port (default 8081)
#   KEYSTONE_REGION      region of the object-store endpoint (default RegionOne)
#   SWIFT_DIR            start-swift.sh's state dir (default /tmp/dvbackup-swift)
#   KEYSTONE_SWIFT_WAIT  seconds to wait for start-swift.sh to be ready (default 180)
# A running instance in KEYSTONE_DIR, or a port in use, is refused.
#
# Prints KEY=value lines, after a token for swiftuser was issued and a container PUT/DELETE
# with it went through the keystone proxy:
#   KEYSTONE_PIDS KEYSTONE_AUTH_URL KEYSTONE_USER KEYSTONE_PASSWORD KEYSTONE_PROJECT
#   KEYSTONE_PROJECT_ID KEYSTONE_USER_DOMAIN KEYSTONE_PROJECT_DOMAIN KEYSTONE_DOMAIN_ID
#   KEYSTONE_REGION KEYSTONE_SWIFT_URL_PREFIX KEYSTONE_SWIFT_STORAGE_URL
#   KEYSTONE_ADMIN_USER KEYSTONE_ADMIN_PASSWORD KEYSTONE_ADMIN_PROJECT KEYSTONE_DIR
#   KEYSTONE_STARTUP_SECONDS
# Stop with stop-keystone.sh (same KEYSTONE_DIR), before stop-swift.sh.
set -euo pipefail
set +m   # no job control: `setsid cmd &` then execs cmd directly, so $! is the server's pid
SVC_NAME=start-keystone
. "$(dirname "$0")/svc-lib.sh"

KEYSTONE_DIR=${KEYSTONE_DIR:-/tmp/dvbackup-keystone}
KEYSTONE_PORT=${KEYSTONE_PORT:-5001}
KEYSTONE_SWIFT_PORT=${KEYSTONE_SWIFT_PORT:-8081}
KEYSTONE_REGION=${KEYSTONE_REGION:-RegionOne}
KEYSTONE_SWIFT_WAIT=${KEYSTONE_SWIFT_WAIT:-180}
SWIFT_DIR=${SWIFT_DIR:-/tmp/dvbackup-swift}
svc_check_dir KEYSTONE_DIR "$KEYSTONE_DIR"
svc_check_dir SWIFT_DIR "$SWIFT_DIR"
svc_check_port KEYSTONE_PORT "$KEYSTONE_PORT"
svc_check_port KEYSTONE_SWIFT_PORT "$KEYSTONE_SWIFT_PORT"
case "$KEYSTONE_REGION" in ''|*[!A-Za-z0-9_-]*) svc_die "KEYSTONE_REGION may only contain A-Z a-z 0-9 _ -" ;; esac
case "$KEYSTONE_SWIFT_WAIT" in ''|*[!0-9]*) svc_die "KEYSTONE_SWIFT_WAIT must be a number of seconds" ;; esac
KS=http://127.0.0.1:$KEYSTONE_PORT
PIDS=$KEYSTONE_DIR/pids
CONF=$KEYSTONE_DIR/keystone.conf
ADMIN_PW=adminpw
USER=swiftuser
USER_PW=swiftpw
PROJECT=backup

t0=$(svc_now)
for b in keystone-manage keystone-wsgi-public swift-proxy-server; do
  [ -x "/usr/bin/$b" ] || svc_die "missing /usr/bin/$b (apt-get install python3-keystone python3-keystonemiddleware swift-proxy; scripts/install-deps.sh)"
done
/usr/bin/python3 -c 'import keystonemiddleware.auth_token' 2>/dev/null \
  || svc_die "python3-keystonemiddleware is missing (apt-get install python3-keystonemiddleware)"

if running=$(svc_running "$PIDS"); then
  svc_die "keystone already runs from $KEYSTONE_DIR ($(echo $running)); stop it first (KEYSTONE_DIR=$KEYSTONE_DIR scripts/services/stop-keystone.sh)"
fi
svc_refuse_busy_ports KEYSTONE_PORT="$KEYSTONE_PORT" KEYSTONE_SWIFT_PORT="$KEYSTONE_SWIFT_PORT"

svc_fresh_dir "$KEYSTONE_DIR"
: > "$PIDS"
started_ok=0
on_exit() {
  local rc=$?
  if [ $started_ok != 1 ]; then
    svc_log "failed (exit $rc); stopping what was started; logs in $KEYSTONE_DIR"
    for f in "$KEYSTONE_DIR/server.log" "$KEYSTONE_DIR/keystone.log" "$KEYSTONE_DIR/proxy.log"; do
      [ -s "$f" ] && { echo "--- $f" >&2; tail -n 15 "$f" >&2; }
    done
    svc_stop_recorded "$PIDS" 3 >/dev/null || true
    # keystone-manage runs of ours still going (our own children: $! of km_bg)
    for p in $manage_pids; do
      [ "$(awk '{ sub(/.*\) /, ""); print $2 }' "/proc/$p/stat" 2>/dev/null)" = "$$" ] && kill -TERM "$p" 2>/dev/null
    done
  fi
}
manage_pids=""
trap on_exit EXIT
# A TERM/INT (e.g. test.sh giving up) runs the EXIT trap too, which stops what was started.
trap 'exit 143' TERM
trap 'exit 130' INT

cat > "$CONF" <<EOF
# dvbackup test Keystone (scripts/services/start-keystone.sh)
[DEFAULT]
log_file = $KEYSTONE_DIR/keystone.log
[database]
# timeout=1: fail fast on "database is locked"; the setup calls below retry
connection = sqlite:///$KEYSTONE_DIR/keystone.db?timeout=1
[token]
provider = fernet
[fernet_tokens]
key_repository = $KEYSTONE_DIR/fernet-keys
[fernet_receipts]
key_repository = $KEYSTONE_DIR/fernet-receipts
[credential]
key_repository = $KEYSTONE_DIR/credential-keys
EOF
# keystone-manage prints a harmless eventlet AttributeError traceback when it exits.
# km_bg ARGS...: run it in the background ($! is keystone-manage itself); km_wait PID WHAT
km_bg() { /usr/bin/keystone-manage --config-file "$CONF" "$@" >>"$KEYSTONE_DIR/manage.log" 2>&1 & }
km_wait() {
  wait "$1" || { tail -n 20 "$KEYSTONE_DIR/manage.log" >&2; svc_die "keystone-manage $2 failed"; }
}
u=$(id -un); g=$(id -gn)
km_bg db_sync; p1=$!
km_bg fernet_setup --keystone-user "$u" --keystone-group "$g"; p2=$!
km_bg credential_setup --keystone-user "$u" --keystone-group "$g"; p3=$!
manage_pids="$p1 $p2 $p3"
km_wait $p1 db_sync
km_wait $p2 fernet_setup
km_wait $p3 credential_setup
manage_pids=""
# WAL: readers do not block the writer (fewer "database is locked" answers)
/usr/bin/python3 -c 'import sqlite3, sys; sqlite3.connect(sys.argv[1]).execute("pragma journal_mode=wal")' \
  "$KEYSTONE_DIR/keystone.db"
km_bg bootstrap --bootstrap-password "$ADMIN_PW" --bootstrap-region-id "$KEYSTONE_REGION" \
  --bootstrap-admin-url "$KS/v3" --bootstrap-internal-url "$KS/v3" --bootstrap-public-url "$KS/v3"
manage_pids=$!
km_wait $! bootstrap
manage_pids=""

# keystone-wsgi-public passes what follows "--" to Keystone's config parser.
OS_KEYSTONE_CONFIG_FILES=$CONF setsid /usr/bin/keystone-wsgi-public --host 127.0.0.1 --port "$KEYSTONE_PORT" \
  -- --config-file "$CONF" </dev/null >"$KEYSTONE_DIR/server.log" 2>&1 &
ks_pid=$!
svc_record "$PIDS" keystone "$ks_pid" "--config-file $CONF"
svc_wait_http "$KS/v3" 60 "$ks_pid" || svc_die "keystone does not answer $KS/v3 (see $KEYSTONE_DIR/server.log)"

W=$KEYSTONE_DIR/setup
mkdir -p "$W"
json() { /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
# api OUT METHOD PATH [BODY]: one admin call, retried on 5xx/connection errors; prints the code
api() {
  local out=$1 method=$2 path=$3 body=${4:-} code i
  for i in 1 2 3 4 5 6 7 8; do
    code=$(curl -s -o "$out" -w '%{http_code}' --max-time 20 -X "$method" \
             -H 'Content-Type: application/json' ${ADM:+-H "X-Auth-Token: $ADM"} \
             ${body:+--data-binary "$body"} "$KS$path" || echo 000)
    case "$code" in 5*|000) sleep 0.5 ;; *) break ;; esac
  done
  echo "$code"
}
tokbody() {  # USER PASSWORD PROJECT: password auth, names in domain "Default"
  printf '{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"%s","domain":{"name":"Default"},"password":"%s"}}},"scope":{"project":{"name":"%s","domain":{"name":"Default"}}}}}' "$1" "$2" "$3"
}
ADM=""
for i in $(seq 10); do
  code=$(curl -s -o /dev/null -D "$W/adm.h" -w '%{http_code}' --max-time 20 -H 'Content-Type: application/json' \
           --data-binary "$(tokbody admin "$ADMIN_PW" admin)" "$KS/v3/auth/tokens" || echo 000)
  [ "$code" = 201 ] && { ADM=$(svc_hdr "$W/adm.h" X-Subject-Token); break; }
  sleep 0.5
done
[ -n "$ADM" ] || svc_die "no admin token from Keystone (last HTTP $code; see $KEYSTONE_DIR/keystone.log)"

# create KIND NAME BODY FILTER: POST /v3/KINDs; if that does not give 201 (e.g. a retry
# after a create that did commit), look the entity up by name. Prints its id.
create() {
  local kind=$1 name=$2 body=$3 filter=$4 code
  code=$(api "$W/$kind.json" POST "/v3/${kind}s" "$body")
  if [ "$code" = 201 ]; then json "d['$kind']['id']" < "$W/$kind.json"; return 0; fi
  code=$(api "$W/$kind.list" GET "/v3/${kind}s?name=$name$filter")
  [ "$code" = 200 ] || svc_die "creating $kind $name failed (HTTP $code)"
  json "d['${kind}s'][0]['id']" < "$W/$kind.list" 2>/dev/null || svc_die "creating $kind $name failed"
}
SVC=$(create service swift '{"service":{"name":"swift","type":"object-store","description":"dvbackup test Swift"}}' "")
code=$(api "$W/ep.list" GET "/v3/endpoints?service_id=$SVC&interface=public")
if [ "$code" != 200 ] || [ "$(json 'len(d["endpoints"])' < "$W/ep.list")" = 0 ]; then
  # Only "public": each extra endpoint is another write that may hit the locked DB.
  code=$(api "$W/ep.json" POST /v3/endpoints "{\"endpoint\":{\"service_id\":\"$SVC\",\"interface\":\"public\",\"region_id\":\"$KEYSTONE_REGION\",\"url\":\"http://127.0.0.1:$KEYSTONE_SWIFT_PORT/v1/AUTH_%(project_id)s\"}}")
  if [ "$code" != 201 ]; then
    code=$(api "$W/ep.list" GET "/v3/endpoints?service_id=$SVC&interface=public")
    [ "$code" = 200 ] && [ "$(json 'len(d["endpoints"])' < "$W/ep.list")" != 0 ] || svc_die "creating the object-store endpoint failed"
  fi
fi
PRJ=$(create project "$PROJECT" "{\"project\":{\"name\":\"$PROJECT\",\"domain_id\":\"default\",\"description\":\"dvbackup tests\"}}" "&domain_id=default")
USR=$(create user "$USER" "{\"user\":{\"name\":\"$USER\",\"domain_id\":\"default\",\"password\":\"$USER_PW\"}}" "&domain_id=default")
code=$(api "$W/roles.json" GET "/v3/roles?name=member")
[ "$code" = 200 ] || svc_die "listing roles failed (HTTP $code)"
ROLE=$(json 'd["roles"][0]["id"]' < "$W/roles.json")
code=$(api /dev/null PUT "/v3/projects/$PRJ/users/$USR/roles/$ROLE")
[ "$code" = 204 ] || svc_die "granting role member on $PROJECT to $USER failed (HTTP $code)"

# --- the keystone-auth Swift proxy: needs start-swift.sh's rings and memcached ------------
for i in $(seq $((KEYSTONE_SWIFT_WAIT * 10))); do
  [ -f "$SWIFT_DIR/ready" ] && break
  [ -f "$SWIFT_DIR/failed" ] && svc_die "start-swift.sh failed (SWIFT_DIR $SWIFT_DIR)"
  sleep 0.1
done
[ -f "$SWIFT_DIR/ready" ] || svc_die "Swift is not running from $SWIFT_DIR after $KEYSTONE_SWIFT_WAIT s; run start-swift.sh (same SWIFT_DIR) first"
SETC=$SWIFT_DIR/etc
MEMCACHED=$(sed -n 's/^memcache_servers = //p' "$SETC/proxy-server.conf")
PCONF=$KEYSTONE_DIR/proxy-keystone.conf
sed -e "s/^bind_port = .*/bind_port = $KEYSTONE_SWIFT_PORT/" \
    -e 's/ s3api tempauth / authtoken keystoneauth /' \
    -e 's/^# dvbackup test Swift proxy.*/# dvbackup test Swift proxy with Keystone auth (scripts\/services\/start-keystone.sh)/' \
    "$SETC/proxy-server.conf" > "$PCONF"
grep -q '^pipeline = .* authtoken keystoneauth ' "$PCONF" || svc_die "could not derive the keystone proxy's pipeline from $SETC/proxy-server.conf"
cat >> "$PCONF" <<EOF

[filter:authtoken]
paste.filter_factory = keystonemiddleware.auth_token:filter_factory
www_authenticate_uri = $KS/v3
auth_url = $KS/v3
auth_type = password
project_domain_id = default
user_domain_id = default
project_name = admin
username = admin
password = $ADMIN_PW
delay_auth_decision = True
memcached_servers = $MEMCACHED
# Keystone's server here is single-threaded: do not wait long for it
http_connect_timeout = 10
http_request_max_retries = 3

[filter:keystoneauth]
use = egg:swift#keystoneauth
operator_roles = admin, member
EOF
setsid /usr/bin/swift-proxy-server "$PCONF" -v </dev/null >"$KEYSTONE_DIR/proxy.log" 2>&1 &
px_pid=$!
svc_record "$PIDS" proxy-keystone "$px_pid" "$PCONF"
svc_wait_http "http://127.0.0.1:$KEYSTONE_SWIFT_PORT/healthcheck" 60 "$px_pid" \
  || svc_die "the keystone Swift proxy does not answer (see $KEYSTONE_DIR/proxy.log)"

# Proof: v3 password auth -> token + catalog -> container PUT/DELETE through the proxy.
TOK=""
for i in $(seq 10); do
  code=$(curl -s -o "$W/token.json" -D "$W/tok.h" -w '%{http_code}' --max-time 20 -H 'Content-Type: application/json' \
           --data-binary "$(tokbody "$USER" "$USER_PW" "$PROJECT")" "$KS/v3/auth/tokens" || echo 000)
  [ "$code" = 201 ] && { TOK=$(svc_hdr "$W/tok.h" X-Subject-Token); break; }
  sleep 0.5
done
[ -n "$TOK" ] || svc_die "no token for $USER (HTTP $code)"
SURL=$(json "[e['url'] for s in d['token']['catalog'] if s['type'] == 'object-store' for e in s['endpoints'] if e['interface'] == 'public' and e['region_id'] == '$KEYSTONE_REGION'][0]" < "$W/token.json") \
  || svc_die "the token's catalog has no public object-store endpoint in $KEYSTONE_REGION"
[ "$SURL" = "http://127.0.0.1:$KEYSTONE_SWIFT_PORT/v1/AUTH_$PRJ" ] || svc_die "unexpected object-store URL in the catalog: $SURL"
ok=0
for i in $(seq 50); do
  if curl -sf -o /dev/null --max-time 20 -X PUT -H "X-Auth-Token: $TOK" "$SURL/.readiness-probe" \
     && curl -sf -o /dev/null --max-time 20 -X DELETE -H "X-Auth-Token: $TOK" "$SURL/.readiness-probe"; then
    ok=1; break
  fi
  sleep 0.2
done
[ $ok = 1 ] || svc_die "a container PUT/DELETE with a Keystone token through :$KEYSTONE_SWIFT_PORT failed (see $KEYSTONE_DIR/proxy.log)"
rm -rf "$W"

started_ok=1
t1=$(svc_now)
echo "KEYSTONE_PIDS=$(awk '{ printf "%s%s", (NR > 1 ? " " : ""), $2 }' "$PIDS")"
echo "KEYSTONE_AUTH_URL=$KS/v3"
echo "KEYSTONE_USER=$USER"
echo "KEYSTONE_PASSWORD=$USER_PW"
echo "KEYSTONE_PROJECT=$PROJECT"
echo "KEYSTONE_PROJECT_ID=$PRJ"
echo "KEYSTONE_USER_DOMAIN=Default"
echo "KEYSTONE_PROJECT_DOMAIN=Default"
echo "KEYSTONE_DOMAIN_ID=default"
echo "KEYSTONE_REGION=$KEYSTONE_REGION"
echo "KEYSTONE_SWIFT_URL_PREFIX=http://127.0.0.1:$KEYSTONE_SWIFT_PORT/v1/AUTH_"
echo "KEYSTONE_SWIFT_STORAGE_URL=$SURL"
echo "KEYSTONE_ADMIN_USER=admin"
echo "KEYSTONE_ADMIN_PASSWORD=$ADMIN_PW"
echo "KEYSTONE_ADMIN_PROJECT=admin"
echo "KEYSTONE_DIR=$KEYSTONE_DIR"
echo "KEYSTONE_STARTUP_SECONDS=$(svc_seconds "$t0" "$t1")"
