#!/usr/bin/env bash
# What `make test` runs first: installs what the tests need when it is missing.
#   as root: the Debian packages of tests/packages.txt that are not installed (apprise
#            among them: the bookworm bed's podup runs on the host), the trixie bed's root
#            file system when it is missing (tests/real/trixie-harness.sh root: 30-100 s
#            with the mirror's speed, 600 MB in /var/cache/podup-tests; it also holds
#            ntfy, which Debian 12 lacks, for the notification tests on both beds), and
#            `npm ci` when node_modules is missing or older than package-lock.json;
#   not root: installs nothing, and says in one line what would, and what the test
#            run will skip for want of it.
# Installs only what is missing, so a second run on a set-up machine changes nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

mapfile -t wanted < <(sed 's/#.*//; s/[[:space:]]//g; /^$/d' tests/packages.txt)
missing=()
for p in "${wanted[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ $status == "install ok installed" ]] || missing+=("$p")
done

stale_modules() {
  [[ ! -d node_modules/typescript || ! -d node_modules/playwright-core ]] && return 0
  [[ package-lock.json -nt node_modules/.package-lock.json ]]
}

if [[ $(id -u) == 0 ]]; then
  if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  # the trixie bed's root file system (cached; built only when its package list changed)
  tests/real/trixie-harness.sh root
  if stale_modules; then
    command -v npm >/dev/null || { echo "setup: npm is missing (Node 20 or newer is needed)" >&2; exit 1; }
    echo "setup: npm ci (node_modules is missing or older than package-lock.json)"
    npm ci --no-audit --no-fund --loglevel=error
  fi
  exit 0
fi

# Not root: install nothing; name the command and what goes untested without it.
would=() skipped=()
if ((${#missing[@]})); then
  would+=("sudo apt-get install --no-install-recommends ${missing[*]}")
  skipped+=("real tests (tests/real)")
  [[ " ${missing[*]} " == *" chromium "* ]] && skipped+=("browser tests")
fi
if stale_modules; then
  would+=("npm ci")
  skipped+=("the panel's type check" "browser tests")
fi
if ((${#would[@]})); then
  mapfile -t skipped < <(printf '%s\n' "${skipped[@]}" | awk '!seen[$0]++')
  joined=$(IFS=','; echo "${skipped[*]}" | sed 's/,/, /g')
  echo "setup: not root, installing nothing; '$(IFS=';'; echo "${would[*]}" | sed 's/;/ \&\& /g')' (or 'sudo make test') would install the rest; skipping: $joined"
fi
