#!/usr/bin/env bash
# Runs every test: the cmocka unit tests (each its own process, with a
# timeout), then the integration tests (node's test runner, each file its own
# process) against the real binary. Prints one closing line:
#   "tests: N passed, N failed"
# --unit-only runs the unit tests alone (make check): no node, no network.
set -uo pipefail
unit_only=
[ "${1:-}" = --unit-only ] && unit_only=1
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export HOOKSTREAM_BIN=${HOOKSTREAM_BIN:-$PWD/$BUILD/hookstream}
export BUILD
passed=0
failed=0
log=$(mktemp -d)
summary() {
  echo
  echo "tests: $passed passed, $failed failed"
  [ "$failed" -eq 0 ]
}

if [ -n "${HOOKSTREAM_ASAN:-}" ]; then
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
fi

# A PostgreSQL cluster (tests/pg/cluster.sh) for the store conformance suite
# and the integration core on PostgreSQL; stopped on exit. HOOKSTREAM_NO_PG=1
# (or --unit-only) runs on SQLite only.
# PG_CORE: the integration files run again on PostgreSQL (none by default
# when TEST_FILES picks files).
if [ -n "${TEST_FILES:-}" ]; then PG_CORE=${PG_CORE:-}; else
  PG_CORE=${PG_CORE-"ingest delivery retry circuit delivery_crash backlog filters api_sources api_destinations api_connections api_keys dedup replay issues alerts notifications metrics"}
fi
pg_dir=
if [ -z "$unit_only" ] && [ -z "${HOOKSTREAM_NO_PG:-}" ]; then
  if pg=$(tests/pg/cluster.sh start); then
    pg_dir=${pg%% *}
    export HOOKSTREAM_TEST_PG=${pg#* }
  else
    echo "FAIL cannot start PostgreSQL (tests/pg/cluster.sh)"
    failed=$((failed + 1))
  fi
fi
trap 'rm -rf "$log"; [ -z "$pg_dir" ] || tests/pg/cluster.sh stop "$pg_dir"' EXIT

# cmocka NAME OUT SECONDS PROGRAM...: run one test program, add its counts
cmocka() {
  local name=$1 out=$2 secs=$3
  shift 3
  if timeout "$secs" "$@" >"$out" 2>&1; then
    n=$(grep -Eo '\[  PASSED  \] [0-9]+' "$out" | grep -Eo '[0-9]+$' | tail -1)
    passed=$((passed + ${n:-1}))
    echo "ok   $name (${n:-1} tests)"
  else
    n=$(grep -Eo '\[  FAILED  \] [0-9]+' "$out" | grep -Eo '[0-9]+$' | tail -1)
    failed=$((failed + ${n:-1}))
    echo "FAIL $name"
    cat "$out"
  fi
}

echo "== unit tests"
for t in "$BUILD"/tests/test_*; do
  [ -x "$t" ] || continue
  name=$(basename "$t")
  cmocka "$name" "$log/$name.out" 120 "$t"
done
if [ -n "${HOOKSTREAM_TEST_PG:-}" ] && [ -x "$BUILD/tests/test_store_conformance" ]; then
  cmocka "test_store_conformance on PostgreSQL" "$log/conformance_pg.out" 300 \
    env HOOKSTREAM_TEST_STORE="$HOOKSTREAM_TEST_PG/{name}" "$BUILD/tests/test_store_conformance"
fi
if [ -n "$unit_only" ]; then
  [ "$passed$failed" != 00 ] || { echo "FAIL no unit test programs in $BUILD/tests"; failed=1; }
  summary
  exit
fi

# make test sets FUZZ_SMOKE=1: each libFuzzer harness (tests/fuzz, built
# into build/fuzz by make fuzz-bins) runs briefly; each counts as one test.
if [ -n "${FUZZ_SMOKE:-}" ]; then
  echo "== fuzz smoke (${FUZZ_SMOKE_SECONDS:-10} s per harness)"
  FUZZ_SECONDS=${FUZZ_SMOKE_SECONDS:-10} tests/fuzz/run.sh | tee "$log/fuzz" | grep -v '^fuzz: '
  line=$(grep -E '^fuzz: [0-9]+ passed, [0-9]+ failed$' "$log/fuzz" | tail -1)
  p=$(echo "$line" | grep -Eo '[0-9]+' | head -1)
  f=$(echo "$line" | grep -Eo '[0-9]+' | tail -1)
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-1}))
fi

# One run of node's test runner over files ($2), its counts added.
integration() {
echo "== integration tests$1"
files=$2
# The runner gets a session of its own (its id in $log/sid): whatever the
# tests start stays in it, so what they leave running (lib/children.mjs
# kills its children unless the test process dies by SIGKILL) is found
# afterwards, killed, and counted as a failure. Ctrl-C is passed on.
# The counts come from the spec reporter's closing lines, on node's stdout
# (a file here, written synchronously): with --test-force-exit a reporter
# stream of its own (--test-reporter-destination=FILE) loses its last
# lines, the summary among them, and the run counted no integration test.
: >"$log/spec" # before tail -f opens it (it gives up on a missing file)
setsid -w sh -c 'echo $$ >"$0"; exec "$@"' "$log/sid" \
  node --test --test-force-exit --test-timeout=180000 --test-concurrency=2 \
  --test-reporter=spec --test-reporter-destination=stdout $files >"$log/spec" &
node_pid=$!
tail -n +1 -f --pid="$node_pid" "$log/spec" & # shown as it runs; ends after node
tail_pid=$!
trap 'kill -TERM -- "-$(cat "$log/sid")" 2>/dev/null' INT TERM
wait "$node_pid"
node_rc=$?
while kill -0 "$node_pid" 2>/dev/null; do wait "$node_pid"; node_rc=$?; done # woken by a signal
trap - INT TERM
wait "$tail_pid"
# live processes of that session (zombies are dead already), after a grace
left_over() { ps -e -o pid=,sid=,stat=,args= | awk -v s="$(cat "$log/sid" 2>/dev/null)" '$2 == s && $3 !~ /^Z/'; }
for _ in 1 2 3 4 5 6 7 8 9 10; do [ -z "$(left_over)" ] && break; sleep 0.2; done
left=$(left_over)
if [ -n "$left" ]; then
  echo "FAIL the integration tests left processes running; killed:"
  echo "$left"
  kill -KILL $(echo "$left" | awk '{print $1}') 2>/dev/null
  failed=$((failed + 1))
fi
p=$(grep -E '^ℹ pass [0-9]+$' "$log/spec" | grep -Eo '[0-9]+' | tail -1)
f=$(grep -E '^ℹ fail [0-9]+$' "$log/spec" | grep -Eo '[0-9]+' | tail -1)
[ -n "$p" ] || { echo "FAIL no summary from the integration runner"; failed=$((failed + 1)); }
passed=$((passed + ${p:-0}))
failed=$((failed + ${f:-0}))
if [ "$node_rc" -ne 0 ] && [ "${f:-0}" -eq 0 ]; then failed=$((failed + 1)); fi

}

integration "" "${TEST_FILES:-$(ls tests/integration/*.test.mjs)}"
# The core of the suite again with every server on PostgreSQL (a database
# of its own each, tests/integration/lib/server.mjs)
if [ -n "${HOOKSTREAM_TEST_PG:-}" ] && [ -n "$PG_CORE" ]; then
  pg_files=""
  for f in $PG_CORE; do pg_files="$pg_files tests/integration/$f.test.mjs"; done
  HOOKSTREAM_TEST_SERVER_PG=$HOOKSTREAM_TEST_PG integration " on PostgreSQL" "$pg_files"
fi

summary
