#!/usr/bin/env bash
# Prove the running test servers with the curl CLI (and, where the CLI cannot, with Debian's
# libcurl through python ctypes: the project itself uses libcurl). Reads the DVBACKUP_TEST_*
# variables; when DVBACKUP_TEST_SWIFT_AUTH_URL is not set it takes them from
# `bash scripts/test-servers.sh env`. A server whose variables are missing is skipped.
# Prints one line per check and "N passed, N failed"; exits 1 if anything failed.
#
#   eval "$(bash scripts/test-servers.sh up)"; bash scripts/services/prove-services.sh
#
# It leaves data behind in the servers (container/bucket "prove-<pid>", mail files);
# stopping the servers removes it.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ -z "${DVBACKUP_TEST_SWIFT_AUTH_URL:-}${DVBACKUP_TEST_S3_ENDPOINT:-}${DVBACKUP_TEST_SMTP_PLAIN_URL:-}" ]; then
  env_lines=$(bash "$here/../test-servers.sh" env) || { echo "no DVBACKUP_TEST_* variables and no running test servers" >&2; exit 1; }
  eval "$env_lines"
fi
W=$(mktemp -d /tmp/dvbackup-prove.XXXXXX)
trap 'rm -rf "$W"' EXIT
pass=0; fail=0
ok()  { pass=$((pass + 1)); echo "ok   - $*"; }
bad() { fail=$((fail + 1)); echo "FAIL - $*"; }
check() { local d=$1; shift; if "$@"; then ok "$d"; else bad "$d"; fi; }
eq() { [ "$1" = "$2" ] || { echo "       got '$1', want '$2'" >&2; return 1; }; }
hdr() { tr -d '\r' < "$1" | awk -F': ' -v h="$2" 'tolower($1) == tolower(h) { v = substr($0, length($1) + 3) } END { print v }'; }
code() { curl -s -o /dev/null -w '%{http_code}' --max-time 30 "$@"; }
md5() { md5sum < "$1" | cut -c1-32; }
C=prove-$$
head -c 100000 /dev/urandom > "$W/small"; MD5=$(md5 "$W/small")
EMPTY=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855

# sigv4 METHOD URL ACCESS_KEY SECRET [BODY_FILE|- [REGION]]: a SigV4 request through libcurl with
# CURLOPT_USERNAME/PASSWORD set separately (an access key may contain ":", e.g. Swift's
# "test:tester", which the curl CLI's --user cannot express), x-amz-content-sha256 added
# (curl 7.88 does not send it). Prints the HTTP status; the body goes to $W/sigv4.body.
cat > "$W/sigv4.py" <<'EOF'
import ctypes, hashlib, sys
method, url, user, password = sys.argv[1:5]
body = open(sys.argv[5], 'rb').read() if len(sys.argv) > 5 and sys.argv[5] != '-' else b''
region = sys.argv[6] if len(sys.argv) > 6 else 'us-east-1'
lib = ctypes.CDLL('libcurl.so.4')
lib.curl_easy_init.restype = ctypes.c_void_p
lib.curl_slist_append.restype = ctypes.c_void_p
lib.curl_slist_append.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
lib.curl_easy_perform.argtypes = [ctypes.c_void_p]
lib.curl_easy_getinfo.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]
h = lib.curl_easy_init()
def s(opt, val):
    lib.curl_easy_setopt.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p]
    lib.curl_easy_setopt(h, opt, val)
def p(opt, val):
    lib.curl_easy_setopt.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]
    lib.curl_easy_setopt(h, opt, val)
def l(opt, val):
    lib.curl_easy_setopt.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_long]
    lib.curl_easy_setopt(h, opt, val)
s(10002, url.encode())                       # CURLOPT_URL
s(10173, user.encode())                      # CURLOPT_USERNAME
s(10174, password.encode())                  # CURLOPT_PASSWORD
s(10305, ('aws:amz:%s:s3' % region).encode())  # CURLOPT_AWS_SIGV4
s(10036, method.encode())                    # CURLOPT_CUSTOMREQUEST
sl = lib.curl_slist_append(None, ('x-amz-content-sha256: ' + hashlib.sha256(body).hexdigest()).encode())
if body:
    buf = ctypes.create_string_buffer(body, len(body))
    l(60, len(body))                         # CURLOPT_POSTFIELDSIZE
    p(10015, ctypes.cast(buf, ctypes.c_void_p).value)   # CURLOPT_POSTFIELDS
    sl = lib.curl_slist_append(sl, b'Content-Type: application/octet-stream')
