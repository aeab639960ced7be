#!/usr/bin/env bash
# Installs the Debian packages hookstream needs, only those missing.
#   install-deps.sh build   the compiler and libraries (make, make run), and
#                           cmocka, so that make check needs nothing more
#   install-deps.sh test    the above plus what the test suite and benches use,
#                           and the npm test peers in tests/peers (npm ci)
set -euo pipefail
what=${1:-build}
pkgs=(gcc make pkg-config libuv1-dev libhttp-parser-dev libcurl4-openssl-dev libwslay-dev
      libssl-dev libjansson-dev libsqlite3-dev libpq-dev libjemalloc-dev libcmocka-dev)
if [ "$what" = test ]; then
  pkgs+=(nginx-light wrk sqlite3 procps rabbitmq-server chromium postgresql-15)
  # make fuzz-bins (the fuzz smoke of make test): clang, and libFuzzer with
  # the sanitizer runtimes, which clang-14 only recommends
  pkgs+=(clang-14 libclang-rt-14-dev)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# node may come from Debian or elsewhere: ask for the command, not the package
if [ "$what" = test ]; then
  command -v node >/dev/null || missing+=(nodejs)
  command -v npm >/dev/null || missing+=(npm)
fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "hookstream: missing Debian packages: ${missing[*]}" >&2
    echo "run as root, or: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "hookstream: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null || true
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
[ "$what" = test ] || exit 0
# npm peers the integration tests start (s3rver, local-aws-sqs, aws4, ...):
# pinned by tests/peers/package-lock.json, installed when node_modules is
# missing or older than the lock file
peers="$(cd "$(dirname "$0")/.." && pwd)/tests/peers"
if [ ! -f "$peers/package-lock.json" ]; then
  echo "hookstream: generating tests/peers/package-lock.json (commit it)" >&2
  (cd "$peers" && npm install --package-lock-only --no-audit --no-fund --loglevel=error >/dev/null)
fi
# every peer package.json names must be there (smtp-server for the e-mail
# channels' tests, ...): a node_modules newer than the lock can still lack one
peers_present() {
  (cd "$peers" && node -e 'const fs = require("fs");
    for (const d of Object.keys(require("./package.json").dependencies))
      if (!fs.existsSync("node_modules/" + d + "/package.json")) { console.error("missing npm peer " + d); process.exit(1); }')
}
if [ ! -d "$peers/node_modules" ] || [ "$peers/package-lock.json" -nt "$peers/node_modules" ] || ! peers_present 2>/dev/null; then
  echo "hookstream: installing npm test peers (tests/peers)" >&2
  (cd "$peers" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  touch "$peers/node_modules"
  peers_present || exit 1
fi
