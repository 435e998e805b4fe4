#!/usr/bin/env bash
# Times `compose up -d` and `compose down` of a 5-service busybox project (one user network, one named volume,
# a depends_on chain), median of RUNS runs, for:
#   berth compose             against berthd  (BERTH_SOCK, default /run/berth/berth.sock)
#   docker-compose 1.29       against berthd  (Debian's docker-compose, when installed and working)
#   docker compose / docker-compose against a dockerd (DOCKER_SOCK when such a socket exists; otherwise, when
#   dockerd is installed, a private one on temporary roots with busybox imported, stopped at the end)
# and prints each time with its ratio to Docker's (or, without a dockerd, to docker-compose 1.29 on berthd).
#   BERTH_SOCK=/tmp/x/berth.sock RUNS=5 bench/compose-bench.sh
set -uo pipefail
BERTH=${BERTH:-berth}
BERTH_SOCK=${BERTH_SOCK:-/run/berth/berth.sock}
DOCKER_SOCK=${DOCKER_SOCK:-/var/run/docker.sock}
RUNS=${RUNS:-3}
WORK=$(mktemp -d /tmp/berth-compose-bench.XXXXXX)
source "$(dirname "$0")/lib.sh"
cleanup() {
  bench_stop_dockerd
  rm -rf "$WORK"
}
trap cleanup EXIT
if [ ! -S "$DOCKER_SOCK" ] && command -v dockerd >/dev/null; then
  DOCKER_SOCK=$WORK/docker.sock
  bench_start_dockerd
  bench_busybox_rootfs "$WORK/rootfs"
  bench_docker_import_busybox "$WORK/rootfs"
fi
cat > "$WORK/docker-compose.yml" <<'YAML'
version: "2.4"
services:
  db:
    image: busybox
    command: ["sleep", "600"]
    stop_signal: SIGKILL
    volumes: ["data:/data"]
    networks: [back]
  cache:
    image: busybox
    command: ["sleep", "600"]
    stop_signal: SIGKILL
    networks: [back]
  app:
    image: busybox
    command: ["sleep", "600"]
    stop_signal: SIGKILL
    depends_on: [db, cache]
    networks: [back]
  worker:
    image: busybox
    command: ["sleep", "600"]
    stop_signal: SIGKILL
    depends_on: [db]
    networks: [back]
  web:
    image: busybox
    command: ["sleep", "600"]
    stop_signal: SIGKILL
    depends_on: [app]
    networks: [back]
volumes:
  data:
networks:
  back:
YAML

now() { date +%s.%N; }
# median of the arguments
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# run_tool NAME COMMAND...: RUNS times up -d then down; sets UP_<NAME> and DOWN_<NAME> (medians, seconds).
run_tool() {
  local name=$1; shift
  local ups=() downs=() s e
  for _ in $(seq "$RUNS"); do
    s=$(now); "$@" up -d >/dev/null 2>&1 || { echo "$name: up failed" >&2; "$@" down -v >/dev/null 2>&1; return 1; }; e=$(now)
    ups+=("$(echo "$e - $s" | bc)")
    s=$(now); "$@" down -v >/dev/null 2>&1 || { echo "$name: down failed" >&2; return 1; }; e=$(now)
    downs+=("$(echo "$e - $s" | bc)")
  done
  printf -v "UP_$name" '%s' "$(median "${ups[@]}")"
  printf -v "DOWN_$name" '%s' "$(median "${downs[@]}")"
}

declare -a TOOLS=()
if [ -S "$BERTH_SOCK" ]; then
  run_tool berth "$BERTH" -H "unix://$BERTH_SOCK" compose -f "$WORK/docker-compose.yml" -p benchb && TOOLS+=(berth)
  if command -v docker-compose >/dev/null; then
    run_tool dc129_berthd env DOCKER_HOST="unix://$BERTH_SOCK" docker-compose -f "$WORK/docker-compose.yml" -p benchc && TOOLS+=(dc129_berthd)
  fi
else
  echo "no berthd at $BERTH_SOCK" >&2
fi
REF=""
if [ -S "$DOCKER_SOCK" ]; then
  if DOCKER_HOST="unix://$DOCKER_SOCK" docker compose version >/dev/null 2>&1; then
    run_tool docker env DOCKER_HOST="unix://$DOCKER_SOCK" docker compose -f "$WORK/docker-compose.yml" -p benchd && TOOLS+=(docker) && REF=docker
  elif command -v docker-compose >/dev/null; then
    run_tool docker env DOCKER_HOST="unix://$DOCKER_SOCK" docker-compose -f "$WORK/docker-compose.yml" -p benchd && TOOLS+=(docker) && REF=docker
  fi
fi
[ -z "$REF" ] && [[ " ${TOOLS[*]} " == *" dc129_berthd "* ]] && REF=dc129_berthd
[ -z "$REF" ] && [ ${#TOOLS[@]} -gt 0 ] && REF=${TOOLS[0]}

printf '%-16s %10s %10s %10s   (median of %s runs; ratio to %s)\n' tool "up -d" down total "$RUNS" "${REF:-none}"
for t in "${TOOLS[@]}"; do
  up_var="UP_$t"; down_var="DOWN_$t"; ref_up="UP_$REF"; ref_down="DOWN_$REF"
  total=$(echo "${!up_var} + ${!down_var}" | bc)
  ref_total=$(echo "${!ref_up} + ${!ref_down}" | bc)
  printf '%-16s %9.2fs %9.2fs %9.2fs   x%.2f\n' "$t" "${!up_var}" "${!down_var}" "$total" "$(echo "$total / $ref_total" | bc -l)"
done
