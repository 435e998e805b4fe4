#!/usr/bin/env bash
# Issue 6's networking targets, Berth and Docker side by side in one run:
#  1. the extra latency of `run --rm busybox true` on the default bridge over `--network none` (alternating runs,
#     median of the pairwise differences)                                  (target: Berth's extra <= 0.2x Docker's)
#  2. requests/s through a port published on 127.0.0.1 against the same httpd reached on its container address
#                                                                          (target: Berth >= 0.9x direct)
#   bench/network-bench.sh [RUNS] [REQUESTS]     (defaults 30 and 5000 requests per round, 2 rounds)
# Berth: the installed berthd (/run/berth/berth.sock), or BERTH_HOST=unix:///path; BERTH_PRIVATE=1 starts a private
# berthd from BERTH_BIN_DIR (default artifacts/test-bin) on its own roots and default bridge "btbench0".
# Docker: Debian's docker.io started here on private roots WITH networking: its own bridge dbench0 (made here, with
# an address in TEST-NET-2), iptables on, userland proxy on (its default). Every iptables rule and chain it adds is
# removed afterwards (its chains must not exist before: another dockerd's rules could not be told from its own).
# busybox httpd closes every connection, so each request is a new connection: past ~10000 to one destination
# within a minute the client's ephemeral ports sit in TIME_WAIT and SYN retries dominate both paths alike.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-30}
REQUESTS=${2:-5000}
WORK=$(mktemp -d /tmp/bnb.XXXXXX)
RESULTS=bench/results
mkdir -p "$RESULTS"
PREFIX=nbench$$
DOCKER_SOCK=$WORK/docker.sock
DBRIDGE=dbench0
DSUBNET=198.51.100
IPT_BEFORE=$WORK/iptables-before

if [ "${BERTH_PRIVATE:-0}" = 1 ]; then
  BIN=${BERTH_BIN_DIR:-$PWD/artifacts/test-bin}
  BERTH_HOST=unix://$WORK/berth.sock
  BERTH_CLI=$BIN/berth
else
  BERTH_HOST=${BERTH_HOST:-unix:///run/berth/berth.sock}
  BERTH_CLI=$(command -v berth)
fi
B() { "$BERTH_CLI" -H "$BERTH_HOST" "$@"; }
source bench/lib.sh

# Deletes the rules and chains that appeared since $IPT_BEFORE and name Docker or its bridge (nobody else's).
remove_docker_iptables() {
  for t in nat filter; do
    [ -f "$IPT_BEFORE.$t" ] || continue
    iptables -t "$t" -S >"$WORK/after.$t"
    new=$(grep -vxF -f "$IPT_BEFORE.$t" "$WORK/after.$t" | grep -E "DOCKER|$DBRIDGE" || true)
    rules=$(printf '%s\n' "$new" | grep '^-A ' | sed 's/^-A/-D/' || true)
    chains=$(printf '%s\n' "$new" | awk '$1 == "-N" {print $2}')
    {
      echo "*$t"
      [ -n "$rules" ] && printf '%s\n' "$rules"
      for c in $chains; do echo "-F $c"; done
      for c in $chains; do echo "-X $c"; done
      echo COMMIT
    } | iptables-restore --noflush --wait || echo "warning: some $t rules of the private dockerd could not be removed" >&2
  done
}

cleanup() {
  set +e
  B ps -aq --filter "name=$PREFIX" | xargs -r "$BERTH_CLI" -H "$BERTH_HOST" rm -f >/dev/null 2>&1
  bench_stop_berthd btbench0
  bench_stop_dockerd
  remove_docker_iptables
  ip link del dev "$DBRIDGE" 2>/dev/null
  bench_unmount "$WORK"
  rm -rf "$WORK"
}
trap cleanup EXIT

command -v ab >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq apache2-utils >/dev/null; }

if [ "${BERTH_PRIVATE:-0}" = 1 ]; then
  bench_start_berthd "$BIN" btbench0 "$WORK/x" --log-level warn
fi
B version >/dev/null 2>&1 || { echo "no berthd at $BERTH_HOST" >&2; exit 1; }
B image inspect busybox >/dev/null 2>&1 || B image bootstrap busybox >/dev/null

if ! command -v dockerd >/dev/null; then
  echo "dockerd is not installed (apt-get install docker.io): Berth numbers only"
elif iptables-save | grep -q -- '-j DOCKER'; then
  echo "another dockerd's iptables chains exist: Docker's side is skipped (its rules could not be told apart)"
