#!/usr/bin/env bash
# Start dvbackup's own OpenSSH server for the SFTP tests and benchmarks: a real sshd on
# 127.0.0.1 (never port 22, never the system service), key-only, `Subsystem sftp
# internal-sftp`, logging to a file (-E; there is no syslog), with three test accounts:
#
#   dvbsftp    a normal account (login shell /bin/bash); uploads go to ~dvbsftp/backup
#   dvbchroot  `ChrootDirectory $SSHD_CHROOT` + `ForceCommand internal-sftp -P
#              posix-rename,limits`: SFTP only, no command execution ("This service allows
#              sftp connections only.", exit 1), and without posix-rename@openssh.com or
#              limits@openssh.com (neither announced nor allowed);
#              uploads go to /backup (= $SSHD_CHROOT/backup on this machine)
#   dvbliar    SFTP works normally, but md5sum, sha1sum, sha256sum and sha512sum run over
#              an SSH exec channel LIE: each digest they print has its first hex digit
#              changed (same format, `<hex>  <path>`, exit 0). Its ForceCommand puts fake
#              tools first in PATH and runs the client's command with /bin/sh -c, so
#              `md5sum f`, `sh -c 'md5sum "a b"'`, `env sha1sum f` all lie; only an
#              absolute path (/usr/bin/md5sum) reaches the real tool. Uploads go to
#              ~dvbliar/backup.
#
# Each account logs in with any of three client keys (all authorized for all three):
# client_ed25519 (OpenSSH format, no passphrase), client_ed25519_pass (OpenSSH format,
# passphrase "correct horse battery"), client_rsa (RSA 3072, PEM "BEGIN RSA PRIVATE KEY",
# no passphrase). libssh2 1.10 (Debian 12) signs RSA user authentication with "ssh-rsa"
# (SHA-1) only, which OpenSSH >= 8.8 refuses by default ("signature algorithm ssh-rsa not in
# PubkeyAcceptedAlgorithms"): this server accepts it (PubkeyAcceptedAlgorithms +ssh-rsa)
# unless SSHD_ACCEPT_SSH_RSA=0, which gives a stock server's behaviour.
#
# State in $SSHD_DIR: host key, a second unrelated ed25519 key (for known_hosts_changed),
# client keys, sshd_config, the liar's tools, sshd.log. If SSHD_DIR already holds them (a
# restart in the middle of a test: stop-sshd.sh with SSHD_KEEP=1, then this script), they
# are reused, so the host key and the client keys stay the same. The accounts, their
# backup directories and the chroot stay across stops (files uploaded there are never
# deleted by these scripts). The authorized keys of an instance live in
# ~/.ssh/dvbackup-sshd-<port>.authorized_keys of each account, so that instances on
# different ports (the tests, a benchmark) can run at the same time.
#
# Needs root (accounts, sshd) and openssh-server + openssh-sftp-server
# (scripts/install-deps.sh installs them).
#
# Env knobs:
#   SSHD_PORT      (default 2222; 22 is refused; a port in use is refused)
#   SSHD_DIR       (default /tmp/dvbackup-sshd) state directory, an absolute path of
#                  [A-Za-z0-9._/-] that the test accounts can traverse
#   SSHD_CHROOT    (default /srv/dvbchroot) dvbchroot's chroot: created root-owned 0755 (as
#                  OpenSSH requires of every component of the path), with a writable backup/
#   SSHD_LOGLEVEL  (default INFO; DEBUG1 shows the negotiated cipher in sshd.log)
#   SSHD_ACCEPT_SSH_RSA  (default 1) 0 = refuse RSA signatures with SHA-1, as stock sshd 9.x
#
# Prints KEY=value lines (split at the first "="; SSH_KEY_PASSPHRASE contains spaces):
#   SSHD_PID SSHD_PORT SSHD_DIR SSH_USER SSH_BACKUP_DIR SSH_CHROOT_USER
#   SSH_CHROOT_BACKUP_DIR (/backup) SSH_CHROOT_DIR (where the chroot is on this machine)
#   SSH_LIAR_USER SSH_LIAR_BACKUP_DIR SSH_KEY SSH_KEY_PASS
#   SSH_KEY_PASSPHRASE SSH_KEY_RSA SSH_KNOWN_HOSTS SSH_KNOWN_HOSTS_HASHED
#   SSH_KNOWN_HOSTS_CHANGED SSH_HOST_FINGERPRINT SSHD_STARTUP_SECONDS
# only after the port answers and a BatchMode ssh login of dvbsftp checked against
# known_hosts has worked. Stop with stop-sshd.sh (same SSHD_DIR).
set -euo pipefail
set +m
trap 'echo "$0: failed at line $LINENO" >&2' ERR

