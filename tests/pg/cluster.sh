#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for tests and benchmarks, on 127.0.0.1
# and a free port, trust authentication, in a temporary directory.
#   tests/pg/cluster.sh start [fsync]   prints "DIR URL" (URL without a
#                                       database: append /NAME); fsync
#                                       keeps fsync on (benchmarks), tests
#                                       run without it
#   tests/pg/cluster.sh stop DIR        stops it and removes DIR
#   tests/pg/cluster.sh restart DIR [immediate]
# As root the server runs as the postgres user (initdb refuses root).
set -euo pipefail
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
as_pg() {
  # from /: the caller's directory may be closed to the postgres user
  if [ "$(id -u)" -eq 0 ]; then (cd / && su postgres -s /bin/sh -c "$*"); else sh -c "$*"; fi
}
case "${1:-}" in
start)
  dir=$(mktemp -d /tmp/hookstream-pg.XXXXXX)
  chmod 755 "$dir" # mktemp -d is 0700: the postgres user must reach its data
  mkdir -p "$dir/data" "$dir/sock" "$dir/log"
  [ "$(id -u)" -eq 0 ] && chown -R postgres:postgres "$dir/data" "$dir/sock" "$dir/log"
  as_pg "$PGBIN/initdb -D $dir/data -A trust -U postgres --no-sync -E UTF8 --locale=C.UTF-8 >$dir/log/initdb 2>&1" || {
    cat "$dir/log/initdb" >&2; exit 1; }
  fsync=off
  [ "${2:-}" = fsync ] && fsync=on
  for _ in 1 2 3 4 5; do
    port=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
    echo "port=$port fsync=$fsync" >"$dir/conf"
    if as_pg "$PGBIN/pg_ctl -D $dir/data -l $dir/log/server -w -t 30 -o \"-p $port -k $dir/sock -c listen_addresses=127.0.0.1 -c fsync=$fsync -c max_connections=200\" start >/dev/null"; then
      echo "$dir postgresql://postgres@127.0.0.1:$port"
      exit 0
    fi
  done
  cat "$dir/log/server" >&2
  exit 1
  ;;
stop)
  dir=${2:?usage: cluster.sh stop DIR}
  [ -d "$dir/data" ] && as_pg "$PGBIN/pg_ctl -D $dir/data -m immediate -w stop >/dev/null 2>&1" || true
  rm -rf "$dir"
  ;;
restart)
  dir=${2:?usage: cluster.sh restart DIR [immediate]}
  . "$dir/conf"
  as_pg "$PGBIN/pg_ctl -D $dir/data -m ${3:-fast} -w stop >/dev/null"
  as_pg "$PGBIN/pg_ctl -D $dir/data -l $dir/log/server -w -t 30 -o \"-p $port -k $dir/sock -c listen_addresses=127.0.0.1 -c fsync=$fsync -c max_connections=200\" start >/dev/null"
  ;;
*)
  echo "usage: $0 start [fsync] | stop DIR | restart DIR [immediate]" >&2
  exit 2
  ;;
esac
