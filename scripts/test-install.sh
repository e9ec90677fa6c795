#!/usr/bin/env bash
# Tests scripts/install.sh, the systemd units and the cron file (issue 16, points 1 and 2).
# scripts/test.sh runs it after swift-test; it needs no test server. It takes a few minutes:
# the first install is the real one (the static release build and the manual page).
#
#   bash scripts/test-install.sh
#
# Checks: the tree a DESTDIR install leaves (files, modes, and owners when run as root); a
# second install keeps an edited config.ini; the installed binary runs with the toolchain
# hidden (a tmpfs over it in a mount namespace, or at least `env -i` and ldd); the run user
# must exist (with DESTDIR only a warning); `systemd-analyze verify` says nothing about the
# installed units; the cron lines, run by sh as cron would, log the exit code of a fake
# dvbackup (0, 1) and "skipped: the previous run still holds the lock" when the lock is held.
# Exit code: 0 all passed, 1 a check failed (each failure is printed).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

FAILS=0
fail() { echo "test-install: FAIL: $*" >&2; FAILS=$((FAILS + 1)); }
ok() { echo "test-install: ok: $*" >&2; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else fail "$what"; fi; }

T=$(mktemp -d /tmp/dvbackup-test-install.XXXXXX)
trap 'rm -rf "$T"' EXIT
IS_ROOT=no; [ "$(id -u)" = 0 ] && IS_ROOT=yes
# An account every Debian machine has, with its own group.
RUN_USER=${TEST_RUN_USER:-nobody}
RUN_GROUP=$(id -gn "$RUN_USER")
TOOLCHAIN=/opt/swift
if [ -d /opt/swift/usr/bin ]; then PATH="/opt/swift/usr/bin:$PATH"; fi
command -v swift-build >/dev/null && TOOLCHAIN=$(cd "$(dirname "$(command -v swift-build)")/.." && pwd -P)

mode() { stat -c %a "$1"; }
owner() { stat -c %U:%G "$1"; }
expect_file() { # path mode [owner]
  local p=$1 m=$2 o=${3:-}
  if [ ! -e "$p" ]; then fail "$p is missing"; return; fi
  [ "$(mode "$p")" = "$m" ] || fail "$p has mode $(mode "$p"), expected $m"
  if [ -n "$o" ] && [ "$IS_ROOT" = yes ]; then
    [ "$(owner "$p")" = "$o" ] || fail "$p is owned by $(owner "$p"), expected $o"
  fi
}

# --- 1. the real install: static build, manual page --------------------------------------
D=$T/dest
if ! DESTDIR=$D RUN_USER=$RUN_USER bash scripts/install.sh >"$T/install1.log" 2>&1; then
  cat "$T/install1.log" >&2
  fail "the first install failed"
  echo "test-install: $FAILS failure(s)" >&2
  exit 1
fi
ok "the first install (static build) succeeded"
P=/usr/local
expect_file "$D$P/bin/dvbackup" 755 root:root
expect_file "$D$P/share/man/man1/dvbackup.1" 644 root:root
expect_file "$D$P/share/bash-completion/completions/dvbackup" 644 root:root
expect_file "$D$P/share/zsh/site-functions/_dvbackup" 644 root:root
expect_file "$D$P/share/doc/dvbackup/config.ini.sample" 644 root:root
expect_file "$D/etc/dvbackup" 750 "root:$RUN_GROUP"
expect_file "$D/etc/dvbackup/config.ini" 640 "root:$RUN_GROUP"
expect_file "$D/etc/dvbackup/config.ini.sample" 640 "root:$RUN_GROUP"
expect_file "$D/var/log/dvbackup" 750 "$RUN_USER:$RUN_GROUP"
expect_file "$D/etc/cron.d/dvbackup" 644 root:root
for u in dvbackup.service dvbackup.timer dvbackup-rerun.service dvbackup-rerun.timer; do
  expect_file "$D$P/lib/systemd/system/$u" 644 root:root
done
check "config.ini is config.ini.sample" cmp -s config.ini.sample "$D/etc/dvbackup/config.ini"
check "the manual page is a man page about dvbackup" grep -q '^\.Dt DVBACKUP 1' "$D$P/share/man/man1/dvbackup.1"
check "the manual lists the subcommands" grep -q 'check-config' "$D$P/share/man/man1/dvbackup.1"
check "the bash completion completes dvbackup" grep -q 'complete .*dvbackup' "$D$P/share/bash-completion/completions/dvbackup"
check "the zsh completion is a compdef" grep -q '^#compdef dvbackup' "$D$P/share/zsh/site-functions/_dvbackup"
check "the units run the run user" grep -qx "User=$RUN_USER" "$D$P/lib/systemd/system/dvbackup.service"
check "the cron lines run as the run user" grep -q "^#30 2 \* \* \*   $RUN_USER  flock" "$D/etc/cron.d/dvbackup"