if method == 'HEAD':
    l(44, 1)                                 # CURLOPT_NOBODY
p(10023, sl)                                 # CURLOPT_HTTPHEADER
l(13, 30)                                    # CURLOPT_TIMEOUT
out = open(sys.argv[0] + '.body', 'wb')
WRITE = ctypes.CFUNCTYPE(ctypes.c_size_t, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_void_p)
def write(ptr, size, n, _):
    out.write(ctypes.string_at(ptr, size * n)); return size * n
cb = WRITE(write)
p(20011, ctypes.cast(cb, ctypes.c_void_p).value)   # CURLOPT_WRITEFUNCTION
rc = lib.curl_easy_perform(h)
code = ctypes.c_long()
lib.curl_easy_getinfo(h, 0x200002, ctypes.byref(code))   # CURLINFO_RESPONSE_CODE
out.close()
print(code.value if rc == 0 else 'curl-error-%d' % rc)
EOF
sigv4() { /usr/bin/python3 "$W/sigv4.py" "$@"; cp "$W/sigv4.py.body" "$W/sigv4.body" 2>/dev/null; }

# ---------------- Swift, tempauth (auth v1) ----------------
if [ -n "${DVBACKUP_TEST_SWIFT_AUTH_URL:-}" ]; then
  A=(-H "X-Auth-User: $DVBACKUP_TEST_SWIFT_USER" -H "X-Auth-Key: $DVBACKUP_TEST_SWIFT_KEY")
  curl -s -o /dev/null -D "$W/auth" "${A[@]}" "$DVBACKUP_TEST_SWIFT_AUTH_URL"
  TOK=$(hdr "$W/auth" X-Auth-Token); SURL=$(hdr "$W/auth" X-Storage-Url)
  check "swift: auth v1 gives a token and a storage URL ($SURL)" test -n "$TOK" -a -n "$SURL"
  check "swift: token lifetime 24 h (X-Auth-Token-Expires $(hdr "$W/auth" X-Auth-Token-Expires))" test "$(hdr "$W/auth" X-Auth-Token-Expires)" -gt 80000
  check "swift: wrong key -> 401" eq "$(code -H "X-Auth-User: $DVBACKUP_TEST_SWIFT_USER" -H 'X-Auth-Key: wrong' "$DVBACKUP_TEST_SWIFT_AUTH_URL")" 401
  T=(-H "X-Auth-Token: $TOK")
  check "swift: container PUT -> 201" eq "$(code -X PUT "${T[@]}" "$SURL/$C")" 201
  curl -s -o /dev/null -D "$W/put" -T "$W/small" "${T[@]}" "$SURL/$C/dir/small"
  check "swift: object PUT -> Etag = md5 of the body, unquoted" eq "$(hdr "$W/put" Etag)" "$MD5"
  check "swift: PUT with a wrong ETag -> 422" eq "$(code -T "$W/small" -H 'ETag: 0123456789abcdef0123456789abcdef' "${T[@]}" "$SURL/$C/x")" 422
  check "swift: GET body md5" eq "$(curl -s "${T[@]}" "$SURL/$C/dir/small" | md5sum | cut -c1-32)" "$MD5"
  check "swift: Range GET -> 206, 10 bytes" eq "$(curl -s -o "$W/r" -w '%{http_code}' -r 10-19 "${T[@]}" "$SURL/$C/dir/small")/$(stat -c %s "$W/r")" 206/10
  check "swift: bad token -> 401" eq "$(code -H 'X-Auth-Token: AUTH_tkbogus' "$SURL/$C")" 401
  # SLO by hand: 25 tiny segments (min_segment_size is 1), no GET rate limit
  code -X PUT "${T[@]}" "$SURL/${C}_segments" >/dev/null
  head -c 24100 /dev/urandom > "$W/big"; split -b 1000 -d -a 3 "$W/big" "$W/seg."
  m='['; sep=''; cat=''
  for s in "$W"/seg.*; do
    sm=$(md5 "$s"); n=$(stat -c %s "$s"); name=big/$(basename "$s")
    curl -s -o /dev/null -T "$s" -H "ETag: $sm" "${T[@]}" "$SURL/${C}_segments/$name"
    m="$m$sep{\"path\":\"/${C}_segments/$name\",\"etag\":\"$sm\",\"size_bytes\":$n}"; sep=','; cat="$cat$sm"
  done
  m="$m]"; SLO=$(printf '%s' "$cat" | md5sum | cut -c1-32)
  printf '%s' "$m" | curl -s -o /dev/null -D "$W/mput" -X PUT --data-binary @- -H 'Content-Type: application/octet-stream' \
    -H "ETag: $SLO" "${T[@]}" "$SURL/$C/big?multipart-manifest=put"
  check "swift: SLO manifest PUT (25 segments of <= 1000 bytes) -> Etag \"md5(concatenated segment md5s)\", quoted" eq "$(hdr "$W/mput" Etag)" "\"$SLO\""
  t0=$(date +%s%N)
  got=$(curl -s "${T[@]}" "$SURL/$C/big" | md5sum | cut -c1-32)
  ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  check "swift: SLO GET body md5 = file md5" eq "$got" "$(md5 "$W/big")"
  check "swift: SLO GET of 25 small segments not rate-limited (${ms} ms < 5000)" test "$ms" -lt 5000
  curl -s -I -o /dev/null -D "$W/head" "${T[@]}" "$SURL/$C/big"
  check "swift: SLO HEAD: X-Static-Large-Object True, same quoted Etag" eq "$(hdr "$W/head" X-Static-Large-Object)/$(hdr "$W/head" Etag)" "True/\"$SLO\""
  if head -n1 /usr/bin/swift 2>/dev/null | grep -q python; then
    head -c 3000000 /dev/urandom > "$W/three"
    /usr/bin/swift -q -A "$DVBACKUP_TEST_SWIFT_AUTH_URL" -U "$DVBACKUP_TEST_SWIFT_USER" -K "$DVBACKUP_TEST_SWIFT_KEY" \
      upload --use-slo -S 1048576 "$C" "$W/three" --object-name three
    exp=$(for i in 0 1 2; do dd if="$W/three" bs=1048576 skip=$i count=1 2>/dev/null | md5sum | cut -c1-32; done | tr -d '\n' | md5sum | cut -c1-32)
    curl -s -I -o /dev/null -D "$W/h3" "${T[@]}" "$SURL/$C/three"
    check "swift: python-swiftclient upload --use-slo -> the same SLO Etag rule" eq "$(hdr "$W/h3" Etag)" "\"$exp\""
  fi
  # s3api on the same proxy (access key "test:tester": the curl CLI cannot, libcurl can)
  if [ -n "${DVBACKUP_TEST_SWIFT_S3_ENDPOINT:-}" ]; then
    SE=$DVBACKUP_TEST_SWIFT_S3_ENDPOINT; SAK=$DVBACKUP_TEST_SWIFT_S3_ACCESS_KEY; SSK=$DVBACKUP_TEST_SWIFT_S3_SECRET_KEY
    check "swift s3api: signed GET of the object PUT through Swift -> 200" eq "$(sigv4 GET "$SE/$C/dir/small" "$SAK" "$SSK")" 200
    check "swift s3api: body md5" eq "$(md5 "$W/sigv4.body")" "$MD5"
    check "swift s3api: PUT through S3 -> 200" eq "$(sigv4 PUT "$SE/$C/via-s3" "$SAK" "$SSK" "$W/small")" 200
    check "swift s3api: ... and Swift serves it" eq "$(curl -s "${T[@]}" "$SURL/$C/via-s3" | md5sum | cut -c1-32)" "$MD5"
    check "swift s3api: ListObjectsV2 with prefix=dir%2F (canonical query) -> 200" eq "$(sigv4 GET "$SE/$C?list-type=2&prefix=dir%2F" "$SAK" "$SSK")" 200
    check "swift s3api: ... lists dir/small" grep -q '<Key>dir/small</Key>' "$W/sigv4.body"
    check "swift s3api: wrong secret -> 403" eq "$(sigv4 GET "$SE/$C/dir/small" "$SAK" wrong-secret)" 403
  fi
