#!/usr/bin/env bash
# Runs the panel's checks that need Node: the JSDoc type check (tsc) and the
# browser tests (playwright-core driving Debian's chromium against podup demo).
# When something they need is missing: as root, or with PODUP_REAL_TESTS=require
# (CI), fails with the fix (tests/setup.sh installs it before `make test`); as
# another user, which installs nothing, prints SKIPPED and why.
set -euo pipefail
cd "$(dirname "$0")/../.."
what=${1:-all}

missing() {
  if [[ $(id -u) != 0 && ${PODUP_REAL_TESTS:-} != require ]]; then
    echo "SKIPPED browser tests ($what): $1"
    exit 0
  fi
  echo "browser tests: $1" >&2
  exit 1
}
command -v node >/dev/null || missing "node is not installed (Node 20 or newer is needed)"
[[ -d node_modules/typescript && -d node_modules/playwright-core ]] ||
  missing "node_modules is missing or incomplete: run 'npm ci'"

if [[ $what == all || $what == typecheck ]]; then
  node_modules/.bin/tsc --checkJs --noEmit -p tsconfig.json
  echo "typecheck: web/js is consistent with its JSDoc types"
fi
if [[ $what == all || $what == browser ]]; then
  chromium=${CHROMIUM:-/usr/bin/chromium}
  [[ -x $chromium ]] || missing "$chromium is missing: apt-get install chromium (or set CHROMIUM)"
  [[ -x target/debug/podup ]] || missing "target/debug/podup is missing: run 'cargo build'"
  node --test --test-concurrency=1 tests/browser/
fi
