#!/usr/bin/env bash
# Writes 1 GB with dd (conv=fdatasync) to a named volume, to a bind mount and straight to the host file
# system, and prints the throughput of each and the ratios (target: volumes within 10% of the host).
#   bench/volume-write.sh [RUNS]      (default 3 runs each, best kept)
# Berth: a private berthd on temporary roots under /var/tmp (the same file system as a default data root),
# from BERTH_BIN_DIR (default artifacts/test-bin, as ./test.sh publishes it); busybox bootstrapped there.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}
BIN=${BERTH_BIN_DIR:-$PWD/artifacts/test-bin}
[ -x "$BIN/berthd" ] || { echo "no berthd in $BIN: run ./test.sh or publish the daemon, monitor and CLI there" >&2; exit 1; }
WORK=$(mktemp -d /var/tmp/berth-vbench.XXXXXX)
EXEC=$(mktemp -d /run/bvb.XXXX)
SOCK=$WORK/berth.sock
DAEMON_PID=""
berth() { "$BIN/berth" -H "unix://$SOCK" "$@"; }

cleanup() {
  set +e
  berth rm -f bench-vol >/dev/null 2>&1
  berth volume rm -f bench-vol >/dev/null 2>&1
  if [ -n "$DAEMON_PID" ]; then kill "$DAEMON_PID" 2>/dev/null; wait "$DAEMON_PID" 2>/dev/null; fi
  grep -E " ($WORK|$EXEC)" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l 2>/dev/null
  rm -rf "$WORK" "$EXEC"
}
trap cleanup EXIT

"$BIN/berthd" --data-root "$WORK/d" --exec-root "$EXEC" -H "unix://$SOCK" --monitor "$BIN/berth-monitor" >"$WORK/berthd.log" 2>&1 &
DAEMON_PID=$!
for _ in $(seq 100); do berth version >/dev/null 2>&1 && break; sleep 0.1; done
berth image bootstrap -q busybox
berth volume create bench-vol >/dev/null
mkdir -p "$WORK/bind" "$WORK/host"

# dd prints "... copied, S s, R MB/s" on stderr; keep the seconds.
seconds() { sed -n 's/.* copied, \([0-9.]*\) s.*/\1/p'; }
best() { sort -n | head -1; }

host_run() { dd if=/dev/zero of="$WORK/host/file" bs=1M count=1024 conv=fdatasync 2>&1 | seconds; rm -f "$WORK/host/file"; }
container_run() { berth run --rm "$@" busybox sh -c 'dd if=/dev/zero of=/data/file bs=1M count=1024 conv=fdatasync 2>&1; rm -f /data/file' | seconds; }

host=$(for _ in $(seq "$RUNS"); do host_run; done | best)
volume=$(for _ in $(seq "$RUNS"); do container_run -v bench-vol:/data; done | best)
bind=$(for _ in $(seq "$RUNS"); do container_run -v "$WORK/bind:/data"; done | best)

printf '%-28s %8s s  %8s MB/s\n' "host file system" "$host" "$(echo "1024 / $host" | bc -l | xargs printf '%.0f')"
printf '%-28s %8s s  %8s MB/s\n' "named volume" "$volume" "$(echo "1024 / $volume" | bc -l | xargs printf '%.0f')"
printf '%-28s %8s s  %8s MB/s\n' "bind mount" "$bind" "$(echo "1024 / $bind" | bc -l | xargs printf '%.0f')"
printf 'volume / host time: %.3f   bind / host time: %.3f   (target: at most 1.10)\n' "$(echo "$volume / $host" | bc -l)" "$(echo "$bind / $host" | bc -l)"
