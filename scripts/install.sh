#!/usr/bin/env bash
# Builds dvbackup and installs it the way an administrator runs it: one command from a clone.
#
#   sudo scripts/install.sh                       # into /usr/local, run user "dataverse"
#   sudo RUN_USER=payara scripts/install.sh       # another run user
#   DESTDIR=/tmp/stage scripts/install.sh         # a staged tree (packaging, tests)
#
# What it does (again and again, the same: it is idempotent):
#   - builds a release binary that carries its Swift runtime (swift-build -c release
#     --static-swift-stdlib) and refuses it if `ldd` still names the toolchain's directory
#     (libpq, libcurl, OpenSSL come from Debian's packages; libssh2 is linked statically);
#   - $PREFIX/bin/dvbackup (0755 root);
#   - $PREFIX/share/man/man1/dvbackup.1 (swift-argument-parser's generate-manual plugin);
#   - bash and zsh completions: $PREFIX/share/bash-completion/completions/dvbackup,
#     $PREFIX/share/zsh/site-functions/_dvbackup;
#   - /etc/dvbackup/config.ini from config.ini.sample ONLY when there is none (0640, owner root,
#     group of the run user: the run user reads it, nobody else does); the sample itself as
#     /etc/dvbackup/config.ini.sample (replaced on every install) and under
#     $PREFIX/share/doc/dvbackup/ with the README;
#   - /var/log/dvbackup (0750, owned by the run user): the cron file's log, the run's state;
#   - the systemd units dvbackup.service, dvbackup.timer, dvbackup-rerun.service and
#     dvbackup-rerun.timer into $UNITDIR (default $PREFIX/lib/systemd/system, which systemd
#     searches for locally built software: /usr/local/lib/systemd/system). They are replaced
#     on every install; your changes belong in drop-ins (`systemctl edit dvbackup.service`,
#     kept under /etc/systemd/system/dvbackup.service.d/). Nothing is enabled: see the README;
#   - /etc/cron.d/dvbackup ONLY when there is none, with its lines commented out unless
#     SCHEDULER=cron (systemd timers and cron must not both run the job).
#
# Variables:
#   PREFIX    (default /usr/local)   where the binary, man page, completions and units go
#   DESTDIR   (default empty)        a staging root put in front of every installed path
#   RUN_USER  (default dataverse)    the account that runs dvbackup (User= of the units, the
#                                    cron lines, the owner of /var/log/dvbackup, the group of
#                                    config.ini). It must exist, except with DESTDIR (then
#                                    nothing is chowned to it and a warning says so)
#   UNITDIR   (default $PREFIX/lib/systemd/system)
#   SCHEDULER (default systemd)      "cron": the installed cron file's lines are active
#   DVBACKUP_PREBUILT_DIR            tests only: a directory holding a dvbackup binary and
#                                    dvbackup.1 already built by this script; nothing is built
#
# Exit codes: 0 installed; 1 something failed (the message says what).
set -euo pipefail
cd "$(dirname "$0")/.."

PREFIX=${PREFIX:-/usr/local}
DESTDIR=${DESTDIR:-}
RUN_USER=${RUN_USER:-dataverse}
UNITDIR=${UNITDIR:-$PREFIX/lib/systemd/system}
SCHEDULER=${SCHEDULER:-systemd}
SYSCONFDIR=/etc/dvbackup
LOGDIR=/var/log/dvbackup

say() { echo "install.sh: $*" >&2; }
die() { say "error: $*"; exit 1; }

