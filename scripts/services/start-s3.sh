#!/usr/bin/env bash
# Start moto's standalone server as a throwaway S3 endpoint for dvbackup's tests, on
# 127.0.0.1:$S3_PORT (5000), path-style, region us-east-1, everything in memory.
#
# moto comes from PyPI, pinned: scripts/services/moto-requirements.txt (moto[server]==5.2.5
# and every dependency at the version pip resolved). It is installed into a venv made with
# Debian's /usr/bin/python3 (package python3-venv) at $MOTO_VENV; a venv that already holds
# exactly these requirements (stamp file .dvbackup-requirements.sha256) is reused, any other
# venv made by this script is rebuilt. Building it takes ~25-45 s and needs PyPI; reusing it
# costs nothing. Two starts at the same time build it once (flock on $MOTO_VENV.lock).
#
# Signatures: moto checks none by default (any key, any signature works). With
# S3_ENFORCE_AUTH=1 (default) this script first creates an IAM user "backup" with an inline
# allow-all policy and an access key (IAM query API through curl --aws-sigv4), then turns on
# moto's verification (POST /moto-api/reset-auth, body 0, Content-Type text/plain; with the
# form encoding moto reads an empty body and answers 500). From then on a request needs a
# valid SigV4 signature made with S3_ACCESS_KEY/S3_SECRET_KEY (moto generates them; they
# change every start): a wrong secret gets 403 SignatureDoesNotMatch, an unknown key 403
# InvalidAccessKeyId. Never POST /moto-api/reset while testing: it deletes that IAM user too.
# moto does not check x-amz-content-sha256 against the body, nor Content-MD5.
#
# Proven by start-s3.sh itself (a signed ListBuckets) and by prove-services.sh (curl
# --aws-sigv4: PUT with ETag "<md5>" in double quotes, GET, Range GET 206, wrong secret 403).
#
# Env knobs:
#   S3_PORT          (default 5000)
#   S3_DIR           state/log dir (default /tmp/dvbackup-s3); wiped on start
#   MOTO_VENV        (default /tmp/dvbackup-moto-venv)
#   S3_REGION        (default us-east-1)
#   S3_ENFORCE_AUTH  1 (default) or 0 (moto's default: anything goes)
#   S3_BUCKETS       space-separated buckets to create (default: none)
# A running instance in S3_DIR, or the port in use, is refused.
#
# Prints KEY=value lines (also kept in $S3_DIR/env): S3_PID S3_MOTO_VERSION S3_ENDPOINT
# S3_REGION S3_ACCESS_KEY S3_SECRET_KEY S3_AUTH_ENFORCED S3_DIR S3_VENV_SECONDS
# S3_STARTUP_SECONDS. Stop with stop-s3.sh (same S3_DIR).
set -euo pipefail
set +m   # no job control: `setsid cmd &` then execs cmd directly, so $! is the server's pid
SVC_NAME=start-s3
. "$(dirname "$0")/svc-lib.sh"

S3_PORT=${S3_PORT:-5000}
S3_DIR=${S3_DIR:-/tmp/dvbackup-s3}
MOTO_VENV=${MOTO_VENV:-/tmp/dvbackup-moto-venv}
S3_REGION=${S3_REGION:-us-east-1}
S3_ENFORCE_AUTH=${S3_ENFORCE_AUTH:-1}
svc_check_dir S3_DIR "$S3_DIR"
svc_check_dir MOTO_VENV "$MOTO_VENV"
svc_check_port S3_PORT "$S3_PORT"
REQS=$(cd "$(dirname "$0")" && pwd)/moto-requirements.txt
MOTO_PIN=5.2.5
EP=http://127.0.0.1:$S3_PORT
PIDS=$S3_DIR/pids
# SHA-256 of the empty body: curl 7.88's --aws-sigv4 does not send x-amz-content-sha256,
# which S3 (and moto with auth enforced) require.
EMPTY_SHA=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855

t0=$(svc_now)
[ -f "$REQS" ] || svc_die "missing $REQS"
[ -x /usr/bin/python3 ] || svc_die "missing /usr/bin/python3"
command -v curl >/dev/null || svc_die "missing curl"

if running=$(svc_running "$PIDS"); then
  svc_die "moto already runs from $S3_DIR ($(echo $running)); stop it first (S3_DIR=$S3_DIR scripts/services/stop-s3.sh)"
fi
svc_refuse_busy_ports S3_PORT="$S3_PORT"