SSHD_PORT=${SSHD_PORT:-2222}
SSHD_DIR=${SSHD_DIR:-/tmp/dvbackup-sshd}
SSHD_CHROOT=${SSHD_CHROOT:-/srv/dvbchroot}
SSHD_LOGLEVEL=${SSHD_LOGLEVEL:-INFO}
SSHD_ACCEPT_SSH_RSA=${SSHD_ACCEPT_SSH_RSA:-1}
SSHD=/usr/sbin/sshd                    # sshd refuses to re-exec unless started by absolute path
SFTP_SERVER=/usr/lib/openssh/sftp-server
USER_SFTP=dvbsftp
USER_CHROOT=dvbchroot
USER_LIAR=dvbliar
PASSPHRASE='correct horse battery'

die() { echo "start-sshd: $*" >&2; exit 1; }

case "$SSHD_PORT" in
  ''|*[!0-9]*) die "SSHD_PORT must be a number (got '$SSHD_PORT')" ;;
esac
[ "$SSHD_PORT" -ge 1 ] && [ "$SSHD_PORT" -le 65535 ] || die "SSHD_PORT out of range: $SSHD_PORT"
[ "$SSHD_PORT" != 22 ] || die "refusing port 22: that is the system sshd's port; use another SSHD_PORT"
for v in SSHD_DIR SSHD_CHROOT; do
  case "${!v}" in
    /*) ;;
    *) die "$v must be an absolute path (got '${!v}')" ;;
  esac
  case "${!v}" in
    *[!A-Za-z0-9._/-]*) die "$v may only contain A-Z a-z 0-9 . _ / - (it goes into sshd_config): '${!v}'" ;;
  esac
done
[ "$SSHD_DIR" != / ] && [ "$SSHD_CHROOT" != / ] || die "SSHD_DIR and SSHD_CHROOT must not be /"
[ "$(id -u)" = 0 ] || die "must run as root (it creates accounts and starts sshd)"
[ -x "$SSHD" ] || die "$SSHD not found: apt-get install openssh-server (scripts/install-deps.sh)"
[ -x "$SFTP_SERVER" ] || die "$SFTP_SERVER not found: apt-get install openssh-sftp-server"
for c in ssh ssh-keygen useradd usermod getent runuser; do
  command -v "$c" >/dev/null 2>&1 || die "$c not found"
done

t0=$(date +%s%N)

# Refuse (without touching it) an instance that already runs in SSHD_DIR, and a busy port.
if [ -f "$SSHD_DIR/sshd.pid" ]; then
  p=$(cat "$SSHD_DIR/sshd.pid" 2>/dev/null || true)
  if [ -n "$p" ] && kill -0 "$p" 2>/dev/null && [ "$(awk '{ print $3 }' "/proc/$p/stat" 2>/dev/null)" != Z ]; then
    die "an sshd already runs from $SSHD_DIR (pid $p); stop it first (SSHD_DIR=$SSHD_DIR scripts/services/stop-sshd.sh)"
  fi
fi
if (exec 3<>"/dev/tcp/127.0.0.1/$SSHD_PORT") 2>/dev/null; then
  die "port $SSHD_PORT on 127.0.0.1 is already in use; set SSHD_PORT to a free port"
fi

# --- state directory and keys (reused when present) --------------------------------------
mkdir -p "$SSHD_DIR"
chown root:root "$SSHD_DIR"
chmod 0755 "$SSHD_DIR"        # the liar's ForceCommand lives here: the accounts must traverse it
# newkey FILE TYPE-ARGS...: generate FILE(.pub) unless both exist
newkey() {
  local f=$1; shift
  if [ -f "$f" ] && [ -f "$f.pub" ]; then return 0; fi
  rm -f "$f" "$f.pub"
  ssh-keygen -q "$@" -f "$f" </dev/null >/dev/null
}
newkey "$SSHD_DIR/ssh_host_ed25519_key"   -t ed25519 -N '' -C dvbackup-test-host
newkey "$SSHD_DIR/other_host_ed25519_key" -t ed25519 -N '' -C dvbackup-test-unrelated-host
newkey "$SSHD_DIR/client_ed25519"         -t ed25519 -N '' -C dvbackup-test-client
newkey "$SSHD_DIR/client_ed25519_pass"    -t ed25519 -N "$PASSPHRASE" -C dvbackup-test-client-pass
newkey "$SSHD_DIR/client_rsa"             -t rsa -b 3072 -m PEM -N '' -C dvbackup-test-client-rsa
chmod 0600 "$SSHD_DIR"/ssh_host_ed25519_key "$SSHD_DIR"/other_host_ed25519_key \
           "$SSHD_DIR"/client_ed25519 "$SSHD_DIR"/client_ed25519_pass "$SSHD_DIR"/client_rsa

# known_hosts files: rewritten only when their content would change (a new port), so that a
# restart on the same port leaves them byte for byte as they were (the hashed one included).
host_pub=$(cut -d' ' -f1,2 "$SSHD_DIR/ssh_host_ed25519_key.pub")
other_pub=$(cut -d' ' -f1,2 "$SSHD_DIR/other_host_ed25519_key.pub")
kh_line="[127.0.0.1]:$SSHD_PORT $host_pub"
if [ "$(cat "$SSHD_DIR/known_hosts" 2>/dev/null || true)" != "$kh_line" ] \
   || [ ! -s "$SSHD_DIR/known_hosts_hashed" ] || [ ! -s "$SSHD_DIR/known_hosts_changed" ]; then
  printf '%s\n' "$kh_line" > "$SSHD_DIR/known_hosts"
  printf '%s\n' "[127.0.0.1]:$SSHD_PORT $other_pub" > "$SSHD_DIR/known_hosts_changed"
  cp "$SSHD_DIR/known_hosts" "$SSHD_DIR/known_hosts_hashed"
  ssh-keygen -q -H -f "$SSHD_DIR/known_hosts_hashed" >/dev/null 2>&1
  rm -f "$SSHD_DIR/known_hosts_hashed.old"
  grep -q '^|1|' "$SSHD_DIR/known_hosts_hashed" || die "ssh-keygen -H did not hash $SSHD_DIR/known_hosts_hashed"
fi
chmod 0644 "$SSHD_DIR"/known_hosts "$SSHD_DIR"/known_hosts_hashed "$SSHD_DIR"/known_hosts_changed
fingerprint=$(ssh-keygen -l -E sha256 -f "$SSHD_DIR/ssh_host_ed25519_key.pub" | awk '{ print $2 }')
case "$fingerprint" in SHA256:*) ;; *) die "could not read the host key fingerprint" ;; esac

# --- the liar's tools: the real digest with its first hex digit changed -------------------
install -d -o root -g root -m 0755 "$SSHD_DIR/liar" "$SSHD_DIR/liar/bin"
cat > "$SSHD_DIR/liar/lying-digest" <<'EOF'
#!/bin/sh
# dvbackup test sshd: a LYING checksum tool (account dvbliar only). Runs the real
# /usr/bin/<name it was called by> and changes the first hex digit of every digest it prints
# (0->1, ..., e->f, f->0), in both the coreutils format "<hex>  <path>" ("\<hex>  <path>"
# for escaped names) and the --tag format "MD5 (<path>) = <hex>". Exit status: the real one.
real=/usr/bin/${0##*/}
out=$("$real" "$@")
rc=$?
if [ -n "$out" ]; then
  printf '%s\n' "$out" | awk '
    function flip(c,   p) { p = index("0123456789abcdef", c); return p ? substr("123456789abcdef0", p, 1) : c }
    /^\\?[0-9a-f]+ [ *]/ { i = (substr($0, 1, 1) == "\\") ? 2 : 1
                           print substr($0, 1, i - 1) flip(substr($0, i, 1)) substr($0, i + 1); next }
    / = [0-9a-f]+$/      { j = match($0, / = [0-9a-f]+$/) + 3
                           print substr($0, 1, j - 1) flip(substr($0, j, 1)) substr($0, j + 1); next }
    { print }'
