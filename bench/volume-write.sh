#!/usr/bin/env bash
# Writes 1 GB with dd (conv=fsync: busybox's dd has no fdatasync; both end with the data on disk) to a named volume, to a bind mount and straight to the host file
# system, and prints the throughput of each and the ratios (target: volumes within 10% of the host).
#   bench/volume-write.sh [RUNS]      (default 5 runs each, interleaved, best kept)
# Berth: a private berthd on temporary roots under /var/tmp (the same file system as a default data root),
# from BERTH_BIN_DIR (default artifacts/test-bin, as ./test.sh publishes it); busybox bootstrapped there.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-5}
BIN=${BERTH_BIN_DIR:-$PWD/artifacts/test-bin}
[ -x "$BIN/berthd" ] || { echo "no berthd in $BIN: run ./test.sh or publish the daemon, monitor and CLI there" >&2; exit 1; }
WORK=$(mktemp -d /var/tmp/berth-vbench.XXXXXX)
EXEC=$(mktemp -d /run/bvb.XXXX)
BRIDGE=bvb$$
BERTH=("$BIN/berth" -H "unix://$WORK/berth.sock")   # until bench_start_berthd sets it, for the cleanup
source bench/lib.sh
berth() { "${BERTH[@]}" "$@"; }

cleanup() {
  set +e
  berth rm -f bench-vol >/dev/null 2>&1
  berth volume rm -f bench-vol >/dev/null 2>&1
  bench_stop_berthd "$BRIDGE"
  bench_unmount "$WORK" "$EXEC"
  rm -rf "$WORK" "$EXEC"
}
trap cleanup EXIT

bench_start_berthd "$BIN" "$BRIDGE" "$EXEC"
berth image bootstrap -q busybox
berth volume create bench-vol >/dev/null
mkdir -p "$WORK/bind" "$WORK/host"

# Busybox's dd prints no timing: both sides time the same script by /proc/uptime (10 ms ticks), around dd alone.
# The host side runs the same busybox dd as the container (busybox-static), so only the mount differs.
WRITE='s=$(cut -d" " -f1 /proc/uptime); $2 dd if=/dev/zero of=$1/file bs=1M count=1024 conv=fsync 2>/dev/null; e=$(cut -d" " -f1 /proc/uptime); rm -f $1/file; echo "$e - $s" | bc 2>/dev/null || awk "BEGIN{print $e - $s}"'
best() { sort -n | head -1; }

host_run() { sh -c "$WRITE" sh "$WORK/host" busybox; }
container_run() { berth run --rm "$@" busybox sh -c "$WRITE" sh /data; }

# Interleaved, best of RUNS each: the machine's load shifts less between the three.
: >"$WORK/host.t"; : >"$WORK/volume.t"; : >"$WORK/bind.t"
for _ in $(seq "$RUNS"); do
  host_run >>"$WORK/host.t"
  container_run -v bench-vol:/data >>"$WORK/volume.t"
  container_run -v "$WORK/bind:/data" >>"$WORK/bind.t"
done
host=$(best <"$WORK/host.t"); volume=$(best <"$WORK/volume.t"); bind=$(best <"$WORK/bind.t")

printf '%-28s %8.2f s  %6.0f MB/s\n' "host file system" "$host" "$(echo "1024 / $host" | bc -l)"
printf '%-28s %8.2f s  %6.0f MB/s\n' "named volume" "$volume" "$(echo "1024 / $volume" | bc -l)"
printf '%-28s %8.2f s  %6.0f MB/s\n' "bind mount" "$bind" "$(echo "1024 / $bind" | bc -l)"
printf 'volume / host time: %.3f   bind / host time: %.3f   (target: at most 1.10)\n' "$(echo "$volume / $host" | bc -l)" "$(echo "$bind / $host" | bc -l)"
