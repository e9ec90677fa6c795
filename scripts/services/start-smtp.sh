#!/usr/bin/env bash
# Start dvbackup's SMTP test server: ONE Python process (scripts/services/smtp-sink.py, run by
# Debian's /usr/bin/python3 with python3-aiosmtpd 1.4.3) with several listeners on 127.0.0.1,
# all storing what they accept in $SMTP_DIR/mail as NNNNNN.json (envelope: listener, port,
# mail_from, rcpt_tos, auth_user, tls, host_name = the EHLO name, ...) + NNNNNN.eml (the raw
# DATA), each written to a temporary name and renamed, .json first, .eml last:
#
#   plain     :2525  no TLS, no AUTH
#   starttls  :2587  offers STARTTLS and requires it: MAIL before STARTTLS gets 530
#   smtps     :2465  implicit TLS
#   auth      :2526  AUTH PLAIN and LOGIN, required (MAIL without it: 530; wrong password:
#                    535), offered without TLS too (aiosmtpd's own default would refuse AUTH
#                    on a plain connection: auth_require_tls is turned off)
#   refuse    :2528  answers every RCPT TO with "550 5.7.1 relaying denied"
#   (down)    :2529  nothing listens there: a client sees "connection refused"
#
# TLS (starttls, smtps): a test CA made here with the openssl CLI ($SMTP_DIR/ca.pem, RSA 2048,
# valid 30 days, new on every start) signs the server certificate (CN localhost, SAN
# DNS:localhost and IP:127.0.0.1, serverAuth). A client must trust $SMTP_DIR/ca.pem (and
# nothing else does): without it curl fails with exit 60 (certificate problem).
#
# Proven with the curl CLI (7.88.1) by scripts/services/prove-services.sh (N=1,2,...):
#   curl smtp://127.0.0.1:2525/client.test --mail-from a@b.test --mail-rcpt c@d.test -T msg
#       exit 0, "250 2.0.0 OK stored as 00000N", host_name "client.test", tls false
#   curl --ssl-reqd --cacert ca.pem smtp://127.0.0.1:2587/client.test ...    exit 0, tls true
#   curl smtp://127.0.0.1:2587/client.test ... (no STARTTLS)      exit 55 (530 before MAIL)
#   curl --ssl-reqd smtp://127.0.0.1:2587/... without --cacert    exit 60
#   curl --cacert ca.pem smtps://127.0.0.1:2465/client.test ...  exit 0, tls true
#   curl --user dvbmail:mail-secret-pw smtp://127.0.0.1:2526/client.test ...
#       exit 0, auth_user "dvbmail", auth_mechanism PLAIN (LOGIN with
#       --login-options AUTH=LOGIN); no --user: exit 55 (530); wrong password: exit 67 (535)
#   curl smtp://127.0.0.1:2528/client.test ...    exit 55 ("RCPT failed: 550"), nothing stored
#   curl smtp://127.0.0.1:2529/client.test ...    exit 7 (connection refused)
# Pitfalls: curl uses the URL path as the EHLO name (with -T FILE and no path it sends the
# file's name); send CRLF line ends: a line longer than 1000 bytes (RFC 5321) gets
# "500 Line too long" and so does a long message with bare LF line ends.
#
# Env knobs:
#   SMTP_DIR           (default /tmp/dvbackup-smtp); wiped on start
#   SMTP_PLAIN_PORT (2525) SMTP_STARTTLS_PORT (2587) SMTP_SMTPS_PORT (2465)
#   SMTP_AUTH_PORT (2526) SMTP_REFUSE_PORT (2528) SMTP_DOWN_PORT (2529: must be free)
#   SMTP_AUTH_USER (dvbmail) SMTP_AUTH_PASSWORD (mail-secret-pw)
#   SMTP_MAX_SIZE      SIZE limit in bytes (default 33554432)
# A running instance in SMTP_DIR, or a port in use, is refused.
#
# Prints KEY=value lines: SMTP_PID SMTP_DIR SMTP_MAIL_DIR SMTP_PLAIN_URL SMTP_STARTTLS_URL
# SMTP_SMTPS_URL SMTP_AUTH_URL SMTP_AUTH_USER SMTP_AUTH_PASSWORD SMTP_REFUSE_URL
# SMTP_DOWN_URL SMTP_CA_FILE SMTP_STARTUP_SECONDS. Stop with stop-smtp.sh (same SMTP_DIR).
set -euo pipefail
set +m   # no job control: `setsid cmd &` then execs cmd directly, so $! is the server's pid
SVC_NAME=start-smtp
. "$(dirname "$0")/svc-lib.sh"