# --- 2. the binary carries its Swift runtime ---------------------------------------------
BIN=$D$P/bin/dvbackup
if ldd "$BIN" | grep -F "$TOOLCHAIN" >&2; then fail "ldd names the toolchain ($TOOLCHAIN)"; else ok "ldd names no toolchain library"; fi
check "ldd resolves every library" bash -c "! ldd '$BIN' | grep -q 'not found'"
if env -i PATH=/usr/bin:/bin "$BIN" --help >"$T/help" 2>&1 && grep -q 'USAGE: dvbackup' "$T/help"; then
  ok "--help runs in an empty environment"
else
  fail "--help in an empty environment: $(cat "$T/help")"
fi
if [ "$IS_ROOT" = yes ] && unshare -m true 2>/dev/null; then
  if unshare -m sh -c "mount -t tmpfs none '$TOOLCHAIN' && env -i PATH=/usr/bin:/bin '$BIN' --help" >"$T/help2" 2>&1 \
     && grep -q 'USAGE: dvbackup' "$T/help2"; then
    ok "--help runs with the toolchain directory hidden under a tmpfs"
  else
    fail "--help with the toolchain hidden: $(cat "$T/help2")"
  fi
else
  echo "test-install: note: no mount namespace here; the toolchain is not hidden (ldd checked it)" >&2
fi

# --- 3. a second install keeps an edited configuration -----------------------------------
PRE=$T/prebuilt
mkdir -p "$PRE"
cp "$BIN" "$PRE/dvbackup"
cp "$D$P/share/man/man1/dvbackup.1" "$PRE/dvbackup.1"
echo "; edited by the administrator" >>"$D/etc/dvbackup/config.ini"
chmod 0600 "$D/etc/dvbackup/config.ini"
echo "# edited" >>"$D/etc/cron.d/dvbackup"
find "$D" -printf '%p %m %u %g\n' | sort >"$T/tree1"
if DVBACKUP_PREBUILT_DIR=$PRE DESTDIR=$D RUN_USER=$RUN_USER bash scripts/install.sh >"$T/install2.log" 2>&1; then
  ok "a second install succeeded"
else
  fail "the second install failed: $(cat "$T/install2.log")"
fi
check "the edited config.ini is kept" grep -q 'edited by the administrator' "$D/etc/dvbackup/config.ini"
check "its mode is kept" test "$(mode "$D/etc/dvbackup/config.ini")" = 600
check "the edited cron file is kept" grep -q '^# edited' "$D/etc/cron.d/dvbackup"
check "the second install says it kept config.ini" grep -q "kept the existing $D/etc/dvbackup/config.ini" "$T/install2.log"
find "$D" -printf '%p %m %u %g\n' | sort >"$T/tree2"
check "the second install leaves the same tree (files, modes, owners)" cmp -s "$T/tree1" "$T/tree2"

# --- 4. the run user must exist ----------------------------------------------------------
NOUSER=dvbackup-no-such-user
if RUN_USER=$NOUSER bash scripts/install.sh >"$T/nouser.log" 2>&1; then
  fail "an install into / for a missing run user succeeded"
else
  check "a missing run user is named" grep -q "the run user '$NOUSER' does not exist on this machine" "$T/nouser.log"
fi
D3=$T/dest-nouser
if DVBACKUP_PREBUILT_DIR=$PRE DESTDIR=$D3 RUN_USER=$NOUSER bash scripts/install.sh >"$T/nouser2.log" 2>&1; then
  check "with DESTDIR a missing run user is a warning" grep -q "warning: the run user '$NOUSER' does not exist" "$T/nouser2.log"
  check "the units name the missing run user anyway" grep -qx "User=$NOUSER" "$D3$P/lib/systemd/system/dvbackup.service"
  expect_file "$D3/var/log/dvbackup" 750 root:root
else
  fail "a DESTDIR install for a missing run user failed: $(cat "$T/nouser2.log")"
fi
D4=$T/dest-prefix
if DVBACKUP_PREBUILT_DIR=$PRE DESTDIR=$D4 PREFIX=/opt/dvbackup SCHEDULER=cron RUN_USER=$RUN_USER bash scripts/install.sh >"$T/prefix.log" 2>&1; then
  check "PREFIX moves the binary" test -x "$D4/opt/dvbackup/bin/dvbackup"
  check "PREFIX reaches ExecStart" grep -q '^ExecStart=/opt/dvbackup/bin/dvbackup run --config /etc/dvbackup/config.ini$' "$D4/opt/dvbackup/lib/systemd/system/dvbackup.service"
  check "PREFIX reaches the cron lines" grep -q "^30 2 \* \* \*   $RUN_USER  flock -n -E 75 /run/lock/dvbackup.lock /opt/dvbackup/bin/dvbackup run" "$D4/etc/cron.d/dvbackup"
else
  fail "an install with PREFIX failed: $(cat "$T/prefix.log")"
fi

