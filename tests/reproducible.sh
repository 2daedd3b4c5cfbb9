#!/usr/bin/env bash
# reproducible.sh: clones HEAD into two different directories, runs `make release`
# in each, and checks that bin/podup is byte-identical. Exit 1 when it differs.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
# Both builds use this one commit, even if HEAD moves while they run.
commit=$(git -C "$top" rev-parse HEAD)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for d in a/one b/second-place; do
  git clone -q --no-checkout "$top" "$work/$d"
  git -C "$work/$d" checkout -q "$commit"
done
echo "commit $commit"
for d in a/one b/second-place; do
  (cd "$work/$d" && make -s release >/dev/null 2>"$work/$(basename "$d").log") || { cat "$work/$(basename "$d").log"; exit 1; }
done
one=$(sha256sum < "$work/a/one/bin/podup" | cut -d' ' -f1)
two=$(sha256sum < "$work/b/second-place/bin/podup" | cut -d' ' -f1)
echo "build in $work/a/one:          $one"
echo "build in $work/b/second-place: $two"
if [[ $one == "$two" ]]; then echo "reproducible: identical"; else echo "NOT reproducible"; exit 1; fi