SMTP_DIR=${SMTP_DIR:-/tmp/dvbackup-smtp}
SMTP_PLAIN_PORT=${SMTP_PLAIN_PORT:-2525}
SMTP_STARTTLS_PORT=${SMTP_STARTTLS_PORT:-2587}
SMTP_SMTPS_PORT=${SMTP_SMTPS_PORT:-2465}
SMTP_AUTH_PORT=${SMTP_AUTH_PORT:-2526}
SMTP_REFUSE_PORT=${SMTP_REFUSE_PORT:-2528}
SMTP_DOWN_PORT=${SMTP_DOWN_PORT:-2529}
SMTP_AUTH_USER=${SMTP_AUTH_USER:-dvbmail}
SMTP_AUTH_PASSWORD=${SMTP_AUTH_PASSWORD:-mail-secret-pw}
SMTP_MAX_SIZE=${SMTP_MAX_SIZE:-33554432}
svc_check_dir SMTP_DIR "$SMTP_DIR"
for v in SMTP_PLAIN_PORT SMTP_STARTTLS_PORT SMTP_SMTPS_PORT SMTP_AUTH_PORT SMTP_REFUSE_PORT SMTP_DOWN_PORT; do
  svc_check_port "$v" "${!v}"
done
case "$SMTP_MAX_SIZE" in ''|*[!0-9]*) svc_die "SMTP_MAX_SIZE must be a number" ;; esac
PY=/usr/bin/python3   # Debian's python, where python3-aiosmtpd lives (not a pyenv/venv one)
SINK=$(cd "$(dirname "$0")" && pwd)/smtp-sink.py
PIDS=$SMTP_DIR/pids

t0=$(svc_now)
[ -f "$SINK" ] || svc_die "missing $SINK"
$PY -c 'import aiosmtpd' 2>/dev/null || svc_die "python3-aiosmtpd is missing (apt-get install python3-aiosmtpd; scripts/install-deps.sh)"
command -v openssl >/dev/null || svc_die "missing openssl"

if running=$(svc_running "$PIDS"); then
  svc_die "the SMTP sink already runs from $SMTP_DIR ($(echo $running)); stop it first (SMTP_DIR=$SMTP_DIR scripts/services/stop-smtp.sh)"
fi
svc_refuse_busy_ports SMTP_PLAIN_PORT="$SMTP_PLAIN_PORT" SMTP_STARTTLS_PORT="$SMTP_STARTTLS_PORT" \
  SMTP_SMTPS_PORT="$SMTP_SMTPS_PORT" SMTP_AUTH_PORT="$SMTP_AUTH_PORT" \
  SMTP_REFUSE_PORT="$SMTP_REFUSE_PORT" SMTP_DOWN_PORT="$SMTP_DOWN_PORT"

svc_fresh_dir "$SMTP_DIR"
mkdir -p "$SMTP_DIR/mail" "$SMTP_DIR/tls"
chmod 700 "$SMTP_DIR/tls"
: > "$PIDS"
started_ok=0
on_exit() {
  local rc=$?
  if [ $started_ok != 1 ]; then
    svc_log "failed (exit $rc); stopping what was started; log in $SMTP_DIR/server.log"
    [ -s "$SMTP_DIR/server.log" ] && tail -n 20 "$SMTP_DIR/server.log" >&2
    svc_stop_recorded "$PIDS" 3 >/dev/null || true
  fi
}
trap on_exit EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

