#!/usr/bin/env bash
# `exec CONTAINER true` alone (the exec part of container-bench.sh, quicker): Berth's CLI against Docker's, and
# underneath them bare `runc exec` against berth-exec (what the monitor runs on the native path), each run by hand
# on Berth's container with the same seccomp filter and capabilities.
#   bench/exec-bench.sh BIN_DIR [RUNS]    BIN_DIR: berthd, berth, berth-monitor and berth-exec (e.g. artifacts/test-bin)
#   BASELINE_EXEC=PATH (optional): another berth-exec build, timed in the same run on the same spec (a before/after).
# A private berthd of that build runs on roots under a temporary directory, beside a private dockerd (docker.io).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN_DIR=$(realpath "${1:?usage: bench/exec-bench.sh BIN_DIR [RUNS]}")
RUNS=${2:-30}
WORK=$(mktemp -d /tmp/berth-xbench.XXXXXX)
EXEC_ROOT=/tmp/bx$$
BRIDGE=bxb$$
RESULTS=bench/results
mkdir -p "$RESULTS"
source bench/lib.sh
cleanup() {
  set +e
  "${BERTH[@]}" rm -f xbench >/dev/null 2>&1
  bench_stop_berthd "$BRIDGE"
  bench_stop_dockerd
  bench_unmount "$WORK" "$EXEC_ROOT"
  rm -rf "$WORK" "$EXEC_ROOT"
}
trap cleanup EXIT

bench_start_berthd "$BIN_DIR" "$BRIDGE" "$EXEC_ROOT"
"${BERTH[@]}" image bootstrap busybox >/dev/null
"${BERTH[@]}" run -d --network none --name xbench busybox sleep 600 >/dev/null
commands=(--command-name "berth exec" "${BERTH[*]} exec xbench true")
if bench_start_dockerd; then
  "${BERTH[@]}" save busybox | D load >/dev/null
  D run -d --network none --name xbench busybox sleep 600 >/dev/null
  commands+=(--command-name "docker exec" "env DOCKER_HOST=unix://$DOCKER_SOCK docker exec xbench true")
fi

# The two ways of entering Berth's container, without the CLI, API and monitor around them.
id=$("${BERTH[@]}" inspect -f '{{.Id}}' xbench)
state=$EXEC_ROOT/c/$id
runc_root=$EXEC_ROOT/runc
pid=$(grep -o '"init_process_pid":[0-9]*' "$runc_root/$id/state.json" | cut -d: -f2)
start=$(grep -o '"init_process_start":[0-9]*' "$runc_root/$id/state.json" | cut -d: -f2)
"${BERTH[@]}" exec xbench true # compiles the container's seccomp filter into its state directory
caps=a80425fb # Docker's default capability set
printf 'arg true\0env PATH=/bin\0cwd /\0uid 0\0gid 0\0capb %s\0cape %s\0capp %s\0capi 0\0capa 0\0nnp 0\0seccomp %s\0terminal 0\0' \
  "$caps" "$caps" "$caps" "$state/seccomp.bpf" >"$WORK/spec"
commands+=(--command-name "runc exec" "runc --root $runc_root exec $id true")
commands+=(--command-name "berth-exec" "$BIN_DIR/berth-exec --spec $WORK/spec --pid $pid --start $start --pid-file $WORK/pid --log $WORK/log")
if [ -n "${BASELINE_EXEC:-}" ]; then
  commands+=(--command-name "baseline" "$BASELINE_EXEC --spec $WORK/spec --pid $pid --start $start --pid-file $WORK/pid --log $WORK/log")
fi

hyperfine -N --warmup 3 --runs "$RUNS" --export-json "$RESULTS/exec-only.json" --style basic "${commands[@]}" >/dev/null
python3 - "$RESULTS/exec-only.json" <<'PY'
import json, sys
m = {r["command"]: r["median"] * 1000 for r in json.load(open(sys.argv[1]))["results"]}
for name, value in m.items():
    print(f"{name:12} median {value:6.1f} ms")
if "docker exec" in m:
    print(f"berth exec / docker exec = {m['berth exec'] / m['docker exec']:.2f} (target <= 0.6)")
print(f"berth-exec / runc exec = {m['berth-exec'] / m['runc exec']:.2f}")
if "baseline" in m:
    print(f"berth-exec - baseline = {m['berth-exec'] - m['baseline']:+.2f} ms")
PY
