#!/usr/bin/env bash
# Times `run --rm busybox true` for Berth, Docker and bare runc side by side, in one run, and prints ratios;
# then compares the per-container memory of berth-monitor with Docker's containerd shim.
#   bench/run-bench.sh [RUNS]      (default 30 runs each, after 3 warm-ups; the commands take turns run by run)
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

commands=("berth run --rm=${BERTH[*]} run --rm --network none busybox true"
          "docker CLI -> berthd=DOCKER_HOST=unix://$BERTH_SOCK docker run --rm --network none busybox true"
          "runc run (bare)=runc run --bundle $WORK/bundle bench-runc")

if bench_start_dockerd; then
  bench_docker_import_busybox "$ROOTFS"
  commands+=("docker (dockerd+containerd)=DOCKER_HOST=unix://$DOCKER_SOCK docker run --rm --network none busybox true")
fi

# The commands take turns, one run each per round (after 3 warm-ups each): on a shared machine whose load comes and
# goes, consecutive blocks of runs (hyperfine's way) would compare different moments rather than the engines.
python3 - "$RUNS" "$RESULTS/run-rm.json" "${commands[@]}" <<'PY'
import json, os, shlex, statistics, subprocess, sys, time
runs, out, specs = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
commands = []
for spec in specs:
    name, line = spec.split("=", 1)
    words, env = shlex.split(line), dict(os.environ)
    while "=" in words[0] and not words[0].startswith("/"):
        key, value = words.pop(0).split("=", 1)
        env[key] = value
    commands.append((name, words, env))
def once(words, env):
    start = time.perf_counter()
    subprocess.run(words, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start
for name, words, env in commands:
    for _ in range(3):
        once(words, env)
times = {name: [] for name, _, _ in commands}
for _ in range(runs):
    for name, words, env in commands:
        times[name].append(once(words, env))
results = []
for name, values in times.items():
    q = statistics.quantiles(values, n=4)
    results.append({"command": name, "median": statistics.median(values), "mean": statistics.mean(values), "times": values})
    print(f"{name:32s} median {statistics.median(values) * 1000:7.1f} ms  (quartiles {q[0] * 1000:.1f} .. {q[2] * 1000:.1f}, min {min(values) * 1000:.1f}, {len(values)} runs)")
json.dump({"results": results}, open(out, "w"), indent=1)
PY

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