# --- 5. systemd-analyze verify -----------------------------------------------------------
if command -v systemd-analyze >/dev/null; then
  # verify looks for ExecStart's binary outside any root: point it at the staged binary.
  mkdir -p "$T/units"
  for u in "$D$P"/lib/systemd/system/*; do
    # ... and at the default run user (verify refuses "nobody", the test's run user, as unsafe).
    sed -e "s|$P/bin/dvbackup|$BIN|" -e 's|^User=.*|User=dataverse|' "$u" >"$T/units/$(basename "$u")"
  done
  if (cd "$T/units" && systemd-analyze verify --man=no ./*.service ./*.timer) >"$T/verify" 2>&1 && [ ! -s "$T/verify" ]; then
    ok "systemd-analyze verify passes and says nothing"
  else
    fail "systemd-analyze verify: $(cat "$T/verify")"
  fi
  for u in dvbackup.service dvbackup-rerun.service; do
    check "$u: oneshot, SIGTERM, 15 min to stop, read-only but the log directory" \
      bash -c "grep -qx 'Type=oneshot' '$T/units/$u' && grep -qx 'KillSignal=SIGTERM' '$T/units/$u' \
               && grep -qx 'TimeoutStopSec=15min' '$T/units/$u' && grep -qx 'ProtectSystem=strict' '$T/units/$u' \
               && grep -qx 'ReadWritePaths=-/var/log/dvbackup' '$T/units/$u' && grep -qx 'NoNewPrivileges=yes' '$T/units/$u'"
  done
  for t in dvbackup.timer dvbackup-rerun.timer; do
    check "$t: Persistent, RandomizedDelaySec" bash -c "grep -qx 'Persistent=true' '$T/units/$t' && grep -q '^RandomizedDelaySec=' '$T/units/$t'"
  done
  check "the rerun service runs --rerun" grep -q '^ExecStart=.* run --rerun --config /etc/dvbackup/config.ini$' "$T/units/dvbackup-rerun.service"
else
  echo "test-install: note: no systemd-analyze; the units are not verified" >&2
fi

# --- 6. the cron lines, run as cron runs them ---------------------------------------------
# cron hands the command (after the user field, with \% turned into %) to SHELL=/bin/sh.
CRON=$D4/etc/cron.d/dvbackup
mkdir -p "$T/cron/log"
cat >"$T/cron/dvbackup" <<'EOF'
#!/bin/sh
echo "fake dvbackup $*"
exit "${FAKE_RC:-0}"
EOF
chmod +x "$T/cron/dvbackup"
n=0
while IFS= read -r line; do
  n=$((n + 1))
  fields=$(echo "$line" | awk '{print NF}')
  [ "$fields" -gt 7 ] || fail "cron line $n has too few fields: $line"
  user=$(echo "$line" | awk '{print $6}')
  [ "$user" = "$RUN_USER" ] || fail "cron line $n runs as '$user'"
  cmd=$(echo "$line" | sed -E -e 's/^([^ ]+ +){5}[^ ]+ +//' -e 's|\\%|%|g' \
        -e "s|/run/lock/dvbackup.lock|$T/cron/lock|g" -e "s|/var/log/dvbackup|$T/cron/log|g" \
        -e "s|/opt/dvbackup/bin/dvbackup|$T/cron/dvbackup|g")
  if echo "$line" | grep -q '[^\\]%'; then fail "cron line $n has an unescaped % (cron would cut the command there)"; fi
  for rc in 0 1 3; do
    : >"$T/cron/log/dvbackup.log"
    FAKE_RC=$rc sh -c "$cmd"
    last=$(tail -n 1 "$T/cron/log/dvbackup.log")
    if echo "$last" | grep -Eq "^[0-9]{4}/[0-9]{2}/[0-9]{2} [0-9:]{8} dvbackup run.*: exit code $rc$"; then
      ok "cron line $n logs exit code $rc"
    else
      fail "cron line $n with exit $rc logged: $(cat "$T/cron/log/dvbackup.log")"
    fi
  done
  # The lock held by a run still going: dvbackup is not started, and the log says why.
  : >"$T/cron/log/dvbackup.log"
  exec 9>"$T/cron/lock"
  flock -n 9 || fail "cannot take the test's lock"
  FAKE_RC=0 sh -c "$cmd" 9>&-
  exec 9>&-
  if grep -q 'skipped: the previous run still holds the lock$' "$T/cron/log/dvbackup.log" \
     && ! grep -q 'fake dvbackup' "$T/cron/log/dvbackup.log"; then
    ok "cron line $n logs a held lock as skipped"
  else
    fail "cron line $n with the lock held logged: $(cat "$T/cron/log/dvbackup.log")"
  fi
done < <(grep -E '^[0-9*]' "$CRON")
[ "$n" = 2 ] || fail "the cron file has $n job lines, expected 2 (nightly, weekly --rerun)"
check "the weekly line runs --rerun" grep -q '^30 4 \* \* 0 .* run --rerun ' "$CRON"

if [ "$FAILS" = 0 ]; then
  echo "test-install: all checks passed" >&2
  exit 0
fi
echo "test-install: $FAILS failure(s)" >&2
exit 1
