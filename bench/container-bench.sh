#!/usr/bin/env bash
# Issue 4's container targets, Berth and Docker side by side in one run (bare runc as the floor for exec):
#   - 50 sequential `run -d busybox sleep`                 (target: Berth <= 0.3x Docker's time)
#   - `exec CONTAINER true`, median of 30                   (target: <= 0.6x Docker's)
#   - memory added per running container with 50 running:  PSS of every process the engine starts per container
#     (berth-monitor vs containerd-shim-runc-v2)           (target: <= 0.33x Docker's)
#   - idle daemon RSS: berthd vs dockerd + containerd, IDLE_WAIT s (default 40) after the last request (target:
#     <= 0.33x), before the work below and again after it
#   - a container printing 100 MB in 101-byte lines: attached `run` MB/s (target >= 2x Docker's) and `logs`
#     reading it all back MB/s (target >= 5x Docker's)
#   bench/container-bench.sh [COUNT]     (default 50 containers)
# Berth: a private berthd of the installed build (./install.sh), or of BERTH_BIN_DIR=DIR (berthd, berth-monitor and
# berth published there), started here on private roots as the dockerd is, so both begin in the same state (the
# installed daemon may have served anything for hours, and code it ran stays mapped); or a running one:
# BERTH_HOST=unix:///path.sock BERTHD_PID=PID, and BERTH_CLI=/path/to/berth for a CLI other than the one on PATH.
# Docker: Debian's docker.io started here on private roots with the same busybox imported; networking off on both
# sides so only the container machinery is compared.
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${1:-50}
# Idle means left alone this long: past berthd's first follow-up trim (the array pool lets go of a thread's cached
# buffers only 30 s after a collection first saw them) and long enough for Go's scavenger on Docker's side.
IDLE_WAIT=${IDLE_WAIT:-40}
WORK=$(mktemp -d /tmp/berth-cbench.XXXXXX)
RESULTS=bench/results
mkdir -p "$RESULTS"
DOCKER_SOCK=$WORK/docker.sock
PREFIX=cbench$$
BRIDGE=bbcb$$
BERTH_EXEC=/tmp/bcb$$   # short: berthd keeps monitor socket paths under it within a unix socket address

source bench/lib.sh
cleanup() {
  set +e
  berth ps -aq --filter "name=$PREFIX" | xargs -r berth rm -f >/dev/null 2>&1
  bench_stop_dockerd
  bench_stop_berthd "$BRIDGE"
  bench_unmount "$WORK" "$BERTH_EXEC"
  rm -rf "$WORK" "$BERTH_EXEC"
}
trap cleanup EXIT

command -v hyperfine >/dev/null || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine >/dev/null; }
if [ -z "${BERTH_HOST:-}" ]; then
  if [ -z "${BERTH_BIN_DIR:-}" ]; then
    command -v berthd >/dev/null || ./install.sh --no-run
    BERTH_BIN_DIR=$(dirname "$(readlink -f "$(command -v berthd)")")
  fi
  bench_start_berthd "$BERTH_BIN_DIR" "$BRIDGE" "$BERTH_EXEC" --log-level warn
  export BERTH_HOST=unix://$BERTH_SOCK
  BERTH_CLI=${BERTH_CLI:-$(realpath "$BERTH_BIN_DIR")/berth}
  BERTHD_PID=$PRIVATE_BERTHD_PID
fi
BERTH_CLI=${BERTH_CLI:-$(command -v berth || echo /usr/local/bin/berth)}
berth() { "$BERTH_CLI" "$@"; }
BERTHD_PID=${BERTHD_PID:-$(cat /run/berth/berthd.pid)}
berth image inspect busybox >/dev/null 2>&1 || berth image bootstrap busybox

if bench_start_dockerd; then
  berth save busybox | D load >/dev/null
fi

now() { date +%s.%N; }
pss_kb() { awk '/^Pss:/ {s += $2} END {print s + 0}' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0; }
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
dockerd_rss_kb() { echo $(( $(rss_kb "$DOCKERD_PID") + $(rss_kb "$(pgrep -n -f "containerd --config $WORK")") )); }
sum_pss() { local total=0; for p in "$@"; do total=$((total + $(pss_kb "$p"))); done; echo $total; }

declare -A R
# Idle daemon memory before anything runs: IDLE_WAIT s without a request (the bootstrap and the save/load above are
# bursts), for both to give a burst's memory back (berthd's idle trimmer, Go's scavenger).
sleep "$IDLE_WAIT"
R[berthd_rss]=$(rss_kb "$BERTHD_PID")
if [ -n "$DOCKERD_PID" ]; then
  R[dockerd_rss]=$(dockerd_rss_kb)
fi

echo "== $COUNT sequential run -d"
t0=$(now); for i in $(seq "$COUNT"); do berth run -d --network none --name "$PREFIX-$i" busybox sleep 600 >/dev/null; done; t1=$(now)
R[berth_run_d]=$(echo "$t1 - $t0" | bc)
monitors=$(for id in $(berth ps -q --no-trunc --filter "name=$PREFIX"); do pgrep -f "berth-monitor.*--id $id"; done)
R[berth_pss]=$(( $(sum_pss $monitors) / COUNT ))
if [ -n "$DOCKERD_PID" ]; then
  t0=$(now); for i in $(seq "$COUNT"); do D run -d --network none --name "$PREFIX-$i" busybox sleep 600 >/dev/null; done; t1=$(now)
  R[docker_run_d]=$(echo "$t1 - $t0" | bc)
  shims=$(pgrep -f containerd-shim-runc-v2)
  R[docker_pss]=$(( $(sum_pss $shims) / COUNT ))