fi
exit $rc
EOF
chmod 0755 "$SSHD_DIR/liar/lying-digest"
for t in md5sum sha1sum sha256sum sha512sum; do
  ln -sfn ../lying-digest "$SSHD_DIR/liar/bin/$t"
done
cat > "$SSHD_DIR/liar/force-command" <<EOF
#!/bin/sh
# dvbackup test sshd: ForceCommand of the account $USER_LIAR. The sftp subsystem gets the real
# SFTP server; every other command runs as usual, but with the lying checksum tools first in
# PATH (sshd puts the client's command into SSH_ORIGINAL_COMMAND).
PATH=$SSHD_DIR/liar/bin:/usr/local/bin:/usr/bin:/bin
export PATH
case "\${SSH_ORIGINAL_COMMAND-}" in
  internal-sftp|"internal-sftp "*|$SFTP_SERVER|"$SFTP_SERVER "*) exec $SFTP_SERVER ;;
  '') exec /bin/bash -l ;;
esac
exec /bin/sh -c "\$SSH_ORIGINAL_COMMAND"
EOF
chmod 0755 "$SSHD_DIR/liar/force-command"

# --- accounts -------------------------------------------------------------------------------
# One start at a time creates accounts (a test run and a benchmark may start together).
lockdir=/run/lock
[ -d "$lockdir" ] && [ -w "$lockdir" ] || lockdir=/tmp
exec 9>"$lockdir/dvbackup-sshd-accounts.lock"
if command -v flock >/dev/null 2>&1; then flock -w 60 9 || die "could not lock $lockdir/dvbackup-sshd-accounts.lock"; fi
authorized=$(cat "$SSHD_DIR/client_ed25519.pub" "$SSHD_DIR/client_ed25519_pass.pub" "$SSHD_DIR/client_rsa.pub")
keys_name=dvbackup-sshd-$SSHD_PORT.authorized_keys
# ensure_account NAME: key-only account with /bin/bash and a home under /home; prints the home
ensure_account() {
  local u=$1 home
  if ! getent passwd "$u" >/dev/null; then
    useradd --create-home --home-dir "/home/$u" --shell /bin/bash --user-group "$u" >&2
  fi
  # useradd leaves the password field "!" (locked); with UsePAM no, sshd refuses a locked
  # account even for public-key logins. "*" = no password, not locked.
  usermod -p '*' -s /bin/bash "$u" >&2
  home=$(getent passwd "$u" | cut -d: -f6)
  [ -d "$home" ] || install -d -o "$u" -g "$(id -gn "$u")" -m 0755 "$home"
  # StrictModes: home and ~/.ssh not group/world writable, owned by the user (or root)
  chmod go-w "$home"
  install -d -o "$u" -g "$(id -gn "$u")" -m 0700 "$home/.ssh"
  printf '%s\n' "$authorized" > "$home/.ssh/$keys_name.tmp"
  chown "$u:$(id -gn "$u")" "$home/.ssh/$keys_name.tmp"
  chmod 0600 "$home/.ssh/$keys_name.tmp"
  mv -f "$home/.ssh/$keys_name.tmp" "$home/.ssh/$keys_name"
  echo "$home"
}
home_sftp=$(ensure_account "$USER_SFTP")
home_chroot=$(ensure_account "$USER_CHROOT")
home_liar=$(ensure_account "$USER_LIAR")
install -d -o "$USER_SFTP" -g "$(id -gn "$USER_SFTP")" -m 0755 "$home_sftp/backup"
install -d -o "$USER_LIAR" -g "$(id -gn "$USER_LIAR")" -m 0755 "$home_liar/backup"
# ChrootDirectory: every component of the path root-owned and not group/world writable.
install -d -o root -g root -m 0755 "$SSHD_CHROOT"
chown root:root "$SSHD_CHROOT"; chmod 0755 "$SSHD_CHROOT"
d=$SSHD_CHROOT
while [ "$d" != / ]; do
  [ "$(stat -c %u "$d")" = 0 ] && [ $(( 0$(stat -c %a "$d") & 022 )) = 0 ] \
    || die "ChrootDirectory $SSHD_CHROOT: $d must be owned by root and not group/world writable"
  d=$(dirname "$d")
