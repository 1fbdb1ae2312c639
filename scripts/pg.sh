#!/usr/bin/env bash
# A throwaway PostgreSQL cluster on a free loopback port.
#
#   scripts/pg.sh start [--owner PID]   prints the URL (postgres://kg@127.0.0.1:PORT/postgres)
#                                       and the cluster's directory; with --owner, the cluster
#                                       stops by itself once that process has exited
#   scripts/pg.sh stop DIR              stops it and removes DIR
#
# initdb refuses to run as root, so as root the cluster runs as the `postgres`
# system user, in a temporary directory that user owns. Trust authentication on
# loopback only: it is for tests and demos, never for data that matters.
set -euo pipefail
bin=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
if [ ! -x "$bin/initdb" ]; then
  echo "PostgreSQL not found (apt-get install postgresql, or set PG_BIN)" >&2
  exit 1
fi
as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "${1:-}" in
  start)
    owner=""
    if [ "${2:-}" = "--owner" ]; then owner=$3; fi
    dir=$(mktemp -d /tmp/kg-pg-XXXXXX)
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$dir"
    port=$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')
    as_owner "$bin/initdb" -D "$dir/data" -A trust -U kg -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
    # fsync stays on: the tests kill servers and restart the database, and
    # what was acknowledged must survive that.
    # After a crash (restart below stops it with -m immediate) PostgreSQL
    # syncs its data directory before recovery: file by file, that took over
    # a minute here once the tests had made a few hundred databases, longer
    # than any client waits; syncfs syncs the file system in one call.
    echo "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=200 -c recovery_init_sync_method=syncfs" >"$dir/options"
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -o "$(cat "$dir/options")" start >/dev/null
    if [ -n "$owner" ]; then
      # Stops the cluster once the owner is gone, whatever way it ended. It
      # ignores the signals that end its owner (Ctrl-C and `timeout` signal
      # the whole process group), so it outlives the owner to clean up.
      (trap '' INT TERM HUP; while kill -0 "$owner" 2>/dev/null; do sleep 1; done; as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1; rm -rf "$dir") </dev/null >/dev/null 2>&1 &
    fi
    echo "postgres://kg@127.0.0.1:$port/postgres"
    echo "$dir"
    ;;
  stop)
    dir=$2
    as_owner "$bin/pg_ctl" -D "$dir/data" -m fast stop >/dev/null 2>&1 || true
    rm -rf "$dir"
    ;;
  restart)
    # Stops the database abruptly and starts it again on the same port (for
    # tests of what servers do while it is away).
    dir=$2
    as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null
    sleep "${3:-1}"
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -o "$(cat "$dir/options")" start >/dev/null
    ;;
  *)
    echo "usage: $0 start [--owner PID] | stop DIR | restart DIR [SECONDS]" >&2
    exit 2
    ;;
esac
