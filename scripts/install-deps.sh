#!/usr/bin/env bash
# Install what building, testing and demonstrating dvbackup needs on Debian 12. Idempotent:
# installs only what is missing, runs apt-get update only when something is missing.
#
#   Debian packages: C libraries the package links (libpq, OpenSSL's libcrypto, libcurl,
#   libssh2) with pkg-config, the PostgreSQL server and client used by the tests and the
#   demo, the OpenSSH server, SFTP server and client used by the SFTP tests
#   (scripts/services/start-sshd.sh runs its own sshd on 127.0.0.1, never the system
#   service), python3 (scripts/make-sample-catalog.py), ca-certificates and curl; and the
#   other test servers of scripts/services/: OpenStack Swift (swift swift-proxy
#   swift-account swift-container swift-object, python3-swiftclient for the `swift` CLI)
#   with memcached, Keystone (python3-keystone python3-keystonemiddleware; the `keystone`
#   package with its uwsgi service is not needed), the SMTP sink (python3-aiosmtpd),
#   openssl (the SMTP test CA) and python3-venv (start-s3.sh makes a venv with a pinned
#   moto from PyPI; that is done there, not here).
#   Installing openssh-server, memcached or the swift servers would start system services
#   (sshd on 0.0.0.0:22, memcached on 127.0.0.1:11211, swift on 8080 and 6200-6202)
#   through invoke-rc.d where there is no systemd: while such packages are installed, a
#   policy-rc.d that forbids starting services is put in place (unless one exists already),
#   and a system daemon that appeared anyway (found by its own pid file under /run, checked
#   against its executable) is stopped again. The test servers never use these system
#   daemons: they run their own, from their own state directories.
#   Swift toolchain: if no swift-build is on PATH or in $SWIFT_PREFIX/usr/bin, download the
#   Swift $SWIFT_VERSION toolchain for Debian 12 from download.swift.org and unpack it into
#   $SWIFT_PREFIX (best effort: a clear error if that is impossible, e.g. without network).
#
# Run as root for apt-get (as an ordinary user it uses `sudo -n` when that works, otherwise it
# only reports what is missing). Reports what it does on stderr; prints nothing on stdout and
# changes no environment: callers put the toolchain first in PATH themselves, e.g.
#   if [ -d /opt/swift/usr/bin ]; then PATH="/opt/swift/usr/bin:$PATH"; fi
#
# Env knobs: SWIFT_VERSION (default 6.3.1), SWIFT_PREFIX (default /opt/swift),
#            DVBACKUP_SKIP_APT=1 (skip all apt-get), DVBACKUP_SKIP_SWIFT=1.
set -euo pipefail

SWIFT_VERSION=${SWIFT_VERSION:-6.3.1}
SWIFT_PREFIX=${SWIFT_PREFIX:-/opt/swift}
PACKAGES=(libpq-dev libssl-dev libcurl4-openssl-dev libssh2-1-dev pkg-config postgresql
          postgresql-client openssh-server openssh-sftp-server openssh-client python3
          ca-certificates curl openssl
          swift swift-proxy swift-account swift-container swift-object python3-swiftclient
          memcached python3-keystone python3-keystonemiddleware python3-aiosmtpd python3-venv
          prometheus-node-exporter)
# Packages whose maintainer scripts start a system service (through invoke-rc.d).
SERVICE_PACKAGES=(openssh-server memcached swift swift-proxy swift-account swift-container
                  swift-object prometheus-node-exporter)
# What the Swift toolchain tarball itself needs on Debian 12 (swift.org's tarball install guide).
SWIFT_RUNTIME_PACKAGES=(binutils gcc git libcurl4-openssl-dev libedit-dev libicu-dev
                        libncurses-dev libpython3-dev libsqlite3-dev libxml2-dev pkg-config
                        tzdata uuid-dev tar gzip)

log() { echo "install-deps: $*" >&2; }

