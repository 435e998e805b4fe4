#!/usr/bin/env bash
# Times the builder on a 6-step Dockerfile with a 50 MB context: cold build, fully cached rebuild, and rebuild
# after changing the last step, through the docker CLI's classic builder (DOCKER_BUILDKIT=0).
#   DOCKER_HOST=unix:///run/berth/berth.sock bench/build-bench.sh
# Point DOCKER_HOST at a dockerd to time Docker's legacy builder the same way (busybox must be present there).
set -euo pipefail
WORK=$(mktemp -d /tmp/berth-build-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
export DOCKER_BUILDKIT=0
head -c 50000000 /dev/urandom > "$WORK/blob.bin"
printf 'echo hello\n' > "$WORK/run.sh"
write() {
  cat > "$WORK/Dockerfile" <<DOCKERFILE
FROM busybox
ENV APP=/app
WORKDIR /app
COPY blob.bin run.sh ./
RUN sha256sum blob.bin > blob.sum
CMD ["sh", "run.sh", "$1"]
DOCKERFILE
}
tag=bench-build-$$
timeit() { local s e; s=$(date +%s.%N); docker build -q --no-cache=${2:-false} -t "$tag" "$WORK" >/dev/null; e=$(date +%s.%N); printf '%-28s %6.2f s\n' "$1" "$(echo "$e - $s" | bc)"; }
write one
timeit "cold (no cache)" true
timeit "fully cached rebuild"
write two
timeit "last step changed"
docker rmi "$tag" >/dev/null