done
install -d -o "$USER_CHROOT" -g "$(id -gn "$USER_CHROOT")" -m 0755 "$SSHD_CHROOT/backup"
exec 9>&-
runuser -u "$USER_LIAR" -- test -x "$SSHD_DIR/liar/force-command" \
  || die "$USER_LIAR cannot run $SSHD_DIR/liar/force-command: every directory above SSHD_DIR must be traversable by others"

# --- sshd_config ------------------------------------------------------------------------------
rsa_line="# PubkeyAcceptedAlgorithms: the default (no ssh-rsa; SSHD_ACCEPT_SSH_RSA=0)"
if [ "$SSHD_ACCEPT_SSH_RSA" = 1 ]; then
  rsa_line="PubkeyAcceptedAlgorithms +ssh-rsa"
fi
cat > "$SSHD_DIR/sshd_config.tmp" <<EOF
# dvbackup test sshd (scripts/services/start-sshd.sh): loopback only, key-only, 3 accounts
Port $SSHD_PORT
ListenAddress 127.0.0.1
AddressFamily inet
HostKey $SSHD_DIR/ssh_host_ed25519_key
PidFile $SSHD_DIR/sshd.pid
UsePAM no
AuthenticationMethods publickey
PubkeyAuthentication yes
# libssh2 1.10 signs RSA user authentication with ssh-rsa (SHA-1) only
$rsa_line
PasswordAuthentication no
KbdInteractiveAuthentication no
HostbasedAuthentication no
PermitRootLogin no
PermitEmptyPasswords no
PermitUserEnvironment no
AllowUsers $USER_SFTP $USER_CHROOT $USER_LIAR
StrictModes yes
AuthorizedKeysFile .ssh/$keys_name
X11Forwarding no
AllowTcpForwarding no
AllowAgentForwarding no
AllowStreamLocalForwarding no
PermitTunnel no
PrintMotd no
PrintLastLog no
UseDNS no
MaxSessions 20
MaxStartups 100:30:200
LogLevel $SSHD_LOGLEVEL
Subsystem sftp internal-sftp