if [ "$(id -u)" = 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  SUDO=(sudo -n)
else
  SUDO=(none)
fi

have_pkg() {
  [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)" = installed ]
}

apt_updated=0
# apt_install PKG...: install the missing ones among PKG...
apt_install() {
  local missing=() p
  if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
    log "not a Debian-like system (no dpkg/apt-get): make sure these are installed: $*"
    return 0
  fi
  for p in "$@"; do have_pkg "$p" || missing+=("$p"); done
  if [ ${#missing[@]} -eq 0 ]; then
    return 0
  fi
  if [ "${SUDO[*]}" = none ]; then
    log "missing Debian packages: ${missing[*]}"
    log "not root and no password-less sudo: run as root: apt-get install ${missing[*]}"
    return 1
  fi
  local aptlog
  aptlog=$(mktemp)
  if [ $apt_updated = 0 ]; then
    log "apt-get update"
    if ! "${SUDO[@]}" apt-get -o DPkg::Lock::Timeout=600 update -qq >"$aptlog" 2>&1; then
      tail -n 20 "$aptlog" >&2; log "apt-get update failed"
    fi
    apt_updated=1
  fi
  local services=0
  for p in "${SERVICE_PACKAGES[@]}"; do
    case " ${missing[*]} " in *" $p "*) services=1 ;; esac
  done
  [ $services = 1 ] && no_service_starts_begin
  log "apt-get install ${missing[*]}"
  if ! DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
      --no-install-recommends "${missing[@]}" >"$aptlog" 2>&1; then
    tail -n 30 "$aptlog" >&2; rm -f "$aptlog"
    [ $services = 1 ] && no_service_starts_end
    log "ERROR: apt-get install ${missing[*]} failed"
    return 1
  fi
  rm -f "$aptlog"
  [ $services = 1 ] && no_service_starts_end
  return 0
}

# Package installs must not start services: without systemd, openssh-server's postinst would
# start the system sshd on 0.0.0.0:22 through invoke-rc.d, memcached's a memcached on
# 127.0.0.1:11211 (the port the Swift test server uses), the swift packages their servers.
# invoke-rc.d asks policy-rc.d first; exit code 101 = "action forbidden". An existing
# policy-rc.d (e.g. a container's) is left alone; ours is removed again afterwards (also if
# the script dies in between).
POLICY_RC_D=/usr/sbin/policy-rc.d
policy_ours=0
# System daemons that a package install may start, as "pid-file kind:value" pairs. The pid
# files are the Debian init scripts' (never the project's test servers', which keep theirs in
# their own state directories); a pid counts only when it runs the expected program:
# exe:PATH = /proc/PID/exe is PATH; arg:PATH = PATH is the script the interpreter runs
# (argv[1]; the swift servers are /usr/bin/python3 scripts).
SYSTEM_DAEMONS=(
  "/run/sshd.pid exe:/usr/sbin/sshd"
  "/run/memcached.pid exe:/usr/bin/memcached"
  "/run/swift/swift-proxy-server.pid arg:/usr/bin/swift-proxy-server"
  "/run/swift/swift-account-server.pid arg:/usr/bin/swift-account-server"
  "/run/swift/swift-container-server.pid arg:/usr/bin/swift-container-server"
  "/run/swift/swift-object-server.pid arg:/usr/bin/swift-object-server"
)
system_daemons_before=""
# system_daemon_pids: one line per running system daemon listed above
system_daemon_pids() {
  local entry f want p
  for entry in "${SYSTEM_DAEMONS[@]}"; do
    f=${entry%% *}; want=${entry#* }
    p=$(head -n1 "$f" 2>/dev/null || true)
    case "$p" in ''|*[!0-9]*) continue ;; esac
    case "$want" in
      exe:*) [ "$(readlink "/proc/$p/exe" 2>/dev/null || true)" = "${want#exe:}" ] || continue ;;
      arg:*) [ "$(tr '\0' '\n' < "/proc/$p/cmdline" 2>/dev/null | sed -n 2p)" = "${want#arg:}" ] || continue ;;
    esac
    echo "$p"
  done
  return 0
}
no_service_starts_begin() {
  system_daemons_before=" $(system_daemon_pids | tr '\n' ' ') "
  if [ ! -e "$POLICY_RC_D" ] && [ "${SUDO[*]}" != none ]; then
    printf '#!/bin/sh\n# written by dvbackup scripts/install-deps.sh while installing packages\nexit 101\n' \
      | "${SUDO[@]}" tee "$POLICY_RC_D" >/dev/null
    "${SUDO[@]}" chmod 0755 "$POLICY_RC_D"
    policy_ours=1
    trap 'no_service_starts_end' EXIT
  fi
}
no_service_starts_end() {
  if [ $policy_ours = 1 ]; then
    "${SUDO[@]}" rm -f "$POLICY_RC_D"
    policy_ours=0
  fi
  # A system daemon that the install started anyway (a policy-rc.d that allows it): stop it.
  local p
  for p in $(system_daemon_pids); do
    case "$system_daemons_before" in *" $p "*) continue ;; esac
    log "the package install started a system daemon (pid $p: $(tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null)); stopping it"
    "${SUDO[@]}" kill "$p" 2>/dev/null || true
  done
  return 0
}

