#!/usr/bin/env bash
# Runs every libFuzzer harness in $FUZZ_BUILD (make fuzz-bins builds them)
# for FUZZ_SECONDS each, on a scratch copy of its seed corpus
# (tests/fuzz/corpus/<name>/) plus its regressions (tests/fuzz/regressions/
# <name>/), with its dictionary when there is one. Nothing is written into
# the repository: new inputs and crash files go to a temporary directory;
# a crashing input is copied to $FUZZ_BUILD/crashes/<name>/.
#
# Fails on any crash, leak, UBSan report or timeout. Prints one line per
# harness and, like tests/run.sh, "fuzz: N passed, N failed" at the end.
#   FUZZ_SECONDS=10 tests/fuzz/run.sh          every harness, 10 s each
#   FUZZ_ONLY="url sigv4" tests/fuzz/run.sh    some of them
set -uo pipefail
cd "$(dirname "$0")/../.."
FUZZ_BUILD=${FUZZ_BUILD:-build/fuzz}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
passed=0
failed=0
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

names=${FUZZ_ONLY:-$(ls tests/fuzz/fuzz_*.c | sed 's|tests/fuzz/fuzz_||; s|\.c$||')}
for name in $names; do
  bin=$FUZZ_BUILD/fuzz_$name
  if [ ! -x "$bin" ]; then
    echo "FAIL fuzz_$name (not built: make fuzz-bins)"
    failed=$((failed + 1))
    continue
  fi
  work=$scratch/$name
  mkdir -p "$work/corpus" "$work/artifacts"
  cp tests/fuzz/corpus/"$name"/* "$work/corpus/" 2>/dev/null
  dirs=("$work/corpus")
  [ -d tests/fuzz/regressions/"$name" ] && dirs+=(tests/fuzz/regressions/"$name")
  opts=(-max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 -max_len=65536
        -print_final_stats=1 -artifact_prefix="$work/artifacts/")
  [ -f tests/fuzz/"$name".dict ] && opts+=(-dict=tests/fuzz/"$name".dict)
  "$bin" "${opts[@]}" "${dirs[@]}" >"$work/log" 2>&1
  rc=$?
  execs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$work/log" | grep -Eo '[0-9]+$' | tail -1)
  cov=$(grep -Eo 'cov: [0-9]+' "$work/log" | tail -1 | grep -Eo '[0-9]+')
  if [ "$rc" -eq 0 ] && ! grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:' "$work/log"; then
    echo "ok   fuzz_$name (${execs:-?} runs in ${FUZZ_SECONDS} s, cov: ${cov:-?})"
    passed=$((passed + 1))
  else
    echo "FAIL fuzz_$name (exit $rc)"
    grep -E -A40 'ERROR:|runtime error:|invariant failed' "$work/log" | head -80
    mkdir -p "$FUZZ_BUILD/crashes/$name"
    cp "$work"/artifacts/* "$FUZZ_BUILD/crashes/$name/" 2>/dev/null &&
      echo "     reproducer(s): $FUZZ_BUILD/crashes/$name/ (run: $bin <file>)"
    failed=$((failed + 1))
  fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
