# Shared helpers of scripts/bench-sftp.sh, bench-spine.sh and bench-swift.sh: each sources it
# after `cd` to the repository and after defining say() (its message prefix). It does nothing
# by itself. The data sets' files and catalog rows are written by scripts/bench-catalog.py.

# bench_apt_install PKG...: install Debian packages (needs root), reading the package lists
# again only when the first try fails
bench_apt_install() {
  say "installing $*"
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "$@" >/dev/null 2>&1 \
    || { apt-get -o DPkg::Lock::Timeout=600 update -qq >/dev/null 2>&1;
         apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "$@" >/dev/null; }
}

# bench_release_binary: make sure $DVBACKUP exists (`swift-build -c release` when it is
# missing; the toolchain must be on PATH) or exit 1
bench_release_binary() {
  if [ ! -x "$DVBACKUP" ]; then
    say "building the release binary (swift-build -c release)"
    swift-build -c release
  fi
  [ -x "$DVBACKUP" ] || { say "no binary at $DVBACKUP"; exit 1; }
}

# psql_db DB ARGS...: psql as $PG_USER (password $PG_PASSWORD) on the bench's own PostgreSQL
# (127.0.0.1:$PG_PORT), stopping at the first error
psql_db() {
  local db=$1; shift
  PGPASSWORD=$PG_PASSWORD psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" -d "$db" "$@"
}