fi

# ---------------- Swift, short-lived tokens ----------------
if [ -n "${DVBACKUP_TEST_SWIFT_SHORT_TOKEN_AUTH_URL:-}" ]; then
  U=$DVBACKUP_TEST_SWIFT_SHORT_TOKEN_AUTH_URL
  curl -s -o /dev/null -D "$W/sa" "${A[@]}" "$U"
  ST=$(hdr "$W/sa" X-Auth-Token); SS=$(hdr "$W/sa" X-Storage-Url); SX=$(hdr "$W/sa" X-Auth-Token-Expires)
  check "swift short: token ${ST:0:8}... lives ${SX}s (<= ${DVBACKUP_TEST_SWIFT_SHORT_TOKEN_LIFE:-3}), storage URL $SS" \
    test -n "$ST" -a "${SX:-99}" -le "${DVBACKUP_TEST_SWIFT_SHORT_TOKEN_LIFE:-3}"
  check "swift short: container PUT with it -> 201" eq "$(code -X PUT -H "X-Auth-Token: $ST" "$SS/$C")" 201
  check "swift short: the long-lived :8080 token is not valid here -> 401" eq "$(code -H "X-Auth-Token: $TOK" "$SS/$C")" 401
  sleep $(( ${DVBACKUP_TEST_SWIFT_SHORT_TOKEN_LIFE:-3} + 1 ))
  check "swift short: after it expired -> 401" eq "$(code -H "X-Auth-Token: $ST" "$SS/$C")" 401
  curl -s -o /dev/null -D "$W/sa2" "${A[@]}" "$U"
  ST2=$(hdr "$W/sa2" X-Auth-Token)
  check "swift short: re-auth gives a new token that works" eq "$( [ "$ST2" != "$ST" ] && code -H "X-Auth-Token: $ST2" "$SS/$C")" 204
