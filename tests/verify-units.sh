#!/usr/bin/env bash
# verify-units.sh PODUP: checks every unit in units/ with `systemd-analyze verify`
# and prints the `systemd-analyze security --offline=yes` exposure of the services;
# it fails when the system podup.service is at 2.5 or above (issue 9's bound).
# The units are copied to a scratch directory with ExecStart= pointing at PODUP,
# because verify refuses a unit whose binary does not exist.
set -euo pipefail
podup=${1:?usage: verify-units.sh PATH-TO-PODUP}
top=$(cd "$(dirname "$0")/.." && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
fail=0
for scope in system user; do
  src=$top/units; flag=; [[ $scope == user ]] && { src=$top/units/user; flag=--user; }
  dir=$scratch/$scope; mkdir -p "$dir"
  for u in "$src"/*.socket "$src"/*.service "$src"/*.timer; do
    sed -E "s|^ExecStart=[^ ]*podup|ExecStart=$podup|" "$u" > "$dir/$(basename "$u")"
  done
  # A template is verified through an instance of it.
  units=()
  for u in "$dir"/*; do
    case $u in *@.service) cp "$u" "${u%@.service}@0.service"; units+=("${u%@.service}@0.service");; *) units+=("$u");; esac
  done
  export XDG_RUNTIME_DIR=$scratch/xdg; mkdir -p -m 0700 "$XDG_RUNTIME_DIR"
  out=$(cd "$dir" && SYSTEMD_LOG_LEVEL=notice systemd-analyze verify $flag --man=no "${units[@]}" 2>&1) || { echo "$out"; fail=1; }
  # verify exits 0 on some warnings; any output about our units is a finding.
  if grep -F "$dir" <<<"$out" >/dev/null; then echo "$out"; fail=1; fi
  echo "verify ($scope): $( ((fail)) && echo FAILED || echo ok)"
  for u in "$dir"/*.service; do
    [[ $u == *@.service ]] && continue
    score=$(cd "$dir" && systemd-analyze security $flag --offline=yes --no-pager "$u" 2>&1 | awk '/Overall exposure level/{for (i = 1; i <= NF; i++) if ($i ~ /^[0-9.]+$/) print $i, $(i+1)}')
    echo "exposure ($scope) $(basename "$u"): ${score:-unknown}"
    if [[ $scope == system && $(basename "$u") == podup.service ]] && ! awk -v s="${score%% *}" 'BEGIN { exit !(s != "" && s < 2.5) }'; then
      echo "podup.service exposure ${score:-unknown}: must stay under 2.5"; fail=1
    fi
  done
done
exit $fail
