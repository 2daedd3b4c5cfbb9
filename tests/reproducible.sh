#!/usr/bin/env bash
# reproducible.sh: clones HEAD into two different directories, runs `make release`
# in each, and checks that bin/podup, the .deb and the .rpm are byte-identical.
# Exit 1 when any differs.
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
differ=0
for f in bin/podup $(cd "$work/a/one" && ls dist/*.deb dist/*.rpm); do
  one=$(sha256sum < "$work/a/one/$f" | cut -d' ' -f1)
  two=$(sha256sum < "$work/b/second-place/$f" 2>/dev/null | cut -d' ' -f1)
  echo "$f"
  echo "  build in $work/a/one:          $one"
  echo "  build in $work/b/second-place: $two"
  [[ $one == "$two" ]] || { echo "  NOT reproducible"; differ=1; }
done
if ((differ)); then exit 1; fi
echo "reproducible: identical"
