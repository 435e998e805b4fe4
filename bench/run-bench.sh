#!/usr/bin/env bash
# Times `run --rm busybox true` for Berth, Docker and bare runc side by side, in one run, and prints ratios;
# then compares the per-container memory of berth-monitor with Docker's containerd shim.
#   bench/run-bench.sh [RUNS]      (default 30 runs each, after 3 warm-ups)
# Berth: the installed berthd (./install.sh), driven by `berth` and by the docker CLI; or BERTH_BIN_DIR=DIR (berthd,
#        berth-monitor and berth published there, e.g. artifacts/test-bin) for a private berthd of that build started
#        here on private roots (bench/lib.sh), to compare builds in the same conditions.
# Docker: Debian's docker.io, started here on private roots when it is installed (apt-get install docker.io),
#         with the same busybox imported, networking off on both sides (Berth has no bridge yet).
# runc: `runc run` of a prepared bundle: the floor any engine built on runc can reach.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-30}
WORK=$(mktemp -d /tmp/berth-bench.XXXXXX)
RESULTS=bench/results
mkdir -p "$RESULTS"
DOCKER_SOCK=$WORK/docker.sock
BRIDGE=bbrb$$
BERTH_EXEC=/tmp/brb$$   # short: berthd keeps monitor socket paths under it within a unix socket address
BERTH=(berth)
BERTH_SOCK=/run/berth/berth.sock

source bench/lib.sh
cleanup() {
  set +e
  bench_stop_dockerd
  "${BERTH[@]}" rm -f bench-mem >/dev/null 2>&1
  bench_stop_berthd "$BRIDGE"
  runc delete -f bench-runc >/dev/null 2>&1
  bench_unmount "$WORK" "$BERTH_EXEC"
  rm -rf "$WORK" "$BERTH_EXEC"
}
trap cleanup EXIT

command -v hyperfine >/dev/null || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine >/dev/null; }
if [ -n "${BERTH_BIN_DIR:-}" ]; then
  bench_start_berthd "$BERTH_BIN_DIR" "$BRIDGE" "$BERTH_EXEC" --log-level warn
elif ! berth version >/dev/null 2>&1; then
  ./install.sh --no-run
fi
"${BERTH[@]}" image inspect busybox >/dev/null 2>&1 || "${BERTH[@]}" image bootstrap busybox >/dev/null

# A busybox rootfs for runc and for Docker's import.
ROOTFS=$WORK/bundle/rootfs
bench_busybox_rootfs "$ROOTFS"
(cd "$WORK/bundle" && runc spec && sed -i 's/"terminal": true/"terminal": false/; s/"sh"/"true"/' config.json)

commands=(--command-name "berth run --rm" "${BERTH[*]} run --rm --network none busybox true"
          --command-name "docker CLI -> berthd" "DOCKER_HOST=unix://$BERTH_SOCK docker run --rm --network none busybox true"
          --command-name "runc run (bare)" "runc run --bundle $WORK/bundle bench-runc")

if bench_start_dockerd; then
  bench_docker_import_busybox "$ROOTFS"
  commands+=(--command-name "docker (dockerd+containerd)" "DOCKER_HOST=unix://$DOCKER_SOCK docker run --rm --network none busybox true")
fi

hyperfine --warmup 3 --runs "$RUNS" --export-json "$RESULTS/run-rm.json" --style basic "${commands[@]}"

python3 - "$RESULTS/run-rm.json" <<'PY'
import json, sys
results = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
med = {name: r["median"] * 1000 for name, r in results.items()}
print("\nmedian wall time of `run --rm busybox true`:")
for name, ms in med.items():
    print(f"  {name:32s} {ms:8.1f} ms")
berth = med["berth run --rm"]
if "docker (dockerd+containerd)" in med:
    d = med["docker (dockerd+containerd)"]
    print(f"\nBerth / Docker  = {berth / d:.2f}  (target <= 0.25)")
    print(f"docker CLI on berthd / Docker = {med['docker CLI -> berthd'] / d:.2f}")
print(f"Berth / bare runc = {berth / med['runc run (bare)']:.2f}")
PY

# Memory held per running container: berth-monitor against containerd-shim-runc-v2.
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
"${BERTH[@]}" run -d --name bench-mem --network none busybox sleep 60 >/dev/null
sleep 0.2
mon=$(pgrep -n -f "berth-monitor.*$("${BERTH[@]}" inspect -f '{{.Id}}' bench-mem)" || true)
[ -n "$mon" ] && echo "berth-monitor RSS: $(rss_kb "$mon") kB"
"${BERTH[@]}" rm -f bench-mem >/dev/null
if [ -n "$DOCKERD_PID" ]; then
  D run -d --name bench-mem --network none busybox sleep 60 >/dev/null
  sleep 0.2
  shim=$(pgrep -n -f containerd-shim || true)
  [ -n "$shim" ] && echo "containerd-shim-runc-v2 RSS: $(rss_kb "$shim") kB"
fi