# SFTP only, inside a chroot: an exec request gets "This service allows sftp connections only."
# Like many NAS SFTP servers, it has no posix-rename@openssh.com (the atomic replace) and
# does not say how large a WRITE request it takes (limits@openssh.com).
Match User $USER_CHROOT
    ChrootDirectory $SSHD_CHROOT
    ForceCommand internal-sftp -P posix-rename,limits

# SFTP as usual, but md5sum/sha1sum/sha256sum/sha512sum over an exec channel lie
Match User $USER_LIAR
    ForceCommand $SSHD_DIR/liar/force-command
EOF
mv -f "$SSHD_DIR/sshd_config.tmp" "$SSHD_DIR/sshd_config"

# --- start ------------------------------------------------------------------------------------
# The privilege-separation directory must exist (root, 0755); without systemd nothing makes it.
install -d -o root -g root -m 0755 /run/sshd
"$SSHD" -t -f "$SSHD_DIR/sshd_config" || die "sshd -t rejected $SSHD_DIR/sshd_config"
rm -f "$SSHD_DIR/sshd.pid"
echo "--- start-sshd.sh $(date '+%Y-%m-%d %H:%M:%S') port $SSHD_PORT" >> "$SSHD_DIR/sshd.log"
# Without -D sshd detaches (own session, stdio on /dev/null): it holds no pipe of the caller,
# and a Ctrl-C in the caller's terminal does not reach it. It writes PidFile once listening.
"$SSHD" -f "$SSHD_DIR/sshd_config" -E "$SSHD_DIR/sshd.log" </dev/null >/dev/null 2>&1 \
  || { tail -n 20 "$SSHD_DIR/sshd.log" >&2; die "sshd did not start"; }

