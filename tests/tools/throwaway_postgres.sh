#!/usr/bin/env bash
# A throwaway PostgreSQL server for tests and benchmarks, in a directory of its own:
#   throwaway_postgres.sh start DIR   initdb + start; prints the libpq conninfo on stdout
#   throwaway_postgres.sh stop DIR    stops it (immediate) and removes DIR
# It listens on a Unix socket in DIR only (no TCP), trusts local connections, and has a
# superuser `shoal` and a database `shoal`. PostgreSQL refuses to run as root: as root the
# server runs as `nobody`, DIR being given to that user (so DIR's parents must let nobody in:
# /tmp/NAME does, a directory inside another mkdtemp one does not). Exit status 77 (with a message on
# stderr): no PostgreSQL server binaries (scripts/install-deps installs them).
set -euo pipefail

cmd=${1:?usage: $0 start|stop DIR}
dir=${2:?usage: $0 start|stop DIR}

# The newest installed server (Debian 12: /usr/lib/postgresql/15/bin).
pg_bin=""
for d in /usr/lib/postgresql/*/bin; do
  [ -x "$d/initdb" ] && pg_bin=$d
done
if [ -z "$pg_bin" ] && command -v initdb >/dev/null 2>&1; then
  pg_bin=$(dirname "$(command -v initdb)")
fi

as_owner() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u nobody -- "$@"
  else
    "$@"
  fi
}

case "$cmd" in
  start)
    if [ -z "$pg_bin" ]; then
      echo "no PostgreSQL server binaries (initdb) found; scripts/install-deps installs them" >&2
      exit 77
    fi
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown nobody: "$dir"
    chmod 755 "$dir"
    # --no-sync: the cluster's initial files need not reach the disk (they are thrown away);
    # the server itself runs with fsync on, as in production, so commits cost what they do.
    if ! as_owner "$pg_bin/initdb" -D "$dir/data" -U shoal --auth=trust --encoding=UTF8 \
        --locale=C --no-sync >"$dir/initdb.log" 2>&1; then
      echo "initdb failed:" >&2
      cat "$dir/initdb.log" >&2
      exit 1
    fi
    port=5432
    if ! as_owner "$pg_bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
        -o "-k $dir -p $port -c listen_addresses=''" start >/dev/null 2>&1; then
      echo "PostgreSQL did not start:" >&2
      cat "$dir/server.log" >&2
      exit 1
    fi
    if ! "$pg_bin/psql" -X -q -h "$dir" -p "$port" -U shoal -d postgres \
        -c "CREATE DATABASE shoal" >/dev/null 2>"$dir/createdb.log"; then
      echo "CREATE DATABASE failed:" >&2
      cat "$dir/createdb.log" >&2
      exit 1
    fi
    echo "host=$dir port=$port user=shoal dbname=shoal"
    ;;
  stop)
    if [ -n "$pg_bin" ] && [ -f "$dir/data/postmaster.pid" ]; then
      as_owner "$pg_bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
  *)
    echo "usage: $0 start|stop DIR" >&2
    exit 2
    ;;
esac
