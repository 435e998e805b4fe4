# Shared pieces of the bench scripts (sourced, not run): the private dockerd each bench compares with, a private
# berthd of a given build, and their cleanup. Every function works under `set -euo pipefail`; the stop functions
# never fail, so they are safe in an EXIT trap. The caller owns WORK (a fresh temporary directory).
DOCKERD_PID=""
PRIVATE_BERTHD_PID=""

# Starts Debian's dockerd on private roots under WORK, its socket DOCKER_SOCK (default WORK/docker.sock), and waits
# until it answers. With no arguments it runs with networking off (no bridge, no iptables), so only the container
# machinery is compared; arguments replace those network flags (network-bench gives its own bridge).
# Sets DOCKERD_PID. Returns 1 (and says so) when dockerd is not installed.
bench_start_dockerd() {
  if ! command -v dockerd >/dev/null; then
    echo "dockerd is not installed (apt-get install docker.io): Berth numbers only"
    return 1
  fi
  DOCKER_SOCK=${DOCKER_SOCK:-$WORK/docker.sock}
  local network=(--iptables=false --bridge=none --ip-forward=false)
  [ $# -gt 0 ] && network=("$@")
  echo "Starting a private dockerd for comparison"
  dockerd --data-root "$WORK/docker" --exec-root "$WORK/docker-exec" -H "unix://$DOCKER_SOCK" \
    --pidfile "$WORK/dockerd.pid" "${network[@]}" --log-level=error >"$WORK/dockerd.log" 2>&1 &
  DOCKERD_PID=$!
  local _
  for _ in $(seq 300); do D version >/dev/null 2>&1 && return 0; sleep 0.1; done
  cat "$WORK/dockerd.log" >&2
  return 1
}

# The docker CLI against the private dockerd.
D() { DOCKER_HOST=unix://$DOCKER_SOCK docker "$@"; }

# Removes the private dockerd's containers, stops it, and the containerd it started (found by its private config
# when dockerd was killed before it could stop it).
bench_stop_dockerd() {
  [ -n "$DOCKERD_PID" ] || return 0
  D ps -aq 2>/dev/null | xargs -r env DOCKER_HOST="unix://$DOCKER_SOCK" docker rm -f >/dev/null 2>&1 || true
  kill "$DOCKERD_PID" 2>/dev/null || true
  wait "$DOCKERD_PID" 2>/dev/null || true
  pkill -f "containerd --config $WORK" 2>/dev/null || true
  DOCKERD_PID=""
}

# Starts a private berthd from BIN_DIR (berthd, berth-monitor and berth published there, e.g. artifacts/test-bin)
# on roots under WORK, with default bridge BRIDGE (<= 15 characters, the bench's own) and exec root EXEC_ROOT (short:
# monitor socket paths live under it and must fit a unix socket address), and waits until it answers.
# Further arguments go to berthd. Sets PRIVATE_BERTHD_PID (a name of its own: container-bench takes BERTHD_PID from its caller, and only a daemon
# started here may be stopped here), BERTH_SOCK and BERTH (the CLI command as an array).
bench_start_berthd() {
  local bin_dir bridge=$2 exec_root=$3 _
  bin_dir=$(realpath "$1")
  shift 3
  BERTH_SOCK=$WORK/berth.sock
  BERTH=("$bin_dir/berth" -H "unix://$BERTH_SOCK")
  "$bin_dir/berthd" --monitor "$bin_dir/berth-monitor" --data-root "$WORK/berth" --exec-root "$exec_root" \
    -H "unix://$BERTH_SOCK" --bridge-name "$bridge" "$@" >"$WORK/berthd.log" 2>&1 &
  PRIVATE_BERTHD_PID=$!
  for _ in $(seq 600); do "${BERTH[@]}" version >/dev/null 2>&1 && return 0; sleep 0.1; done
  cat "$WORK/berthd.log" >&2
  return 1
}

# Stops the private berthd and removes what it left on the host: its iptables rules (all carry the comment
# "berth:BRIDGE:") and its bridge.
bench_stop_berthd() {
  local bridge=$1 table rules
  [ -n "$PRIVATE_BERTHD_PID" ] || return 0
  kill "$PRIVATE_BERTHD_PID" 2>/dev/null || true
  wait "$PRIVATE_BERTHD_PID" 2>/dev/null || true
  PRIVATE_BERTHD_PID=""
  for table in nat filter; do
    rules=$(iptables-save -t "$table" | grep -- "\"berth:$bridge:" | sed 's/^-A/-D/' || true)
    [ -n "$rules" ] && { printf '*%s\n%s\nCOMMIT\n' "$table" "$rules" | iptables-restore --noflush --wait || true; }
  done
  [ -d "/sys/class/net/$bridge" ] && ip link del dev "$bridge" 2>/dev/null || true
}

# Unmounts everything mounted below the given directories, deepest first.
bench_unmount() {
  local pattern
  pattern=$(printf '%s|' "$@")
  grep -E " (${pattern%|})" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
}

# Makes a busybox root file system in DIR from the host's busybox-static: what Docker imports as busybox:latest, so
# both engines run the same binary.
bench_busybox_rootfs() {
  local dir=$1 applet
  mkdir -p "$dir/bin" "$dir/proc" "$dir/dev" "$dir/sys" "$dir/etc" "$dir/tmp"
  cp /bin/busybox "$dir/bin/busybox"
  for applet in $(/bin/busybox --list); do ln -f "$dir/bin/busybox" "$dir/bin/$applet" 2>/dev/null || true; done
}

# Imports DIR (from bench_busybox_rootfs) into the private dockerd as busybox:latest.
bench_docker_import_busybox() {
  tar -C "$1" -c . | D import -c 'CMD ["sh"]' - busybox:latest >/dev/null
}
