#!/usr/bin/env bash
# make lint: functions we do not use (unbounded or thread-unsafe), raw
# allocation outside alloc.c, and formatting drift.
set -uo pipefail
cd "$(dirname "$0")/.."
rc=0
banned='\b(sprintf|vsprintf|strcpy|strcat|strncpy|strncat|gets|strtok|atoi|atol|gmtime|localtime|asctime|ctime|tmpnam|mktemp)[[:space:]]*\('
if grep -nE "$banned" src/*.c src/*.h; then
  echo "lint: banned function (use snprintf, memcpy with lengths, strtol, the _r variants)" >&2
  rc=1
fi
if grep -nE '\b(malloc|calloc|realloc|strdup|strndup)[[:space:]]*\(' src/*.c | grep -v '^src/alloc.c:' | grep -vE 'hs_(malloc|calloc|realloc|strdup|strndup)'; then
  echo "lint: allocate through alloc.h (hs_malloc...), which handles failure in one place" >&2
  rc=1
fi
if command -v clang-format >/dev/null; then
  bad=$(for f in src/*.c src/*.h; do clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || echo "$f"; done)
  if [ -n "$bad" ]; then
    echo "lint: not clang-formatted (run make format):" $bad >&2
    rc=1
  fi
fi
[ $rc -eq 0 ] && echo "lint: ok"
exit $rc