# --- the venv -------------------------------------------------------------------------------
want=$(sha256sum < "$REQS" | cut -c1-64)
venv_ok() {
  [ "$(cat "$MOTO_VENV/.dvbackup-requirements.sha256" 2>/dev/null || true)" = "$want" ] \
    && [ -x "$MOTO_VENV/bin/moto_server" ] \
    && [ "$("$MOTO_VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("moto"))' 2>/dev/null || true)" = "$MOTO_PIN" ]
}
tv0=$(svc_now)
if ! venv_ok; then
  mkdir -p "$(dirname "$MOTO_VENV")"
  exec 8>"$MOTO_VENV.lock"
  flock -w 900 8 || svc_die "could not lock $MOTO_VENV.lock"
  if ! venv_ok; then   # (someone else may have built it while we waited)
    if [ -e "$MOTO_VENV" ] && [ ! -f "$MOTO_VENV/.dvbackup-moto-venv" ]; then
      svc_die "$MOTO_VENV exists but was not made by this script; remove it or set MOTO_VENV"
    fi
    /usr/bin/python3 -c 'import ensurepip' 2>/dev/null \
      || svc_die "python3-venv is missing (apt-get install python3-venv; scripts/install-deps.sh)"
    svc_log "building the moto venv in $MOTO_VENV from $REQS (needs PyPI, ~30 s)"
    rm -rf "$MOTO_VENV"
    /usr/bin/python3 -m venv "$MOTO_VENV"
    touch "$MOTO_VENV/.dvbackup-moto-venv"
    if ! timeout 900 "$MOTO_VENV/bin/pip" install -q --disable-pip-version-check --no-input \
         -r "$REQS" >"$MOTO_VENV/pip.log" 2>&1; then
      tail -n 20 "$MOTO_VENV/pip.log" >&2
      svc_die "pip install -r $REQS failed (log: $MOTO_VENV/pip.log)"
    fi
    echo "$want" > "$MOTO_VENV/.dvbackup-requirements.sha256"
    venv_ok || svc_die "the venv $MOTO_VENV does not hold moto $MOTO_PIN after the install"
  fi
  exec 8>&-
fi
tv1=$(svc_now)
MOTO_VERSION=$("$MOTO_VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("moto"))')

# --- the server -----------------------------------------------------------------------------
svc_fresh_dir "$S3_DIR"
: > "$PIDS"
started_ok=0
on_exit() {
  local rc=$?
  if [ $started_ok != 1 ]; then
    svc_log "failed (exit $rc); stopping what was started; log in $S3_DIR/moto.log"
    [ -s "$S3_DIR/moto.log" ] && tail -n 20 "$S3_DIR/moto.log" >&2
    svc_stop_recorded "$PIDS" 3 >/dev/null || true
  fi
}
trap on_exit EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

# moto keeps everything in memory; nothing is written to disk.
setsid "$MOTO_VENV/bin/moto_server" -H 127.0.0.1 -p "$S3_PORT" </dev/null >"$S3_DIR/moto.log" 2>&1 &
PID=$!
svc_record "$PIDS" moto "$PID" "$MOTO_VENV/bin/moto_server -H 127.0.0.1 -p $S3_PORT"
svc_wait_http "$EP/moto-api/" 60 "$PID" || svc_die "moto_server does not answer $EP/moto-api/"

iam() {  # the IAM query API, while moto still accepts anything
  curl -sf --max-time 20 --aws-sigv4 "aws:amz:$S3_REGION:iam" --user bootstrap:bootstrap "$@" "$EP/"
}
if [ "$S3_ENFORCE_AUTH" = 1 ]; then
  iam -d 'Action=CreateUser&Version=2010-05-08&UserName=backup' >/dev/null
  iam -d 'Action=PutUserPolicy&Version=2010-05-08&UserName=backup&PolicyName=all' \
      --data-urlencode 'PolicyDocument={"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}' >/dev/null
  xml=$(iam -d 'Action=CreateAccessKey&Version=2010-05-08&UserName=backup')
  AK=$(printf '%s' "$xml" | sed -n 's:.*<AccessKeyId>\([^<]*\)</AccessKeyId>.*:\1:p')
  SK=$(printf '%s' "$xml" | sed -n 's:.*<SecretAccessKey>\([^<]*\)</SecretAccessKey>.*:\1:p')
  [ -n "$AK" ] && [ -n "$SK" ] || svc_die "could not create the moto IAM access key"
  curl -sf -o /dev/null --max-time 20 -X POST -H 'Content-Type: text/plain' --data-binary 0 "$EP/moto-api/reset-auth"
else
  AK=AKIDEXAMPLE; SK=secretexample
fi

sig=(--aws-sigv4 "aws:amz:$S3_REGION:s3" --user "$AK:$SK" -H "x-amz-content-sha256: $EMPTY_SHA")
for b in ${S3_BUCKETS:-}; do
  curl -sf -o /dev/null --max-time 20 -X PUT "${sig[@]}" "$EP/$b" || svc_die "could not create bucket $b"
done
# Readiness and proof: a signed ListBuckets works, and (auth enforced) a wrong secret does not.
curl -sf -o /dev/null --max-time 20 "${sig[@]}" "$EP/" || svc_die "a signed ListBuckets failed"
if [ "$S3_ENFORCE_AUTH" = 1 ]; then
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 20 --aws-sigv4 "aws:amz:$S3_REGION:s3" \
           --user "$AK:wrong-secret" -H "x-amz-content-sha256: $EMPTY_SHA" "$EP/")
  [ "$code" = 403 ] || svc_die "a ListBuckets with a wrong secret got HTTP $code, not 403: signatures are not checked"
fi

started_ok=1
t1=$(svc_now)
cat > "$S3_DIR/env" <<EOF
S3_PID=$PID
S3_MOTO_VERSION=$MOTO_VERSION
S3_ENDPOINT=$EP
S3_REGION=$S3_REGION
S3_ACCESS_KEY=$AK
S3_SECRET_KEY=$SK
S3_AUTH_ENFORCED=$S3_ENFORCE_AUTH
S3_DIR=$S3_DIR
S3_VENV_SECONDS=$(svc_seconds "$tv0" "$tv1")
S3_STARTUP_SECONDS=$(svc_seconds "$t0" "$t1")
EOF
cat "$S3_DIR/env"
