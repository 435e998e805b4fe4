#!/usr/bin/env bash
# Issue 9's registry targets, Berth and Docker side by side in one run, through one loopback registry:
#   - push of a ~210 MB image: busybox + 3 layers of 70 MB of random (incompressible) bytes   (target: Berth >= Docker's MB/s)
#   - pull of the same image after removing it                                                (target: Berth >= 1.5x Docker's MB/s)
#   bench/registry-bench.sh [ROUNDS]        (default 2 rounds; the best round of each side counts)
# The registry: Debian's docker-registry (distribution 2.8) on 127.0.0.1, private root, started and removed here
# (berth-registry when docker-registry is not installed). Berth: the installed berthd, or BERTH_HOST=unix:///...
# (a private berthd); BERTH_CLI=path picks the berth binary. Docker: Debian's docker.io started here on private roots.
# MB/s counts the bytes that cross the wire: the compressed layers each engine pushes or pulls.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-2}
WORK=$(mktemp -d /tmp/berth-rbench.XXXXXX)
RESULTS=bench/results
mkdir -p "$RESULTS"
DOCKER_SOCK=$WORK/docker.sock
REGISTRY_PID=""
PORT=$((20000 + RANDOM % 20000))
REG=127.0.0.1:$PORT
BERTH_CLI=${BERTH_CLI:-berth}
B() { if [ -n "${BERTH_HOST:-}" ]; then "$BERTH_CLI" -H "$BERTH_HOST" "$@"; else "$BERTH_CLI" "$@"; fi; }
source bench/lib.sh
IMAGE=rbench-big:v1

cleanup() {
  set +e
  B rmi -f "$IMAGE" "$REG/berth/big:v1" >/dev/null 2>&1
  bench_stop_dockerd
  [ -n "$REGISTRY_PID" ] && { kill "$REGISTRY_PID" 2>/dev/null; wait "$REGISTRY_PID" 2>/dev/null; }
  bench_unmount "$WORK"
  rm -rf "$WORK"
}
trap cleanup EXIT

B version >/dev/null 2>&1 || { [ -z "${BERTH_HOST:-}" ] && ./install.sh --no-run; }
B image inspect busybox >/dev/null 2>&1 || B image bootstrap busybox >/dev/null

echo "Starting a loopback registry on $REG"
if command -v docker-registry >/dev/null; then
  cat >"$WORK/registry.yml" <<YML
version: 0.1
log: {level: error}
storage: {filesystem: {rootdirectory: $WORK/registry}, delete: {enabled: true}}
http: {addr: $REG}
YML
  docker-registry serve "$WORK/registry.yml" >"$WORK/registry.log" 2>&1 &
  REGISTRY_KIND="docker-registry (distribution 2.8)"
else
  berth-registry serve --addr "$REG" --root "$WORK/registry" >"$WORK/registry.log" 2>&1 &
  REGISTRY_KIND="berth-registry"
fi
REGISTRY_PID=$!
for _ in $(seq 100); do curl -sf "http://$REG/v2/" >/dev/null && break; sleep 0.1; done

echo "Building $IMAGE: busybox + 3 x 70 MB of random bytes"
mkdir -p "$WORK/ctx"
printf 'FROM busybox\nRUN head -c 70000000 /dev/urandom > /a\nRUN head -c 70000000 /dev/urandom > /b\nRUN head -c 70000000 /dev/urandom > /c\n' >"$WORK/ctx/Dockerfile"
B build -q -t "$IMAGE" "$WORK/ctx" >/dev/null

if bench_start_dockerd; then
  B save "$IMAGE" | D load >/dev/null
fi

now() { date +%s.%N; }
# Bytes on the wire: the sizes of the config and layers in the manifest the registry holds for REPO:v1.
wire_bytes() {
  curl -sf -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    "http://$REG/v2/$1/manifests/v1" | python3 -c 'import json,sys; m=json.load(sys.stdin); print(m["config"]["size"] + sum(l["size"] for l in m["layers"]))'
}
# Forget a pushed repository so the next round uploads every blob again: delete its manifest, then sweep blobs.
forget() {
  local digest
  digest=$(curl -sfI -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    "http://$REG/v2/$1/manifests/v1" | awk 'tolower($1) == "docker-content-digest:" {print $2}' | tr -d '\r')
  [ -n "$digest" ] && curl -sf -X DELETE "http://$REG/v2/$1/manifests/$digest" >/dev/null || true
  rm -rf "$WORK/registry/docker/registry/v2/repositories/$1"
}

declare -A BEST
best() { local k=$1 v=$2; if [ -z "${BEST[$k]:-}" ] || [ "$(echo "$v < ${BEST[$k]}" | bc)" = 1 ]; then BEST[$k]=$v; fi; }
for round in $(seq "$ROUNDS"); do
  echo "== round $round"
  B tag "$IMAGE" "$REG/berth/big:v1"
  t0=$(now); B push "$REG/berth/big:v1" >/dev/null; t1=$(now); best berth_push "$(echo "$t1 - $t0" | bc)"
  BERTH_BYTES=$(wire_bytes berth/big)
  B rmi "$REG/berth/big:v1" "$IMAGE" >/dev/null
  B image prune -f >/dev/null
  t0=$(now); B pull "$REG/berth/big:v1" >/dev/null; t1=$(now); best berth_pull "$(echo "$t1 - $t0" | bc)"
  B tag "$REG/berth/big:v1" "$IMAGE"
  B rmi "$REG/berth/big:v1" >/dev/null
  forget berth/big
  if [ -n "$DOCKERD_PID" ]; then
    D tag "$IMAGE" "$REG/docker/big:v1"
    t0=$(now); D push "$REG/docker/big:v1" >/dev/null; t1=$(now); best docker_push "$(echo "$t1 - $t0" | bc)"
    DOCKER_BYTES=$(wire_bytes docker/big)
    D rmi "$REG/docker/big:v1" "$IMAGE" >/dev/null
    t0=$(now); D pull "$REG/docker/big:v1" >/dev/null; t1=$(now); best docker_pull "$(echo "$t1 - $t0" | bc)"
    D tag "$REG/docker/big:v1" "$IMAGE"
    D rmi "$REG/docker/big:v1" >/dev/null
    forget docker/big
  fi
done

python3 - "$RESULTS/registry-$(date -u +%Y%m%dT%H%M%SZ).txt" <<PY
import sys
r = {k: float(v) for k, v in [$(for k in "${!BEST[@]}"; do printf '("%s", "%s"),' "$k" "${BEST[$k]}"; done)]}
berth_mb = ${BERTH_BYTES} / 1e6
docker_mb = ${DOCKER_BYTES:-0} / 1e6
lines = [f"registry: ${REGISTRY_KIND} on loopback; image: busybox + 3 x 70 MB random; best of ${ROUNDS} rounds; load: $(cut -d' ' -f1-3 /proc/loadavg)"]
def row(what, target):
    b = berth_mb / r[f"berth_{what}"]
    line = f"{what}: berth {berth_mb:.0f} MB in {r[f'berth_{what}']:.2f} s = {b:.1f} MB/s"
    if f"docker_{what}" in r:
        d = docker_mb / r[f"docker_{what}"]
        line += f"; docker {docker_mb:.0f} MB in {r[f'docker_{what}']:.2f} s = {d:.1f} MB/s; ratio {b / d:.2f} (target >= {target})"
    lines.append(line)
row("push", 1.0)
row("pull", 1.5)
print("\n".join(lines))
open(sys.argv[1], "w").write("\n".join(lines) + "\n")
PY