SSH_OPTS=(-F /dev/null -o BatchMode=yes -o IdentitiesOnly=yes -o IdentityAgent=none
          -o UserKnownHostsFile="$SSHD_DIR/known_hosts" -o GlobalKnownHostsFile=/dev/null
          -o StrictHostKeyChecking=yes -o ConnectTimeout=5 -i "$SSHD_DIR/client_ed25519"
          -p "$SSHD_PORT")
pid=""
ok=0
for _ in $(seq 150); do
  [ -n "$pid" ] || pid=$(cat "$SSHD_DIR/sshd.pid" 2>/dev/null || true)
  if [ -n "$pid" ] && (exec 3<>"/dev/tcp/127.0.0.1/$SSHD_PORT") 2>/dev/null \
     && ssh "${SSH_OPTS[@]}" "$USER_SFTP@127.0.0.1" true </dev/null >/dev/null 2>&1; then
    ok=1; break
  fi
  sleep 0.1
done
if [ $ok != 1 ]; then
  echo "start-sshd: sshd did not come up on 127.0.0.1:$SSHD_PORT within 15 s; last log lines:" >&2
  tail -n 20 "$SSHD_DIR/sshd.log" >&2
  ssh "${SSH_OPTS[@]}" "$USER_SFTP@127.0.0.1" true </dev/null >&2 || true
  SSHD_DIR=$SSHD_DIR SSHD_KEEP=1 bash "$(dirname "$0")/stop-sshd.sh" >&2 || true
  exit 1
fi

t1=$(date +%s%N)
echo "SSHD_PID=$pid"
echo "SSHD_PORT=$SSHD_PORT"
echo "SSHD_DIR=$SSHD_DIR"
echo "SSH_USER=$USER_SFTP"
echo "SSH_BACKUP_DIR=$home_sftp/backup"
echo "SSH_CHROOT_USER=$USER_CHROOT"
echo "SSH_CHROOT_BACKUP_DIR=/backup"
echo "SSH_CHROOT_DIR=$SSHD_CHROOT"
echo "SSH_LIAR_USER=$USER_LIAR"
echo "SSH_LIAR_BACKUP_DIR=$home_liar/backup"
echo "SSH_KEY=$SSHD_DIR/client_ed25519"
echo "SSH_KEY_PASS=$SSHD_DIR/client_ed25519_pass"
echo "SSH_KEY_PASSPHRASE=$PASSPHRASE"
echo "SSH_KEY_RSA=$SSHD_DIR/client_rsa"
echo "SSH_KNOWN_HOSTS=$SSHD_DIR/known_hosts"
echo "SSH_KNOWN_HOSTS_HASHED=$SSHD_DIR/known_hosts_hashed"
echo "SSH_KNOWN_HOSTS_CHANGED=$SSHD_DIR/known_hosts_changed"
echo "SSH_HOST_FINGERPRINT=$fingerprint"
echo "SSHD_STARTUP_SECONDS=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')"
