#!/bin/sh
# Runs each fuzz target for FUZZ_SECS seconds (default 60) on its seeds (fuzz/seeds/<target>,
# read only) and the corpus earlier runs grew (fuzz/corpus/<target>, not committed), then
# prints what it did. Stops at the first target that finds a failure: the input is then in
# fuzz/artifacts/<target>/ and the whole log in fuzz/logs/<target>.log. See docs/fuzzing.md.
#
#   fuzz/run.sh [TARGET...]      default: every target
set -eu
cd "$(dirname "$0")/.."
CARGO=${CARGO:-cargo}
secs=${FUZZ_SECS:-60}
targets=${*:-http_framing github_payload sender_payload podman_json quadlet sink_line registry_answer policy_values}

# cargo-fuzz builds with nightly-only flags (-Zsanitizer=address and friends); RUSTC_BOOTSTRAP
# lets the stable toolchain accept them.
export RUSTC_BOOTSTRAP=1
if ! "$CARGO" fuzz --version >/dev/null 2>&1; then
  "$CARGO" install --locked cargo-fuzz
fi

mkdir -p fuzz/logs
for t in $targets; do
  mkdir -p "fuzz/corpus/$t"
  log="fuzz/logs/$t.log"
  # -max_len: room for a request head past the 16 KiB limit; -timeout: an input that takes
  # longer than 10 s is reported as a hang.
  if ! "$CARGO" fuzz run "$t" "fuzz/corpus/$t" "fuzz/seeds/$t" -- \
    -max_total_time="$secs" -max_len=24576 -timeout=10 -print_final_stats=1 >"$log" 2>&1; then
    tail -n 40 "$log"
    echo "fuzz: $t failed; the input is in fuzz/artifacts/$t/, the log in $log" >&2
    exit 1
  fi
  runs=$(sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\1 runs in \2 s/p' "$log")
  corp=$(sed -n 's/.*DONE.* corp: \([0-9]*\)\/.*/\1/p' "$log")
  files=$(find "fuzz/corpus/$t" -type f | wc -l)
  echo "fuzz: $t: $runs, corpus $corp entries ($files files in fuzz/corpus/$t), no failure"
done