fi

# ---------------- Keystone v3 + Swift behind it ----------------
if [ -n "${DVBACKUP_TEST_KEYSTONE_AUTH_URL:-}" ]; then
  K=$DVBACKUP_TEST_KEYSTONE_AUTH_URL
  body=$(printf '{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"%s","domain":{"name":"%s"},"password":"%s"}}},"scope":{"project":{"name":"%s","domain":{"name":"%s"}}}}}' \
    "$DVBACKUP_TEST_KEYSTONE_USER" "$DVBACKUP_TEST_KEYSTONE_USER_DOMAIN" "$DVBACKUP_TEST_KEYSTONE_PASSWORD" \
    "$DVBACKUP_TEST_KEYSTONE_PROJECT" "$DVBACKUP_TEST_KEYSTONE_PROJECT_DOMAIN")
  check "keystone: POST /v3/auth/tokens (domain names) -> 201" eq "$(curl -s -o "$W/ks.json" -D "$W/ksh" -w '%{http_code}' -H 'Content-Type: application/json' --data-binary "$body" "$K/auth/tokens")" 201
  KTOK=$(hdr "$W/ksh" X-Subject-Token)
  KURL=$(/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))["token"]; print([e["url"] for s in d["catalog"] if s["type"]=="object-store" for e in s["endpoints"] if e["interface"]=="public" and e["region_id"]==sys.argv[2]][0])' "$W/ks.json" "$DVBACKUP_TEST_KEYSTONE_REGION" 2>/dev/null)
  check "keystone: catalog has object-store/public/$DVBACKUP_TEST_KEYSTONE_REGION = $KURL" eq "${KURL%AUTH_*}AUTH_" "${DVBACKUP_TEST_KEYSTONE_SWIFT_URL_PREFIX:-${KURL%AUTH_*}AUTH_}"
  check "keystone: wrong password -> 401" eq "$(code -H 'Content-Type: application/json' --data-binary "${body/\"$DVBACKUP_TEST_KEYSTONE_PASSWORD\"/\"wrong\"}" "$K/auth/tokens")" 401
  KT=(-H "X-Auth-Token: $KTOK")
  check "keystone swift: container PUT -> 201" eq "$(code -X PUT "${KT[@]}" "$KURL/$C")" 201
  curl -s -o /dev/null -D "$W/kput" -T "$W/small" "${KT[@]}" "$KURL/$C/small"
  check "keystone swift: PUT Etag = md5" eq "$(hdr "$W/kput" Etag)" "$MD5"
  check "keystone swift: GET body md5" eq "$(curl -s "${KT[@]}" "$KURL/$C/small" | md5sum | cut -c1-32)" "$MD5"
  check "keystone swift: bad token -> 401" eq "$(code -H 'X-Auth-Token: bogus' "$KURL/$C")" 401