fi

echo "== exec true"
commands=(--command-name "berth exec" "$BERTH_CLI exec $PREFIX-1 true")
[ -n "$DOCKERD_PID" ] && commands+=(--command-name "docker exec" "DOCKER_HOST=unix://$DOCKER_SOCK docker exec $PREFIX-1 true")
hyperfine --warmup 3 --runs 30 --export-json "$RESULTS/exec.json" --style basic "${commands[@]}" >/dev/null

berth ps -aq --filter "name=$PREFIX" | xargs -r berth rm -f >/dev/null
[ -n "$DOCKERD_PID" ] && D ps -aq | xargs -r env DOCKER_HOST=unix://$DOCKER_SOCK docker rm -f >/dev/null

echo "== 100 MB of 101-byte lines"
# 100 chars + newline per line, 1,000,000 lines ≈ 101 MB.
PRINT='yes 0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789 | head -n 1000000'
# One run of each was noise (the same build measured 44 to 95 MB/s attached within minutes): ROUNDS rounds, the
# engines taking turns, the median of each.
ROUNDS=${ROUNDS:-3}
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
berth_attach=(); berth_logs=(); docker_attach=(); docker_logs=()
for round in $(seq "$ROUNDS"); do
  t0=$(now); berth run --name "$PREFIX-log$round" --network none busybox sh -c "$PRINT" >/dev/null; t1=$(now)
  berth_attach+=("$(echo "$t1 - $t0" | bc)")
  t0=$(now); berth logs "$PREFIX-log$round" >/dev/null; t1=$(now)
  berth_logs+=("$(echo "$t1 - $t0" | bc)")
  berth rm -f "$PREFIX-log$round" >/dev/null
  if [ -n "$DOCKERD_PID" ]; then
    t0=$(now); D run --name "$PREFIX-log$round" --network none busybox sh -c "$PRINT" >/dev/null; t1=$(now)
    docker_attach+=("$(echo "$t1 - $t0" | bc)")
    t0=$(now); D logs "$PREFIX-log$round" >/dev/null; t1=$(now)
    docker_logs+=("$(echo "$t1 - $t0" | bc)")
    D rm -f "$PREFIX-log$round" >/dev/null
  fi
done
R[berth_attach]=$(median "${berth_attach[@]}")
R[berth_logs]=$(median "${berth_logs[@]}")
if [ -n "$DOCKERD_PID" ]; then
  R[docker_attach]=$(median "${docker_attach[@]}")
  R[docker_logs]=$(median "${docker_logs[@]}")
fi

# Idle memory again, now that both engines have done the same work (50 containers started and removed, execs, 100 MB
# through attach and logs).
sleep "$IDLE_WAIT"
R[berthd_rss_after]=$(rss_kb "$BERTHD_PID")
if [ -n "$DOCKERD_PID" ]; then
  R[dockerd_rss_after]=$(dockerd_rss_kb)
fi

python3 - "$RESULTS/exec.json" "$COUNT" <<PY
import json, sys
r = {k: float(v) for k, v in [$(for k in "${!R[@]}"; do printf '("%s", "%s"),' "$k" "${R[$k]}"; done)]}
execs = {x["command"]: x["median"] * 1000 for x in json.load(open(sys.argv[1]))["results"]}
n = int(sys.argv[2]); mb = 101.0
def ratio(a, b, target, better="lower"):
    if b not in r: return ""
    v = r[a] / r[b]
    return f"  ratio {v:.2f} (target {'<=' if better == 'lower' else '>='} {target})"
print(f"\n{n} sequential run -d: berth {r['berth_run_d']:.2f} s" + (f", docker {r['docker_run_d']:.2f} s" if 'docker_run_d' in r else "") + ratio('berth_run_d', 'docker_run_d', 0.3))
print(f"exec true median: berth {execs['berth exec']:.1f} ms" + (f", docker {execs['docker exec']:.1f} ms  ratio {execs['berth exec'] / execs['docker exec']:.2f} (target <= 0.6)" if 'docker exec' in execs else ""))
print(f"PSS per container ({n} running): berth-monitor {r['berth_pss']:.0f} kB" + (f", containerd-shim {r['docker_pss']:.0f} kB" if 'docker_pss' in r else "") + ratio('berth_pss', 'docker_pss', 0.33))
print(f"idle daemon RSS: berthd {r['berthd_rss'] / 1024:.1f} MB" + (f", dockerd+containerd {r['dockerd_rss'] / 1024:.1f} MB" if 'dockerd_rss' in r else "") + ratio('berthd_rss', 'dockerd_rss', 0.33))
print(f"idle daemon RSS after the same work: berthd {r['berthd_rss_after'] / 1024:.1f} MB" + (f", dockerd+containerd {r['dockerd_rss_after'] / 1024:.1f} MB" if 'dockerd_rss_after' in r else "") + ratio('berthd_rss_after', 'dockerd_rss_after', 0.33))
print(f"(attached run and logs: median of $ROUNDS rounds)")
print(f"attached run of 100 MB: berth {mb / r['berth_attach']:.1f} MB/s" + (f", docker {mb / r['docker_attach']:.1f} MB/s  ratio {r['docker_attach'] / r['berth_attach']:.2f} (target >= 2)" if 'docker_attach' in r else ""))
print(f"logs of 100 MB: berth {mb / r['berth_logs']:.1f} MB/s" + (f", docker {mb / r['docker_logs']:.1f} MB/s  ratio {r['docker_logs'] / r['berth_logs']:.2f} (target >= 5)" if 'docker_logs' in r else ""))
PY