# --- Debian packages ---------------------------------------------------------------------
rc=0
if [ "${DVBACKUP_SKIP_APT:-0}" != 1 ]; then
  if apt_install "${PACKAGES[@]}"; then
    log "Debian packages present: ${PACKAGES[*]}"
  else
    rc=1
  fi
fi

# --- Swift toolchain ---------------------------------------------------------------------
find_swift_build() {
  if command -v swift-build >/dev/null 2>&1; then command -v swift-build; return 0; fi
  if [ -x "$SWIFT_PREFIX/usr/bin/swift-build" ]; then echo "$SWIFT_PREFIX/usr/bin/swift-build"; return 0; fi
  return 1
}

if [ "${DVBACKUP_SKIP_SWIFT:-0}" != 1 ]; then
  if sb=$(find_swift_build); then
    log "Swift toolchain present: $sb"
  else
    case "$(uname -m)" in
      x86_64)  platform=debian12 ;;
      aarch64) platform=debian12-aarch64 ;;
      *) log "no Swift toolchain for $(uname -m); install Swift $SWIFT_VERSION by hand"; exit 1 ;;
    esac
    name="swift-$SWIFT_VERSION-RELEASE-$platform"
    url="https://download.swift.org/swift-$SWIFT_VERSION-release/$platform/swift-$SWIFT_VERSION-RELEASE/$name.tar.gz"
    if [ "${DVBACKUP_SKIP_APT:-0}" != 1 ]; then
      apt_install "${SWIFT_RUNTIME_PACKAGES[@]}" || log "could not install the toolchain's runtime packages; trying anyway"
    fi
    parent=$(dirname "$SWIFT_PREFIX")
    if ! mkdir -p "$parent" 2>/dev/null || [ ! -w "$parent" ]; then
      log "cannot write $parent; run as root or set SWIFT_PREFIX to a writable directory"
      exit 1
    fi
    if [ -e "$SWIFT_PREFIX" ] && [ -n "$(ls -A "$SWIFT_PREFIX" 2>/dev/null)" ]; then
      log "ERROR: $SWIFT_PREFIX exists but holds no usr/bin/swift-build; move it away or set SWIFT_PREFIX"
      exit 1
    fi
    tmp=$(mktemp -d "$parent/.swift-download.XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    log "downloading $url"
    if ! curl -fsSL --retry 3 --connect-timeout 20 -o "$tmp/$name.tar.gz" "$url" >&2; then
      log "ERROR: could not download the Swift $SWIFT_VERSION toolchain from $url"
      log "install it by hand (https://www.swift.org/install/linux/) into $SWIFT_PREFIX, or put swift-build on PATH"
      exit 1
    fi
    log "unpacking into $SWIFT_PREFIX"
    mkdir -p "$tmp/unpack"
    tar -xzf "$tmp/$name.tar.gz" -C "$tmp/unpack" --strip-components=1
    [ -x "$tmp/unpack/usr/bin/swift-build" ] || { log "ERROR: the archive has no usr/bin/swift-build"; exit 1; }
    rmdir "$SWIFT_PREFIX" 2>/dev/null || true   # only if empty: never delete someone's files
    if [ -e "$SWIFT_PREFIX" ]; then
      log "ERROR: $SWIFT_PREFIX exists but holds no usr/bin/swift-build; move it away or set SWIFT_PREFIX"
      exit 1
    fi
    mv "$tmp/unpack" "$SWIFT_PREFIX"
    log "Swift toolchain installed: $("$SWIFT_PREFIX/usr/bin/swiftc" --version 2>&1 | head -n1)"
  fi
fi

exit $rc