fi

# ---------------- S3 (moto) ----------------
if [ -n "${DVBACKUP_TEST_S3_ENDPOINT:-}" ]; then
  E=$DVBACKUP_TEST_S3_ENDPOINT
  sig=(--aws-sigv4 "aws:amz:$DVBACKUP_TEST_S3_REGION:s3" --user "$DVBACKUP_TEST_S3_ACCESS_KEY:$DVBACKUP_TEST_S3_SECRET_KEY")
  check "s3: create bucket -> 200" eq "$(code -X PUT "${sig[@]}" -H "x-amz-content-sha256: $EMPTY" "$E/$C")" 200
  curl -s -o /dev/null -D "$W/s3put" -T "$W/small" "${sig[@]}" -H "x-amz-content-sha256: $(sha256sum < "$W/small" | cut -c1-64)" "$E/$C/dir/small"
  check "s3: PUT -> ETag = md5, in double quotes" eq "$(hdr "$W/s3put" ETag)" "\"$MD5\""
  check "s3: GET body md5" eq "$(curl -s "${sig[@]}" -H "x-amz-content-sha256: $EMPTY" "$E/$C/dir/small" | md5sum | cut -c1-32)" "$MD5"
  check "s3: Range GET -> 206, 10 bytes" eq "$(curl -s -o "$W/r" -w '%{http_code}' -r 10-19 "${sig[@]}" -H "x-amz-content-sha256: $EMPTY" "$E/$C/dir/small")/$(stat -c %s "$W/r")" 206/10
  check "s3: ListObjectsV2 prefix=dir%2F -> 200" eq "$(curl -s -o "$W/list" -w '%{http_code}' "${sig[@]}" -H "x-amz-content-sha256: $EMPTY" "$E/$C?list-type=2&prefix=dir%2F")" 200
  check "s3: ... lists dir/small" grep -q '<Key>dir/small</Key>' "$W/list"
  check "s3: wrong secret -> 403" eq "$(code --aws-sigv4 "aws:amz:$DVBACKUP_TEST_S3_REGION:s3" --user "$DVBACKUP_TEST_S3_ACCESS_KEY:wrong" -H "x-amz-content-sha256: $EMPTY" "$E/$C/dir/small")" 403
  check "s3: unsigned GET -> 403" eq "$(code "$E/$C/dir/small")" 403
  check "s3: libcurl SigV4 (separate user/password) GET -> 200" eq "$(sigv4 GET "$E/$C/dir/small" "$DVBACKUP_TEST_S3_ACCESS_KEY" "$DVBACKUP_TEST_S3_SECRET_KEY" - "$DVBACKUP_TEST_S3_REGION")" 200
fi