case "$PREFIX" in /*) ;; *) die "PREFIX must be an absolute path, not '$PREFIX'";; esac
case "$SCHEDULER" in systemd|cron) ;; *) die "SCHEDULER is systemd or cron, not '$SCHEDULER'";; esac

# --- who owns what -------------------------------------------------------------------------
IS_ROOT=no; [ "$(id -u)" = 0 ] && IS_ROOT=yes
RUN_GROUP=
if getent passwd "$RUN_USER" >/dev/null 2>&1; then
  RUN_GROUP=$(id -gn "$RUN_USER")
elif [ -z "$DESTDIR" ]; then
  die "the run user '$RUN_USER' does not exist on this machine. Create it, e.g.
    adduser --system --group --home /var/lib/dvbackup $RUN_USER
  or name the account that runs Dataverse's jobs: RUN_USER=<account> $0"
else
  say "warning: the run user '$RUN_USER' does not exist on this machine: installing into $DESTDIR without giving it $LOGDIR or the group of config.ini (chown them on the target machine)"
fi
if [ -z "$DESTDIR" ] && [ "$IS_ROOT" = no ]; then
  die "installing into / needs root (sudo $0), or stage a tree with DESTDIR=..."
fi
CHOWN=no; [ "$IS_ROOT" = yes ] && [ -n "$RUN_GROUP" ] && CHOWN=yes
[ "$IS_ROOT" = no ] && say "warning: not root: files keep your own owner (chown them when the tree is deployed)"

# install(1) with owner and group only when we can set them.
own() { # own OWNER GROUP -> the -o/-g options, or nothing
  if [ "$IS_ROOT" = yes ]; then
    echo "-o $1 -g $2"
  fi
}
ROOT_OWN=$(own root root)
RUN_OWN=; CONF_OWN=
if [ "$CHOWN" = yes ]; then RUN_OWN="-o $RUN_USER -g $RUN_GROUP"; CONF_OWN="-o root -g $RUN_GROUP"; fi

# --- build ---------------------------------------------------------------------------------
if [ -n "${DVBACKUP_PREBUILT_DIR:-}" ]; then
  BIN="$DVBACKUP_PREBUILT_DIR/dvbackup"
  MAN="$DVBACKUP_PREBUILT_DIR/dvbackup.1"
  [ -x "$BIN" ] && [ -f "$MAN" ] || die "DVBACKUP_PREBUILT_DIR=$DVBACKUP_PREBUILT_DIR holds no dvbackup and dvbackup.1"
  say "using the binary and manual page in $BIN's directory (DVBACKUP_PREBUILT_DIR)"
else
  if [ -d /opt/swift/usr/bin ]; then PATH="/opt/swift/usr/bin:$PATH"; fi
  command -v swift-build >/dev/null 2>&1 || die "swift-build not found (scripts/install-deps.sh installs the toolchain into /opt/swift)"
  TOOLCHAIN=$(cd "$(dirname "$(command -v swift-build)")/.." && pwd -P)
  # The manual first: the plugin builds the release product its own way (linked against the
  # toolchain's runtime), and the static build below then relinks the binary we install.
  say "generating the manual page (swift-argument-parser's generate-manual plugin)"
  swift-package plugin generate-manual --authors "dvbackup" >&2 \
    || die "the generate-manual plugin failed (see above)"
  MAN=.build/plugins/GenerateManual/outputs/dvbackup/dvbackup.1
  [ -f "$MAN" ] || die "the generate-manual plugin wrote no $MAN"
  say "building the release binary with its Swift runtime (swift-build -c release --static-swift-stdlib; minutes)"
  swift-build -c release --static-swift-stdlib --product dvbackup >&2
  BIN="$(swift-build -c release --static-swift-stdlib --show-bin-path)/dvbackup"
  [ -x "$BIN" ] || die "no binary at $BIN after the build"
  if ldd "$BIN" | grep -F "$TOOLCHAIN"; then
    die "$BIN still loads libraries from the toolchain ($TOOLCHAIN, listed above): it would not start where the toolchain is not installed"
  fi
fi

# --- install -------------------------------------------------------------------------------
D=$DESTDIR
# shellcheck disable=SC2086  # the owner options are words or nothing
{
  install -d -m 0755 $ROOT_OWN "$D$PREFIX/bin" "$D$PREFIX/share/man/man1" \
    "$D$PREFIX/share/bash-completion/completions" "$D$PREFIX/share/zsh/site-functions" \
    "$D$PREFIX/share/doc/dvbackup" "$D$UNITDIR" "$D/etc/cron.d"
  install -m 0755 $ROOT_OWN "$BIN" "$D$PREFIX/bin/dvbackup"
  install -m 0644 $ROOT_OWN "$MAN" "$D$PREFIX/share/man/man1/dvbackup.1"

  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  "$D$PREFIX/bin/dvbackup" --generate-completion-script bash >"$tmp/dvbackup.bash"
  "$D$PREFIX/bin/dvbackup" --generate-completion-script zsh >"$tmp/_dvbackup"
  install -m 0644 $ROOT_OWN "$tmp/dvbackup.bash" "$D$PREFIX/share/bash-completion/completions/dvbackup"
  install -m 0644 $ROOT_OWN "$tmp/_dvbackup" "$D$PREFIX/share/zsh/site-functions/_dvbackup"
  install -m 0644 $ROOT_OWN config.ini.sample README.md "$D$PREFIX/share/doc/dvbackup/"

  # The configuration: readable by root and the run user's group only (it holds passwords).
  install -d -m 0750 $CONF_OWN "$D$SYSCONFDIR"
  install -m 0640 $CONF_OWN config.ini.sample "$D$SYSCONFDIR/config.ini.sample"
  if [ -e "$D$SYSCONFDIR/config.ini" ]; then
    say "kept the existing $D$SYSCONFDIR/config.ini"
  else
    install -m 0640 $CONF_OWN config.ini.sample "$D$SYSCONFDIR/config.ini"
    say "installed $D$SYSCONFDIR/config.ini from config.ini.sample: edit it"
  fi

  install -d -m 0750 $RUN_OWN "$D$LOGDIR"

  # The units and the cron file, with this install's binary and run user.
  edit() { sed -e "s|/usr/local/bin/dvbackup|$PREFIX/bin/dvbackup|g" -e "s|^User=dataverse$|User=$RUN_USER|" \
               -e "s|^\([0-9*][0-9*,/ -]*\)dataverse |\1$RUN_USER |" "$1"; }
  for unit in dvbackup.service dvbackup.timer dvbackup-rerun.service dvbackup-rerun.timer; do
    edit "systemd/$unit" >"$tmp/$unit"
    install -m 0644 $ROOT_OWN "$tmp/$unit" "$D$UNITDIR/$unit"
  done
  edit cron/dvbackup >"$tmp/cron"
  if [ "$SCHEDULER" != cron ]; then
    sed -i -e 's|^\([0-9*]\)|#\1|' \
      -e 's|^\(# Every night at 02:30\)|# SCHEDULER=systemd at install: the lines below are commented out (use the timers, or uncomment\n# them and leave the timers disabled).\n\1|' "$tmp/cron"
  fi
  if [ -e "$D/etc/cron.d/dvbackup" ]; then
    cmp -s "$tmp/cron" "$D/etc/cron.d/dvbackup" || say "kept the existing $D/etc/cron.d/dvbackup (this version's is in $D$PREFIX/share/doc/dvbackup/cron.dvbackup)"
  else
    install -m 0644 $ROOT_OWN "$tmp/cron" "$D/etc/cron.d/dvbackup"
  fi
  install -m 0644 $ROOT_OWN "$tmp/cron" "$D$PREFIX/share/doc/dvbackup/cron.dvbackup"
}

say "installed dvbackup into ${D:-/} (PREFIX=$PREFIX, run user $RUN_USER)"
if [ -z "$D" ]; then
  cat >&2 <<EOF
Next:
  1. edit $SYSCONFDIR/config.ini ([Database], [Repository], [Backup] BackupDirectory, [Notifications] Email)
     and check it as the run user:  sudo -u $RUN_USER $PREFIX/bin/dvbackup check-config
  2. create the backup database's tables:  sudo -u $RUN_USER $PREFIX/bin/dvbackup init-db
  3. let the units write the backup directory (StorageType local):
       systemctl edit dvbackup.service dvbackup-rerun.service   ->  [Service] ReadWritePaths=<BackupDirectory>
  4. systemctl daemon-reload && systemctl enable --now dvbackup.timer dvbackup-rerun.timer
     (or, without systemd: uncomment the lines of /etc/cron.d/dvbackup)
EOF
fi
