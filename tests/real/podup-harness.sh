#!/usr/bin/env bash
# podup-harness.sh - a REAL `systemd --user` manager + REAL podman + a local
# docker-registry for podup's real-component tests (tests/real/), on a host
# whose PID 1 is not systemd.
#
#   podup-harness.sh up     DIR            start registry + manager, wait until ready
#   podup-harness.sh exec   DIR -- CMD...  run CMD inside the harness (namespace + env)
#   podup-harness.sh env    DIR            print the exec environment (sh syntax)
#   podup-harness.sh status DIR            rc 0 when everything is up
#   podup-harness.sh image  DIR REF VERSION [CMD]
#                                          build a busybox image in SEPARATE storage,
#                                          push it to the local registry, print digest
#                                          (CMD: shell command, or a JSON exec array;
#                                          PODUP_IMAGE_SPECIAL=1 adds /special: set-uid,
#                                          device node, other owner, file capability,
#                                          and a whiteout in a second layer)
#   podup-harness.sh powercycle DIR        a power cut and a boot: SIGKILL the manager and
#                                          all it runs, start a new one; storage, home,
#                                          state database and registry stay (see cmd_powercycle)
#   podup-harness.sh down   DIR            stop everything, remove cgroups and DIR
#
# How it works (tests/real/README.md; the design notes are the shared
# real-systemd.md this script was adapted from - the shared podup-harness.sh,
# copied into the repository so a fresh clone has everything it needs):
#   * Registry: `docker-registry serve` on 127.0.0.1:0 - the kernel picks the
#     port, so harnesses run side by side without a free-port race; the port
#     is read back from /proc/net/tcp. It gets its own cgroup so `down` can
#     find everything it left behind.
#   * Manager: `systemd --user` refuses to start unless /run/systemd/system
#     exists. In a PRIVATE mount namespace (unshare -m) we mount a fresh tmpfs
#     on /run and /dev/shm (mount -n: plain mount writes /run/mount on the
#     host), create /run/systemd/system and exec `systemd --user` there.
#     Links make system-mode clients reach the same manager, so production code
#     that calls plain `systemctl` / `systemd-run` runs unchanged:
#       /run/systemd/private         -> $XDG_RUNTIME_DIR/systemd/private  (systemctl, podman auto-update)
#       /run/dbus/system_bus_socket  -> $XDG_RUNTIME_DIR/bus              (systemd-run, busctl, runc)
#       /run/user/0                  -> $XDG_RUNTIME_DIR
#   * /run/systemd/inaccessible/* nodes: a booted system has them and
#     sandboxing options (ProtectHome=, InaccessiblePaths=, ...) bind-mount
#     them; without them a hardened unit fails with 226/NAMESPACE.
#   * cgroups: before exec'ing systemd the namespace shell moves itself into
#     its own cgroup in the name=systemd hierarchy AND in the cgroup2 hierarchy.
#     With only one of them moved, systemd believes it sits in "/" and migrates
#     every process of the machine into /init.scope. The script refuses to exec
#     systemd unless both moves are verified. A substitute /proc/1/cgroup is
#     bind-mounted so runc puts container cgroups under ours, not the host root.
#   * /var/lib is overlaid inside the namespace (podman writes a blob cache
#     there whatever storage is configured); /var/tmp gets a private tmpfs.
#   * podman/buildah use per-harness storage (DIR/storage) and a containers.conf
#     that selects runc (crun fails on this cgroup-v1 hybrid VM), sets ulimits
#     within the hard limits (no CAP_SYS_RESOURCE), network "none", k8s-file
#     logs and file events (there is no journald). registries.conf marks the
#     local registry insecure (podman 4.3's auto-update has no --tls-verify).
#   * Images are built with buildah in SEPARATE storage and pushed, so the
#     digest podman pulls equals the registry's Docker-Content-Digest.
#   * Every podman/systemctl call runs inside the namespace (nsenter -t <manager> -m).
#
# SAFETY: refuses to run unless root with every tool present and DIR plain
# and absolute; never starts systemd as a system manager (only `systemd
# --user`, and never as PID 1 of a pid namespace: a system manager runs
# sysinit on the shared host and once deleted all of /tmp); never writes the
# root cgroup's procs files; only kills processes whose pid+start time it
# recorded, or that sit in the cgroups / mount namespace it created; removes
# DIR only when DIR carries its marker file. Everything it creates lives under
# DIR, except the cgroup directories podup-<hash> (removed by `down`) and the
# mounts, which live in the private namespace and die with it. Containers get
# no network (netns "none"; never bridge).
#
# Environment knobs:
#   PODUP_REGISTRY_ACCESSLOG=1
#                         the registry writes its access log (one line a request,
#                         Apache combined format) to logs/registry.log
#   PODUP_REGISTRY_NOTIFY_URL, PODUP_REGISTRY_NOTIFY_SECRET
#                         the registry sends its notifications there (loopback
#                         http URL; Authorization: Bearer SECRET); unset: none
#   PODUP_REGISTRY_PORT   fixed registry port (default: a free port chosen by the
#                         kernel; read it from $PODUP_REGISTRY = localhost:PORT)
#   PODUP_STORAGE_DRIVER  overlay (default) or vfs
#   PODUP_UP_TIMEOUT      seconds to wait for readiness (default 30)
#   PODUP_QUADLET_BIN     a quadlet binary (podman >= 4.4) to install as user generator
#   PODUP_IMAGE_PAD_MB    `image` adds /pad with this many MiB of random bytes (a big
#                         layer that takes a while to pull through a slow proxy)
#   PODUP_DEBUG=1         set -x
set -euo pipefail
[[ ${PODUP_DEBUG:-0} == 1 ]] && set -x