# --- the test CA and the server certificate --------------------------------------------------
T=$SMTP_DIR/tls
cat > "$T/openssl.cnf" <<'EOF'
[req]
distinguished_name = dn
prompt = no
[dn]
CN = placeholder
[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
ossl() { openssl "$@" >>"$T/openssl.log" 2>&1 || { cat "$T/openssl.log" >&2; svc_die "openssl $1 failed"; }; }
ossl req -config "$T/openssl.cnf" -x509 -newkey rsa:2048 -nodes -days 30 -sha256 \
  -subj "/O=dvbackup tests/CN=dvbackup test SMTP CA" -extensions ca_ext \
  -keyout "$T/ca.key" -out "$SMTP_DIR/ca.pem"
ossl req -config "$T/openssl.cnf" -new -newkey rsa:2048 -nodes -sha256 \
  -subj "/O=dvbackup tests/CN=localhost" -keyout "$T/server.key" -out "$T/server.csr"
ossl x509 -req -in "$T/server.csr" -CA "$SMTP_DIR/ca.pem" -CAkey "$T/ca.key" -set_serial "0x$(openssl rand -hex 8)" \
  -days 30 -sha256 -extfile "$T/openssl.cnf" -extensions server_ext -out "$T/server.pem"
ossl verify -CAfile "$SMTP_DIR/ca.pem" "$T/server.pem"
rm -f "$T/ca.key" "$T/server.csr"   # nothing else is ever signed with this CA

# --- the server -------------------------------------------------------------------------------
CONF=$SMTP_DIR/sink.json
MAILDIR=$SMTP_DIR/mail CERT=$T/server.pem KEY=$T/server.key SMTP_AUTH_USER=$SMTP_AUTH_USER \
SMTP_AUTH_PASSWORD=$SMTP_AUTH_PASSWORD SMTP_MAX_SIZE=$SMTP_MAX_SIZE \
LISTENERS="plain:$SMTP_PLAIN_PORT:plain starttls:$SMTP_STARTTLS_PORT:starttls smtps:$SMTP_SMTPS_PORT:smtps auth:$SMTP_AUTH_PORT:auth refuse:$SMTP_REFUSE_PORT:refuse" \
  $PY - "$CONF" <<'EOF'
import json, os, sys
e = os.environ
json.dump({"maildir": e["MAILDIR"], "cert": e["CERT"], "key": e["KEY"],
           "auth_user": e["SMTP_AUTH_USER"], "auth_password": e["SMTP_AUTH_PASSWORD"],
           "max_size": int(e["SMTP_MAX_SIZE"]),
           "listeners": [dict(zip(("name", "port", "mode"), l.split(":"))) for l in e["LISTENERS"].split()]},
          open(sys.argv[1], "w"), indent=1)
EOF
chmod 600 "$CONF"

setsid $PY "$SINK" "$CONF" </dev/null >"$SMTP_DIR/server.log" 2>&1 &
PID=$!
svc_record "$PIDS" smtp-sink "$PID" "$SINK $CONF"

# Ready when it has said "ready" and every plain-text listener greets with 220.
for i in $(seq 150); do
  grep -qx ready "$SMTP_DIR/server.log" 2>/dev/null && break
  svc_alive "$PID" || svc_die "the SMTP sink died"
  sleep 0.1
done
grep -qx ready "$SMTP_DIR/server.log" || svc_die "the SMTP sink did not come up within 15 s"
for port in "$SMTP_PLAIN_PORT" "$SMTP_STARTTLS_PORT" "$SMTP_AUTH_PORT" "$SMTP_REFUSE_PORT"; do
  banner=$(exec 2>/dev/null; exec 3<>"/dev/tcp/127.0.0.1/$port" && timeout 5 head -n1 <&3 || true)
  case "$banner" in 220*) ;; *) svc_die "no 220 greeting on port $port (got '${banner%$'\r'}')" ;; esac
done
# (QUIT makes the server close the connection, which ends s_client)
banner=$(printf 'QUIT\r\n' | timeout 10 openssl s_client -connect "127.0.0.1:$SMTP_SMTPS_PORT" -CAfile "$SMTP_DIR/ca.pem" \
           -verify_return_error -verify_ip 127.0.0.1 -quiet 2>/dev/null | head -n1 || true)
case "$banner" in 220*) ;; *) svc_die "no verified TLS 220 greeting on port $SMTP_SMTPS_PORT" ;; esac
svc_port_in_use "$SMTP_DOWN_PORT" && svc_die "something listens on SMTP_DOWN_PORT $SMTP_DOWN_PORT"

started_ok=1
t1=$(svc_now)
echo "SMTP_PID=$PID"
echo "SMTP_DIR=$SMTP_DIR"
echo "SMTP_MAIL_DIR=$SMTP_DIR/mail"
echo "SMTP_PLAIN_URL=smtp://127.0.0.1:$SMTP_PLAIN_PORT"
echo "SMTP_STARTTLS_URL=smtp://127.0.0.1:$SMTP_STARTTLS_PORT"
echo "SMTP_SMTPS_URL=smtps://127.0.0.1:$SMTP_SMTPS_PORT"
echo "SMTP_AUTH_URL=smtp://127.0.0.1:$SMTP_AUTH_PORT"
echo "SMTP_AUTH_USER=$SMTP_AUTH_USER"
echo "SMTP_AUTH_PASSWORD=$SMTP_AUTH_PASSWORD"
echo "SMTP_REFUSE_URL=smtp://127.0.0.1:$SMTP_REFUSE_PORT"
echo "SMTP_DOWN_URL=smtp://127.0.0.1:$SMTP_DOWN_PORT"
echo "SMTP_CA_FILE=$SMTP_DIR/ca.pem"
echo "SMTP_STARTUP_SECONDS=$(svc_seconds "$t0" "$t1")"