elif [ -e "/sys/class/net/$DBRIDGE" ]; then
  echo "$DBRIDGE exists already (another run?): Docker's side is skipped"
else
  echo "Starting a private dockerd with networking (bridge $DBRIDGE, $DSUBNET.0/24, iptables, userland proxy)"
  for t in nat filter; do iptables -t "$t" -S >"$IPT_BEFORE.$t"; done
  ip link add "$DBRIDGE" type bridge
  ip addr add "$DSUBNET.1/24" dev "$DBRIDGE"
  ip link set "$DBRIDGE" up
  bench_start_dockerd --bridge "$DBRIDGE" --iptables=true --ip-masq=true
  B save busybox | D load >/dev/null
fi

echo "== run --rm busybox true: default bridge vs --network none ($RUNS alternating pairs each, after 3 warm-ups)"
engines=("berth=$BERTH_CLI -H $BERTH_HOST")
[ -n "$DOCKERD_PID" ] && engines+=("docker=docker -H unix://$DOCKER_SOCK")
python3 - "$RUNS" "$RESULTS/network-start.json" "${engines[@]}" <<'PY'
import json, shlex, statistics, subprocess, sys, time
runs, out, engines = int(sys.argv[1]), sys.argv[2], dict(a.split("=", 1) for a in sys.argv[3:])
def once(cli, extra):
    t = time.perf_counter()
    subprocess.run([*shlex.split(cli), "run", "--rm", *extra, "busybox", "true"], check=True, stdout=subprocess.DEVNULL)
    return (time.perf_counter() - t) * 1000
result = {}
for name, cli in engines.items():
    for _ in range(3):
        once(cli, []); once(cli, ["--network", "none"])
    none, bridge = [], []
    for _ in range(runs):  # alternating, so the load of others hits both alike
        none.append(once(cli, ["--network", "none"])); bridge.append(once(cli, []))
    extra = statistics.median([b - n for b, n in zip(bridge, none)])
    result[name] = {"none_ms": statistics.median(none), "bridge_ms": statistics.median(bridge), "extra_ms": extra}
    print(f"{name}: none median {statistics.median(none):.1f} ms, bridge median {statistics.median(bridge):.1f} ms, "
          f"networking adds {extra:.1f} ms (median of pairwise differences)")
if "docker" in result:
    b, d = result["berth"]["extra_ms"], result["docker"]["extra_ms"]
    print(f"extra latency Berth/Docker: {b:.1f} / {d:.1f} ms = {b / d:.2f} (target <= 0.2)" if d > 0 else "Docker's extra is not positive")
json.dump(result, open(out, "w"), indent=1)
PY

echo "== requests/s: published 127.0.0.1 port vs the container address ($REQUESTS requests per round, concurrency 8)"
rate() { timeout 120 ab -q -n "$REQUESTS" -c 8 "$1" 2>/dev/null | awk '/Requests per second/ {print $4}'; }
# engine label, CLI function: alternating rounds, best of each (the load of others is the largest noise here).
measure() {
  local label=$1 cli=$2 web=$PREFIX-web-$1
  $cli run -d --name "$web" -p 127.0.0.1:0:80 busybox sh -c 'echo ok > /tmp/index.html; exec httpd -f -p 80 -h /tmp' >/dev/null
  local port ip
  port=$($cli port "$web" 80 | grep '^127.0.0.1:' | head -1 | cut -d: -f2)
  ip=$($cli inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$web")
  for _ in $(seq 100); do curl -sf -m 1 "http://$ip/index.html" >/dev/null && curl -sf -m 1 "http://127.0.0.1:$port/index.html" >/dev/null && break; sleep 0.05; done
  local direct=0 published=0 d p
  for round in 1 2; do
    d=$(rate "http://$ip:80/index.html"); p=$(rate "http://127.0.0.1:$port/index.html")
    echo "$label round $round: direct ${d:-0} req/s, published ${p:-0} req/s"
    direct=$(python3 -c "print(max(float('$direct'), float('${d:-0}')))"); published=$(python3 -c "print(max(float('$published'), float('${p:-0}')))")
  done
  python3 -c "d=float('$direct'); p=float('$published'); print(f'$label best: direct {d:.0f} req/s, published 127.0.0.1:$port {p:.0f} req/s: ratio {p/d:.2f}')" | tee -a "$WORK/rates"
  $cli rm -f "$web" >/dev/null
}
measure berth B
[ -n "$DOCKERD_PID" ] && measure docker D
cp "$WORK/rates" "$RESULTS/network-rates.txt"