SELF=$(readlink -f "${BASH_SOURCE[0]}")
MARKER=.podup-harness
SYSTEMD_BIN=/lib/systemd/systemd
# keep the caller's PATH first (tests may put mocks there); make sure sbin dirs exist
PATH=${PATH:-/usr/bin:/bin}; for p in /usr/sbin /usr/bin /sbin /bin; do [[ :$PATH: == *:$p:* ]] || PATH+=:$p; done

die()  { echo "podup-harness: $*" >&2; exit 1; }
# preflight: refuse to run when it cannot be done safely. Root is needed for
# unshare -m, mounts and cgroup writes; every tool must be present up front, so
# a missing one fails `up` before anything was started.
INSTALL_HINT="apt-get install --no-install-recommends podman buildah skopeo docker-registry runc busybox-static dbus-user-session"
# (`down` needs root only: it must still clean up after a tool went missing)
preflight() {
  [[ $(id -u) == 0 ]] || die "must run as root (unshare -m, mounts, cgroup writes)"
  [[ ${1:-} == root-only ]] && return 0
  [[ -x $SYSTEMD_BIN ]] || die "$SYSTEMD_BIN missing"
  [[ -x /bin/busybox ]] || die "/bin/busybox missing ($INSTALL_HINT)"
  local c
  for c in podman buildah skopeo docker-registry runc conmon nsenter unshare setsid findmnt \
           curl dbus-daemon python3 sha1sum awk; do
    command -v "$c" >/dev/null || die "missing $c ($INSTALL_HINT)"
  done
}
log()  { echo "podup-harness: $*" >&2; }
now()  { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.2f", b-a}'; }

usage() { sed -n '2,/^# How it works/p' "$SELF" | sed '$d; s/^# \{0,1\}//'; exit 2; }

# ---------------------------------------------------------------- paths ----
# set_paths DIR: defines every path of the layout. DIR must be absolute and
# plain (it ends up in unit files, configs and socket paths).
set_paths() {
  local d=$1
  [[ $d == /* ]] || die "DIR must be absolute: $d"
  [[ $d =~ ^/[A-Za-z0-9._/+-]+$ ]] || die "DIR may only contain [A-Za-z0-9._/+-]: $d"
  D=${d%/}; [[ -n $D && $D != / ]] || die "refusing DIR=/"
  case $D in /|/tmp|/run|/root|/home|/usr|/etc|/var) die "refusing DIR=$D";; esac
  case $D/ in /run/*|/dev/*|/proc/*|/sys/*|/var/lib/*|/var/tmp/*) die "DIR must not be below /run, /dev, /proc, /sys, /var/lib or /var/tmp (masked in the namespace)";; esac
  STATE=$D/state;  CONF=$D/conf;  LOGS=$D/logs;  BIN=$D/bin
  XRT=$D/xdg/runtime                      # XDG_RUNTIME_DIR of the manager
  HOMEDIR=$D/home                         # HOME/XDG_* of the manager
  UNITDIR=$HOMEDIR/.config/systemd/user   # persistent user unit dir
  QUADLETDIR=$HOMEDIR/.config/containers/systemd
  TMPD=$D/tmp
  # cgroup name: stable per DIR, so a crashed run can be cleaned from DIR alone
  CG=podup-$(printf %s "$D" | sha1sum | cut -c1-12)
  (( ${#XRT} + 20 < 108 )) || die "DIR too long for unix socket paths ($XRT)"
}

# cgroup mounts that matter: the named systemd v1 hierarchy and cgroup2.
# (On a pure cgroup2 host only the latter exists.)
cgroup_mounts_manager() {
  awk '$9=="cgroup2"{print $5} $9=="cgroup" && $NF ~ /(^|,)name=systemd(,|$)/{print $5}' /proc/self/mountinfo
}
# every cgroup mount (v1 controllers too): used for cleanup only
cgroup_mounts_all() { awk '$9=="cgroup2"||$9=="cgroup"{print $5}' /proc/self/mountinfo; }

# ---------------------------------------------------------------- pids -----
starttime() { # field 22 of /proc/PID/stat (after the parenthesised comm)
  local s; s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  s=${s##*) }; set -- $s; echo "${20}"
}
# alive PID: exists and is not a zombie (PID 1 of this VM reaps orphans ~2 s late)
alive() { local s; s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1; s=${s##*) }; [[ ${s:0:1} != Z ]]; }
# alive_recorded NAME: true when state/NAME.pid is alive with the recorded start time
alive_recorded() {
  local n=$1 pid st
  [[ -f $STATE/$n.pid && -f $STATE/$n.start ]] || return 1
  pid=$(<"$STATE/$n.pid"); st=$(<"$STATE/$n.start")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  [[ $(starttime "$pid" 2>/dev/null) == "$st" ]] && alive "$pid"
}
recorded_pid() { cat "$STATE/$1.pid"; }

# kill_and_wait PID...: SIGTERM, wait up to KILL_WAIT tenths of a second (default
# 50), then SIGKILL survivors. Callers only pass pids proven to be ours.
kill_and_wait() {
  local pids=("$@") p t=0 left
  ((${#pids[@]})) || return 0
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  while :; do
    left=()
    for p in "${pids[@]}"; do alive "$p" && left+=("$p"); done
    ((${#left[@]})) || return 0
    if (( t >= ${KILL_WAIT:-50} )); then   # tenths of seconds
      log "SIGKILL ${left[*]}"
      for p in "${left[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
      sleep 0.2; return 0
    fi
    sleep 0.1; t=$((t+1))
  done
}

# our cgroup directories in every hierarchy: <mount>/podup-<hash>, or deeper
# in v1 controllers (e.g. memory:/process_api/<id>/podup-<hash>, see ns-init)
cgroup_dirs() {
  local m
  for m in $(cgroup_mounts_all); do
    find "$m" -maxdepth 4 -type d -name "$CG" -prune -print 2>/dev/null
  done
  return 0
}
# pids in our cgroup trees (all hierarchies) - they can only be ours
cgroup_pids() {
  local c
  for c in $(cgroup_dirs); do find "$c" -name cgroup.procs -exec cat {} + 2>/dev/null; done | sort -un
}
# pids living in our mount namespace (inode recorded at `up`)
ns_pids() {
  local ino=$1
  [[ $ino =~ ^[0-9]+$ ]] || return 0
  find /proc/[0-9]*/ns/mnt -maxdepth 0 -lname "mnt:?$ino?" 2>/dev/null | cut -d/ -f3
  return 0
}

# ---------------------------------------------------------------- env ------
# The environment of everything running "inside": the manager, units (they
# inherit it from the manager) and `exec`.
write_env() {
  {
    printf 'export %s=%q\n' \
      PODUP_HARNESS_DIR "$D" \
      PODUP_REGISTRY "localhost:$PORT" \
      PODUP_UNIT_DIR "$UNITDIR" \
      PODUP_QUADLET_DIR "$QUADLETDIR" \
      PODUP_GENERATOR_DIR "$D/user-generators" \
      PODUP_HOME "$HOMEDIR" \
      PODUP_LOGS "$LOGS" \
      XDG_RUNTIME_DIR "$XRT" \
      XDG_CONFIG_HOME "$HOMEDIR/.config" \
      XDG_DATA_HOME "$HOMEDIR/.local/share" \
      XDG_STATE_HOME "$HOMEDIR/.local/state" \
      XDG_CACHE_HOME "$HOMEDIR/.cache" \
      DBUS_SESSION_BUS_ADDRESS "unix:path=$XRT/bus" \
      CONTAINERS_CONF "$CONF/containers.conf" \
      CONTAINERS_REGISTRIES_CONF "$CONF/registries.conf" \
      CONTAINERS_STORAGE_CONF "$CONF/storage.conf" \
      TMPDIR "$TMPD"
  } > "$D/env"
}

write_configs() {
  local nofile nproc
  nofile=$(ulimit -Hn); [[ $nofile == unlimited ]] && nofile=1048576
  nproc=$(ulimit -Hu);  [[ $nproc == unlimited || $nproc -gt 32768 ]] && nproc=32768
  # podman 4.3 + this VM: crun fails (setrlimit EPERM, "cgroups in hybrid mode
  # not supported"); runc works once the default ulimits fit the hard limits.
  cat > "$CONF/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
log_driver = "k8s-file"
netns = "none"

[network]
network_backend = "cni"
network_config_dir = "$CONF/cni"

[engine]
runtime = "runc"
cgroup_manager = "systemd"
events_logger = "file"
events_logfile_path = "$LOGS/podman-events.log"
image_copy_tmp_dir = "$TMPD"
num_locks = 1024
EOF
  # runroot lives on the namespace's private /run tmpfs (short socket paths,
  # vanishes with the namespace); graphroot is under DIR.
  cat > "$CONF/storage.conf" <<EOF
[storage]
driver = "${PODUP_STORAGE_DRIVER:-overlay}"
graphroot = "$D/storage/graph"
runroot = "/run/containers/storage"
EOF
  cat > "$CONF/registries.conf" <<EOF
unqualified-search-registries = []
short-name-mode = "permissive"

[[registry]]
location = "localhost:$PORT"
insecure = true

[[registry]]
location = "127.0.0.1:$PORT"
insecure = true

# Docker Hub deliveries always mean docker.io: this one namespace of it (and never
# the real Docker Hub: no network) is the bed's registry, for the Docker Hub sender's test
[[registry]]
prefix = "docker.io/podup-hub"
location = "localhost:$PORT/podup-hub"
insecure = true
EOF
}


# the notifications endpoint a test asks for (PODUP_REGISTRY_NOTIFY_URL and
# PODUP_REGISTRY_NOTIFY_SECRET), in the registry's config.yml: only beds whose tests
# want the registry's own deliveries get them. The values go into YAML unquoted, so
# only a loopback http URL and a plain token are accepted.
notify_conf() {
  local url=${PODUP_REGISTRY_NOTIFY_URL:-} secret=${PODUP_REGISTRY_NOTIFY_SECRET:-}
  [[ -n $url ]] || return 0
  [[ $url =~ ^http://127\.0\.0\.1:[0-9]+(/[A-Za-z0-9/_.-]*)?$ ]] || die "PODUP_REGISTRY_NOTIFY_URL must be http://127.0.0.1:PORT/path, not '$url'"
  [[ $secret =~ ^[A-Za-z0-9._-]+$ ]] || die "PODUP_REGISTRY_NOTIFY_SECRET must be a plain token"
  cat <<EOF
notifications:
  endpoints:
    - name: podup
      url: $url
      headers:
        Authorization: [Bearer $secret]
      timeout: 1s
      threshold: 5
      backoff: 1s
EOF
}
# registry config; port 0 = the kernel picks a free port (no race between
# parallel harnesses); the real port is read back from /proc (listen_port)
write_registry_conf() {
  cat > "$CONF/registry.yml" <<EOF
version: 0.1
log:
  level: warn
  accesslog: {disabled: $([[ ${PODUP_REGISTRY_ACCESSLOG:-0} == 1 ]] && echo false || echo true)}
storage:
  filesystem: {rootdirectory: $D/registry}
  delete: {enabled: true}
  maintenance: {uploadpurging: {enabled: false}}
http:
  addr: 127.0.0.1:$1
  secret: podup-harness-local-only
EOF
  notify_conf >> "$CONF/registry.yml"
}
# listen_port PID: the TCP port PID listens on (LISTEN sockets in /proc/net/tcp)
listen_port() {
  local fd l inodes=" "
  for fd in /proc/"$1"/fd/*; do
    l=$(readlink "$fd" 2>/dev/null) || continue
    [[ $l == socket:\[*\] ]] && { l=${l#socket:[}; inodes+="${l%]} "; }
  done
  awk -v inodes="$inodes" '$4=="0A" && index(inodes, " " $10 " ") {split($2,a,":"); print a[2]; exit}' /proc/net/tcp |
    while read -r h; do [[ -n $h ]] && echo $((16#$h)); done
}

# The script executed (by unshare) inside the new mount namespace. It ends by
# exec'ing `systemd --user` - never anything else.
write_ns_init() {
  cat > "$BIN/ns-init.sh" <<EOF
#!/bin/bash
# generated by podup-harness.sh - runs inside a private mount namespace
set -euo pipefail
HOST_MNTNS='$(readlink /proc/self/ns/mnt)'
[[ \$(readlink /proc/self/ns/mnt) != "\$HOST_MNTNS" ]] || { echo "not in a private mount namespace" >&2; exit 1; }
[[ \$(findmnt -no PROPAGATION /) == private ]] || { echo "/ is not private in the namespace" >&2; exit 1; }
# systemd as PID 1 (of any pid namespace) would run as a SYSTEM manager: never
[[ \$\$ != 1 ]] || { echo "refusing to run as PID 1" >&2; exit 1; }

# fresh /run and /dev/shm: podman/runc/conmon state and libpod's SHM lock stay private.
# mount -n: without it mount(8) creates /run/mount (utab) on the HOST /run first.
mount -n -t tmpfs -o mode=0755,nosuid,nodev podup-run /run
mount -n -t tmpfs -o mode=1777,nosuid,nodev podup-shm /dev/shm
# podman pull / buildah push (as root) write the blob-info cache to
# /var/lib/containers/cache whatever --root says; catch every write to /var/lib
# with an overlay whose upper layer is in DIR. /var/tmp gets a private tmpfs.
mount -n -t overlay podup-varlib -o 'lowerdir=/var/lib,upperdir=$D/overlay/var-lib/upper,workdir=$D/overlay/var-lib/work' /var/lib
mount -n -t tmpfs -o mode=1777,nosuid,nodev podup-vartmp /var/tmp
mkdir -p /run/systemd/system /run/dbus /run/lock /run/user /run/containers
# sandboxing options (ProtectHome=, ProtectKernelTunables=, InaccessiblePaths=, ...) bind-mount
# /run/systemd/inaccessible/*; a booted system creates these nodes, this private /run must too,
# or hardened units fail with 226/NAMESPACE.
mkdir -p -m 0755 /run/systemd/inaccessible
mkdir -m 0 /run/systemd/inaccessible/dir
install -m 0 /dev/null /run/systemd/inaccessible/reg
mkfifo -m 0 /run/systemd/inaccessible/fifo
mknod -m 0 /run/systemd/inaccessible/chr c 0 0
mknod -m 0 /run/systemd/inaccessible/blk b 0 0
python3 -c 'import socket; socket.socket(socket.AF_UNIX).bind("/run/systemd/inaccessible/sock")'
chmod 0 /run/systemd/inaccessible/sock
ln -s /dev/shm /run/shm
ln -s '$XRT/systemd/private' /run/systemd/private
ln -s '$XRT/bus' /run/dbus/system_bus_socket
ln -s '$XRT' /run/user/0
# user generators: /run/systemd/user-generators is searched by the user manager;
# point it at DIR/user-generators (drop a generator there, then daemon-reload)
ln -s '$D/user-generators' /run/systemd/user-generators

# own cgroup in BOTH the name=systemd hierarchy and cgroup2 (see header)
for m in $(cgroup_mounts_manager | tr '\n' ' '); do
  mkdir -p "\$m/$CG/manager"
  echo \$\$ > "\$m/$CG/manager/cgroup.procs"
done
# verify: every name=systemd / cgroup2 line of /proc/self/cgroup must point at our cgroup
bad=\$(awk -F: '(\$2=="" || \$2 ~ /(^|,)name=systemd(,|\$)/) && \$3!="/$CG/manager"' /proc/self/cgroup)
[[ -z \$bad ]] || { echo "cgroup move failed: \$bad" >&2; exit 1; }

# runc's systemd cgroup driver computes a container's cgroup paths from
# /proc/1/cgroup (mountpoint + PID 1's path + machine.slice/libpod-ID.scope).
# The real PID 1 sits in "/", so runc would create /machine.slice in every host
# hierarchy, and \`podman exec\` fails because the user manager put the scope
# under /$CG/manager. In this namespace PID 1's cgroup file is replaced by ours:
# name=systemd + cgroup2 = /$CG/manager (where we are), v1 controllers =
# <our current path>/$CG/manager (runc creates those dirs; memory stays inside
# the caller's memory cgroup).
awk -F: 'BEGIN{OFS=":"} \$2=="" || \$2 ~ /(^|,)name=systemd(,|\$)/ {print; next}
         {p=\$3; if (p=="/") p=""; \$3=p "/$CG/manager"; print}' /proc/self/cgroup > '$STATE/pid1.cgroup'
mount -n --bind '$STATE/pid1.cgroup' /proc/1/cgroup

cd /
# clean environment (like a real user manager); units inherit it, plus the
# harness variables (CONTAINERS_*, XDG_*, PODUP_*) from DIR/env.
# Units inherit the manager's stdout/stderr (DIR/logs/units.log): no journald.
exec env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \\
     HOME='$HOMEDIR' USER=root LOGNAME=root SHELL=/bin/bash LANG=C.UTF-8 SYSTEMD_LOG_COLOR=0 \\
     \$(sed -n 's/^export //p' '$D/env') \\
     '$SYSTEMD_BIN' --user --log-target=console --log-level=info \\
     --default-standard-output=inherit --default-standard-error=inherit \\
     >>'$LOGS/units.log' 2>>'$LOGS/manager.log'
EOF
  chmod 0755 "$BIN/ns-init.sh"
}

# run a command inside the namespace with the harness environment
in_ns() {
  local pid; pid=$(recorded_pid manager)
  local wd=$PWD; case $wd in /run|/run/*|/dev/shm|/dev/shm/*) wd=/;; esac
  # shellcheck disable=SC1090
  (set -a; . "$D/env"; set +a; unset DBUS_SYSTEM_BUS_ADDRESS  # system bus = /run/dbus link
   exec nsenter -t "$pid" -m --wd="$wd" -- "$@")
}

# ---------------------------------------------------------------- status ---
is_up() {
  [[ -f $D/$MARKER ]] && alive_recorded manager && alive_recorded registry || return 1
  [[ $(readlink "/proc/$(recorded_pid manager)/ns/mnt") == "mnt:[$(<"$STATE/mntns")]" ]] || return 1
  local s; s=$(in_ns systemctl --user is-system-running 2>/dev/null || true)
  [[ $s == running || $s == degraded ]] || return 1
  curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$(<"$STATE/port")/v2/"
}

# ---------------------------------------------------------------- down -----
cmd_down() {
  set_paths "$1"
  local t0 tp phases=""; t0=$(now); tp=$t0
  phase() { phases+=" $1=$(elapsed "$tp")"; tp=$(now); }
  if [[ -e $D ]] && [[ ! -f $D/$MARKER ]] && [[ -n $(ls -A "$D" 2>/dev/null) ]]; then
    die "$D exists, is not empty and has no $MARKER marker: refusing to touch it"
  fi
  local mntns=""; [[ -f $STATE/mntns ]] && mntns=$(<"$STATE/mntns")
  local was_up=0; alive_recorded manager && was_up=1

  # The processes in our mount namespace, with their start times, noted while the
  # manager still holds the namespace: once it is gone, the kernel may give the same
  # inode number to a new namespace (another bed's container or unit), and matching
  # by number then would stop someone else's processes.
  local ns_noted="" p
  if ((was_up)) && [[ -n $mntns ]]; then
    for p in $(ns_pids "$mntns"); do ns_noted+="$p $(starttime "$p" 2>/dev/null)"$'\n'; done
  fi

  if alive_recorded manager; then
    # 1. containers first (best effort): `podman rm` unmounts and cleans its DB
    timeout 30 "$SELF" exec "$D" -- podman rm -af -t 2 >>"$LOGS/down.log" 2>&1 \
      || log "podman rm -af failed (ignored)"
    phase podman-rm
    # 2. SIGTERM = the user manager starts exit.target: all units are stopped
    KILL_WAIT=150 kill_and_wait "$(recorded_pid manager)"
    phase manager
  fi
  # 3. anything left in our cgroups, or noted in our mount namespace and still the
  # same process (same start time), was started by us
  local left pid st
  left=$(cgroup_pids)
  while read -r pid st; do
    [[ -n $pid && -n $st && $(starttime "$pid" 2>/dev/null) == "$st" ]] && left+=$'\n'$pid
  done <<<"$ns_noted"
  # (without a manager, the namespace is ours only while our cgroups hold processes)
  if [[ -n $mntns ]] && ((!was_up)) && [[ -n $left ]]; then
    left+=$'\n'$(ns_pids "$mntns")
  fi
  # never our own ancestors (down may be called from inside `exec`), nor the registry (step 4)
  local keep="$$" p=$$
  while [[ $p -gt 1 ]]; do p=$(awk '{print $4}' "/proc/$p/stat" 2>/dev/null || echo 1); keep+=$'\n'$p; done
  alive_recorded registry && keep+=$'\n'$(recorded_pid registry)
  left=$(echo "$left" | grep -E '^[0-9]+$' | grep -vxF -f <(echo "$keep") | sort -un || true)
  # ... nor our own children (pipelines of this script when down runs inside `exec`)
  local q kill_list=() desc
  for p in $left; do
    q=$p; desc=""
    while [[ $q -gt 1 ]]; do
      q=$(awk '{print $4}' "/proc/$q/stat" 2>/dev/null || echo 1)
      [[ $q == "$$" ]] && { desc=1; break; }
    done
    [[ -z $desc ]] && alive "$p" && kill_list+=("$p")
  done
  if ((${#kill_list[@]})); then
    for p in "${kill_list[@]}"; do log "stopping leftover pid $p: $(tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | cut -c1-100)"; done
    kill_and_wait "${kill_list[@]}"
  fi
  phase leftovers
  # 4. registry
  alive_recorded registry && kill_and_wait "$(recorded_pid registry)"
  phase registry
  # 5. cgroup dirs: depth-first rmdir (only succeeds on empty cgroups)
  local c rest
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    rest=$(cgroup_dirs)
    [[ -n $rest ]] || break
    for c in $rest; do find "$c" -depth -type d -exec rmdir {} \; 2>/dev/null || true; done
    sleep 0.2
  done
  for c in $(cgroup_dirs); do log "WARNING: could not remove cgroup $c"; done
  phase cgroups
  # 6. DIR itself; the namespace is gone, so no mount can be below DIR - check anyway
  if [[ -d $D ]]; then
    if awk -v d="$D/" 'index($5"/", d)==1{f=1} END{exit !f}' /proc/self/mountinfo; then
      die "mounts below $D in the host namespace - not removing it"
    fi
    rm -rf --one-file-system "$D"
  fi
  phase rm
  log "down in $(elapsed "$t0")s ($phases )"
}

# start_manager: the user manager in a fresh private mount namespace (unshare execs,
# same pid), recorded in state/, then waits until the registry answers and both client
# modes see the manager running (its start-up jobs done). Used by `up` and `powercycle`.
start_manager() {
  local wait_ticks=$(( ${PODUP_UP_TIMEOUT:-30} * 50 )) t   # ticks of 0.02 s
  PORT=$(<"$STATE/port")
  ( exec setsid unshare -m --propagation private "$BIN/ns-init.sh" </dev/null >>"$LOGS/manager.log" 2>&1 ) &
  local mpid=$!
  echo "$mpid" > "$STATE/manager.pid"
  # wait for systemd to be exec'd in the namespace
  t=0
  until [[ $(readlink "/proc/$mpid/exe" 2>/dev/null) == */systemd ]]; do
    alive "$mpid" && (( t < wait_ticks )) || die "manager did not start within ${PODUP_UP_TIMEOUT:-30} s (alive: $(alive "$mpid" && echo yes || echo no)): $(tail -n 20 "$LOGS/manager.log")"
    sleep 0.02; t=$((t+1))
  done
  starttime "$mpid" > "$STATE/manager.start"
  readlink "/proc/$mpid/ns/mnt" | tr -dc 0-9 > "$STATE/mntns"

  # --- readiness: registry answers, both client modes see the manager running
  local deadline; deadline=$(awk -v a="$(now)" -v b="${PODUP_UP_TIMEOUT:-30}" 'BEGIN{printf "%.3f", a+b}')
  local s_user="" s_sys="" reg=no
  while :; do
    [[ $reg == yes ]] || { curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:$PORT/v2/" && reg=yes || true; }
    s_user=$(in_ns systemctl --user is-system-running 2>/dev/null || true)
    s_sys=$(in_ns systemctl is-system-running 2>/dev/null || true)
    if [[ $reg == yes && ( $s_user == running || $s_user == degraded ) && $s_sys == "$s_user" && -S $XRT/bus ]]; then
      break
    fi
    if awk -v d="$deadline" -v n="$(now)" 'BEGIN{exit !(n>d)}' || ! alive_recorded manager || ! alive_recorded registry; then
      tail -n 20 "$LOGS/manager.log" "$LOGS/registry.log" >&2 || true
      die "not ready: registry=$reg user=$s_user system=$s_sys bus=$([[ -S $XRT/bus ]] && echo yes || echo no)"
    fi
    sleep 0.05
  done
  if [[ $s_user == degraded ]]; then
    log "manager is degraded: $(in_ns systemctl --user --failed --no-legend --plain | awk '{print $1}' | tr '\n' ' ')"
  fi
}

# ---------------------------------------------------------------- up -------
cmd_up() {
  set_paths "$1"
  local t0 t; t0=$(now)
  if [[ -f $D/$MARKER ]] && is_up; then
    log "already up ($D)"; echo "$D/env"; return 0
  fi
  # stale or crashed previous run: clean it first (also when only cgroups are left)
  if [[ -e $D/$MARKER ]] || [[ -n $(cgroup_dirs) ]]; then
    log "cleaning a previous run in $D"; cmd_down "$D"; set_paths "$1"
  fi
  if [[ -e $D && -n $(ls -A "$D" 2>/dev/null) ]]; then die "$D exists and is not empty"; fi

  mkdir -p "$D"; echo "podup-harness $(date -u +%FT%TZ)" > "$D/$MARKER"
  # from here on, any failure (die/exit) tears down what was started
  UP_DONE=0; trap '[[ $UP_DONE == 1 ]] || { log "up failed, cleaning up"; cmd_down "$D" || true; }' EXIT
  mkdir -p "$STATE" "$CONF/cni" "$LOGS" "$BIN" "$TMPD" "$D/registry" "$D/storage/graph" \
           "$D/overlay/var-lib/upper" "$D/overlay/var-lib/work" "$D/user-generators" \
           "$UNITDIR" "$QUADLETDIR" "$HOMEDIR/.local/share" "$HOMEDIR/.local/state" "$HOMEDIR/.cache"
  mkdir -p "$XRT"; chmod 0700 "$D/xdg" "$XRT"

  # Quadlet (podman >= 4.4; NOT in Debian 12's podman 4.3.1): if a quadlet binary
  # is given, it becomes the user generator and reads $PODUP_QUADLET_DIR
  if [[ -n ${PODUP_QUADLET_BIN:-} ]]; then
    [[ -x $PODUP_QUADLET_BIN ]] || die "PODUP_QUADLET_BIN=$PODUP_QUADLET_BIN is not executable"
    ln -s "$(readlink -f "$PODUP_QUADLET_BIN")" "$D/user-generators/podman-user-generator"
  fi

  # --- registry: 127.0.0.1 only, own cgroup (podup-<hash>/registry), own session, logs to file
  write_registry_conf "${PODUP_REGISTRY_PORT:-0}"
  local cgm="" m
  for m in $(cgroup_mounts_manager); do mkdir -p "$m/$CG/registry"; cgm+="$m/$CG/registry/cgroup.procs "; done
  ( for f in $cgm; do echo $BASHPID > "$f"; done
    exec setsid docker-registry serve "$CONF/registry.yml" </dev/null >>"$LOGS/registry.log" 2>&1 ) &
  local rpid=$!
  echo "$rpid" > "$STATE/registry.pid"
  starttime "$rpid" > "$STATE/registry.start" || die "registry did not start: $(tail -n 3 "$LOGS/registry.log")"
  # Start-up waits share the readiness budget (PODUP_UP_TIMEOUT): on a loaded machine
  # (another bed removing a hundred containers) exec'ing systemd took over 5 s.
  local wait_ticks=$(( ${PODUP_UP_TIMEOUT:-30} * 50 ))   # ticks of 0.02 s
  t=0; PORT=""
  until [[ -n $PORT ]]; do
    alive "$rpid" && (( t < wait_ticks )) || die "registry did not listen: $(tail -n 3 "$LOGS/registry.log")"
    [[ $(readlink "/proc/$rpid/exe" 2>/dev/null) == */docker-registry ]] && PORT=$(listen_port "$rpid")
    [[ -n $PORT ]] || { sleep 0.02; t=$((t+1)); }
  done
  echo "$PORT" > "$STATE/port"
  write_env; write_configs; write_ns_init

  start_manager
  UP_DONE=1; trap - EXIT
  log "up in $(elapsed "$t0")s: manager pid $(recorded_pid manager), registry pid $rpid on 127.0.0.1:$PORT, cgroup $CG"
  echo "$D/env"
}

# ---------------------------------------------------------------- powercycle
# powercycle DIR: the bed's stand-in for a power cut and the boot after it. Every process
# of the manager (itself, its units, their containers and conmons, anything living in
# its namespace) is SIGKILLed, nothing is shut down; then a new manager starts in a fresh
# namespace (an empty /run, as after a boot), runs its start-up jobs (the enabled units)
# and is waited for as in `up`. What a disk would keep stays: podman storage, the
# /var/lib overlay, the home directory (unit files, enablement links, podup's state
# database) and the logs. The registry, another machine, keeps running.
cmd_powercycle() {
  set_paths "$1"
  local t0; t0=$(now)
  [[ -f $D/$MARKER ]] && alive_recorded manager || die "harness in $D is not up"
  local mntns; mntns=$(<"$STATE/mntns")
  [[ $(readlink /proc/self/ns/mnt) != "mnt:[$mntns]" ]] || die "run powercycle from outside the bed"
  # the manager's cgroup subtrees, every hierarchy (never the registry's)
  manager_pids() {
    local c
    for c in $(cgroup_dirs); do
      [[ -d $c/manager ]] && find "$c/manager" -name cgroup.procs -exec cat {} + 2>/dev/null
    done | sort -un
    return 0
  }
  # First pass while the manager still holds the namespace (its inode cannot be reused
  # yet): the cgroups and the namespace. Later passes: the cgroups, and the pids noted in
  # the first pass that are still the same process (same start time).
  local noted="" p st pass left
  for p in $(manager_pids) $(ns_pids "$mntns"); do
    [[ $p == "$$" ]] && continue
    st=$(starttime "$p" 2>/dev/null) && noted+="$p $st"$'\n'
    kill -KILL "$p" 2>/dev/null || true
  done
  for pass in $(seq 1 100); do
    left=$(manager_pids)
    while read -r p st; do
      [[ -n $p && $(starttime "$p" 2>/dev/null) == "$st" ]] && alive "$p" && left+=$'\n'$p
    done <<<"$noted"
    left=$(echo "$left" | grep -E '^[0-9]+$' | grep -vx "$$" || true)
    [[ -n $left ]] || break
    for p in $left; do kill -KILL "$p" 2>/dev/null || true; done
    sleep 0.05
  done
  [[ -z $left ]] || die "powercycle: still alive after SIGKILL: $(echo $left)"
  # the manager's cgroups, emptied: removed depth-first, so the next one starts clean
  local c
  for c in $(cgroup_dirs); do
    [[ -d $c/manager ]] && find "$c/manager" -depth -type d -exec rmdir {} \; 2>/dev/null || true
  done
  # XDG_RUNTIME_DIR is the manager's /run/user/0, a tmpfs on a host: a boot empties it
  # (transient unit files, sockets). It lives in DIR here, so empty it as a boot would.
  rm -rf --one-file-system "$XRT"; mkdir -p "$XRT"; chmod 0700 "$XRT"
  log "power cut in $(elapsed "$t0")s"
  start_manager
  log "powercycle in $(elapsed "$t0")s: manager pid $(recorded_pid manager)"
}

# ---------------------------------------------------------------- image ----
# image DIR REF VERSION [SHELL-CMD]: busybox image built with buildah in its own
# vfs storage (so the pushed manifest digest equals what podman pulls), label
# io.containers.autoupdate=registry (PODUP_IMAGE_AUTOUPDATE: another value, or empty for
# no such label), file /version = VERSION. Prints the digest.
cmd_image() {
  set_paths "$1"; local ref=$2 version=$3
  local cmd=${4:-'trap "exit 0" TERM; echo "started $(cat /version)"; sleep 100000 & wait'}
  alive_recorded manager || die "harness is not up"
  local b=$D/build rootfs
  rootfs=$(mktemp -d "$TMPD/rootfs.XXXX")
  mkdir -p "$rootfs/bin" "$b"
  cp /bin/busybox "$rootfs/bin/busybox"
  for a in sh cat echo sleep ls env date true false httpd wget ps kill; do ln -s busybox "$rootfs/bin/$a"; done
  echo "$version" > "$rootfs/version"
  if [[ -n ${PODUP_IMAGE_PAD_MB:-} ]]; then
    [[ $PODUP_IMAGE_PAD_MB =~ ^[0-9]+$ ]] || die "PODUP_IMAGE_PAD_MB must be a number of MiB"
    head -c "$((PODUP_IMAGE_PAD_MB * 1048576))" /dev/urandom > "$rootfs/pad"
  fi
  in_ns bash -euo pipefail -c '
    B="buildah --root '"$b"'/graph --runroot /run/podup-build --storage-driver vfs"
    c=$($B from scratch)
    $B copy "$c" '"$rootfs"' / >/dev/null
    if [[ ${PODUP_IMAGE_SPECIAL:-0} == 1 ]]; then
      # What real base images carry and unpacking must keep: set-uid/set-gid files, a
      # device node, a file of another owner, a file capability, and (second layer) a
      # deleted file, which overlay storage turns into a whiteout device node.
      m=$($B mount "$c")
      mkdir -p "$m/special"
      install -m 4755 /bin/busybox "$m/special/setuid"
      install -m 2755 /bin/busybox "$m/special/setgid"
      mknod -m 0666 "$m/special/null" c 1 3
      install -m 0640 /dev/null "$m/special/owned"; chown 1000:1000 "$m/special/owned"
      install -m 0755 /bin/busybox "$m/special/capped"
      python3 -c "import os,struct,sys; os.setxattr(sys.argv[1], \"security.capability\", struct.pack(\"<5I\", 0x02000001, 0x400, 0, 0, 0))" "$m/special/capped"
      echo gone > "$m/special/deleted"
      $B umount "$c" >/dev/null
      base=$($B commit -q --rm "$c")
      c=$($B from "$base")
      m=$($B mount "$c"); rm "$m/special/deleted"; $B umount "$c" >/dev/null
    fi
    case $0 in "["*) cmdjson=$0;;   # already a JSON exec array
      *) cmdjson="[\"/bin/sh\",\"-c\",$(printf %s "$0" | python3 -c "import json,sys;print(json.dumps(sys.stdin.read()))")]";; esac
    au=()
    [[ ${PODUP_IMAGE_AUTOUPDATE-registry} ]] && au=(--label "io.containers.autoupdate=${PODUP_IMAGE_AUTOUPDATE-registry}")
    $B config --cmd "$cmdjson" \
       "${au[@]}" --label podup.version='"$version"' "$c"
    img=$($B commit -q --rm "$c")
    $B push -q --tls-verify=false --digestfile '"$b"'/digest "$img" "docker://'"$ref"'"
    $B rmi -f "$img" ${base:-} >/dev/null
  ' "$cmd" >&2
  rm -rf "$rootfs"
  cat "$b/digest"; echo
}

# ---------------------------------------------------------------- main -----
main() {
  local sub=${1:-}; shift || true
  case $sub in up|status|exec|image|powercycle) preflight ;; down) preflight root-only ;; esac
  case $sub in
    up)     [[ $# == 1 ]] || usage; cmd_up "$1" ;;
    powercycle) [[ $# == 1 ]] || usage; cmd_powercycle "$1" ;;
    down)   [[ $# == 1 ]] || usage; cmd_down "$1" ;;
    status) [[ $# == 1 ]] || usage; set_paths "$1"; if is_up; then echo up; else echo down; exit 1; fi ;;
    env)    [[ $# == 1 ]] || usage; set_paths "$1"; cat "$D/env" ;;
    exec)   [[ $# -ge 3 && $2 == -- ]] || usage; set_paths "$1"; shift 2
            alive_recorded manager || die "harness in $D is not up"
            in_ns "$@" ;;
    image)  [[ $# == 3 || $# == 4 ]] || usage; cmd_image "$@" ;;
    *) usage ;;
  esac
}
main "$@"
