#!/usr/bin/env bash
# Issue 8's builder targets, Berth and Docker's legacy builder side by side in one run, through the same client
# (the docker CLI with DOCKER_BUILDKIT=0) on a 6-step Dockerfile with a 50 MB context:
#   - cold build (--no-cache)                      (target: Berth <= 0.5x Docker's time)
#   - fully cached rebuild                          (target: <= 0.5x)
#   - rebuild after changing the last step          (target: <= 0.5x)
# Each figure is the median of RUNS runs (default 5).
#   bench/build-bench.sh [RUNS]
# Berth: the installed berthd (/run/berth/berth.sock), or BERTH_HOST=unix:///path/to/berth.sock for another one.
# Docker: Debian's docker.io started here on private roots, with the same busybox image loaded from Berth.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-5}
BERTH_HOST=${BERTH_HOST:-unix:///run/berth/berth.sock}
WORK=$(mktemp -d /tmp/berth-build-bench.XXXXXX)
RESULTS=bench/results
mkdir -p "$RESULTS"
DOCKER_SOCK=$WORK/docker.sock
TAG=bench-build-$$
export DOCKER_BUILDKIT=0

B() { DOCKER_HOST=$BERTH_HOST docker "$@"; }
source bench/lib.sh

cleanup() {
  set +e
  B rmi "$TAG" >/dev/null 2>&1
  bench_stop_dockerd
  bench_unmount "$WORK"
  rm -rf "$WORK"
}
trap cleanup EXIT

B image inspect busybox >/dev/null 2>&1 || berth -H "$BERTH_HOST" image bootstrap busybox
if bench_start_dockerd; then
  B save busybox | D load >/dev/null
fi

CTX=$WORK/context
mkdir -p "$CTX"
head -c 50000000 /dev/urandom > "$CTX/blob.bin"
printf 'echo hello\n' > "$CTX/run.sh"
write() {
  cat > "$CTX/Dockerfile" <<DOCKERFILE
FROM busybox
ENV APP=/app
WORKDIR /app
COPY blob.bin run.sh ./
RUN sha256sum blob.bin > blob.sum
CMD ["sh", "run.sh", "$1"]
DOCKERFILE
}

now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
# build ENGINE [--no-cache]: seconds for one build of the context.
build() { local engine=$1 s e; shift; s=$(now); $engine build -q --network host "$@" -t "$TAG" "$CTX" >/dev/null; e=$(now); echo "$e - $s" | bc; }

declare -A R
for engine in B D; do
  [ "$engine" = D ] && [ -z "$DOCKERD_PID" ] && continue
  cold=() cached=() last=()
  for _ in $(seq "$RUNS"); do
    write one
    cold+=("$(build $engine --no-cache)")
    cached+=("$(build $engine)")
    write "two-$RANDOM"
    last+=("$(build $engine)")
  done
  R[${engine}_cold]=$(printf '%s\n' "${cold[@]}" | median)
  R[${engine}_cached]=$(printf '%s\n' "${cached[@]}" | median)
  R[${engine}_last]=$(printf '%s\n' "${last[@]}" | median)
done

load=$(cut -d' ' -f1-3 /proc/loadavg)
out="$RESULTS/build-$(date -u +%Y%m%dT%H%M%SZ).txt"
{
  echo "build bench, $(date -u +%FT%TZ), $RUNS runs each (median), load average $load, $(nproc) cores"
  printf '%-32s %10s %10s %8s\n' "" "Berth s" "Docker s" "ratio"
  for k in cold cached last; do
    label=$(case $k in cold) echo "cold build (--no-cache)";; cached) echo "fully cached rebuild";; last) echo "last step changed";; esac)
    b=${R[B_$k]}; d=${R[D_$k]:-}
    if [ -n "$d" ]; then
      printf '%-32s %10.3f %10.3f %7.2fx\n' "$label" "$b" "$d" "$(echo "$b / $d" | bc -l)"
    else
      printf '%-32s %10.3f %10s %8s\n' "$label" "$b" "-" "-"
    fi
  done
} | tee "$out"