# ---------------- SMTP ----------------
if [ -n "${DVBACKUP_TEST_SMTP_PLAIN_URL:-}" ]; then
  MD=$DVBACKUP_TEST_SMTP_MAIL_DIR; CA=$DVBACKUP_TEST_SMTP_CA_FILE
  printf 'From: a@b.test\r\nTo: c@d.test\r\nSubject: prove\r\n\r\n.a line with a leading dot\r\nbody\r\n' > "$W/msg"
  send() { timeout 30 curl -sS "$@" --mail-from a@b.test --mail-rcpt c@d.test -T "$W/msg" >/dev/null 2>"$W/smtp.err"; echo $?; }
  count() { ls "$MD" 2>/dev/null | grep -c '\.eml$'; }
  last_json() { ls "$MD"/*.json 2>/dev/null | tail -n1; }
  field() { /usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$(last_json)" "$1"; }
  n0=$(count)
  check "smtp plain: curl exit 0" eq "$(send "$DVBACKUP_TEST_SMTP_PLAIN_URL/client.test")" 0
  check "smtp plain: stored (.eml identical to what was sent), listener/tls/EHLO recorded" \
    eq "$(count)/$(cmp -s "$W/msg" "$MD/$(printf '%06d' $((n0 + 1))).eml" && echo same)/$(field listener)/$(field tls)/$(field host_name)" "$((n0 + 1))/same/plain/False/client.test"
  check "smtp starttls: --ssl-reqd --cacert CA -> exit 0, tls recorded" eq "$(send --ssl-reqd --cacert "$CA" "$DVBACKUP_TEST_SMTP_STARTTLS_URL/client.test")/$(field listener)/$(field tls)" "0/starttls/True"
  check "smtp starttls: without STARTTLS -> exit 55 (530 before MAIL)" eq "$(send "$DVBACKUP_TEST_SMTP_STARTTLS_URL/client.test")" 55
  check "smtp starttls: without the test CA -> exit 60" eq "$(send --ssl-reqd "$DVBACKUP_TEST_SMTP_STARTTLS_URL/client.test")" 60
  check "smtp smtps: --cacert CA -> exit 0, tls recorded" eq "$(send --cacert "$CA" "$DVBACKUP_TEST_SMTP_SMTPS_URL/client.test")/$(field listener)/$(field tls)" "0/smtps/True"
  check "smtp auth: AUTH PLAIN -> exit 0, auth_user recorded" eq "$(send --user "$DVBACKUP_TEST_SMTP_AUTH_USER:$DVBACKUP_TEST_SMTP_AUTH_PASSWORD" "$DVBACKUP_TEST_SMTP_AUTH_URL/client.test")/$(field auth_user)/$(field auth_mechanism)" "0/$DVBACKUP_TEST_SMTP_AUTH_USER/PLAIN"
  check "smtp auth: AUTH LOGIN -> exit 0" eq "$(send --user "$DVBACKUP_TEST_SMTP_AUTH_USER:$DVBACKUP_TEST_SMTP_AUTH_PASSWORD" --login-options AUTH=LOGIN "$DVBACKUP_TEST_SMTP_AUTH_URL/client.test")/$(field auth_mechanism)" "0/LOGIN"
  check "smtp auth: no AUTH -> exit 55 (530)" eq "$(send "$DVBACKUP_TEST_SMTP_AUTH_URL/client.test")" 55
  check "smtp auth: wrong password -> exit 67 (535)" eq "$(send --user "$DVBACKUP_TEST_SMTP_AUTH_USER:wrong" "$DVBACKUP_TEST_SMTP_AUTH_URL/client.test")" 67
  n1=$(count)
  check "smtp refuse: -> exit 55 (RCPT failed: 550)" eq "$(send "$DVBACKUP_TEST_SMTP_REFUSE_URL/client.test")/$(grep -o 'RCPT failed: 550' "$W/smtp.err")" "55/RCPT failed: 550"
  check "smtp refuse: nothing stored" eq "$(count)" "$n1"
  check "smtp down: -> exit 7 (connection refused)" eq "$(send "$DVBACKUP_TEST_SMTP_DOWN_URL/client.test")" 7
fi

# ---------------- PostgreSQL and the SFTP server (when started with the rest) ----------------
if [ -n "${DVBACKUP_TEST_PGPORT:-}" ] && [ -n "${DVBACKUP_TEST_PGPASSWORD:-}" ]; then
  check "postgres: password login to dvndb" eq "$(PGPASSWORD=$DVBACKUP_TEST_PGPASSWORD psql -X -At -h 127.0.0.1 -p "$DVBACKUP_TEST_PGPORT" -U "$DVBACKUP_TEST_PGUSER" -d dvndb -c 'select 1' 2>&1)" 1
fi
if [ -n "${DVBACKUP_TEST_SSH_PORT:-}" ] && [ -n "${DVBACKUP_TEST_SSH_KEY:-}" ]; then
  check "sshd: key login of $DVBACKUP_TEST_SSH_USER against known_hosts" timeout 20 ssh -F /dev/null -o BatchMode=yes -o IdentitiesOnly=yes \
    -o IdentityAgent=none -o UserKnownHostsFile="$DVBACKUP_TEST_SSH_KNOWN_HOSTS" -o GlobalKnownHostsFile=/dev/null \
    -o StrictHostKeyChecking=yes -i "$DVBACKUP_TEST_SSH_KEY" -p "$DVBACKUP_TEST_SSH_PORT" "$DVBACKUP_TEST_SSH_USER@127.0.0.1" true
fi

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
