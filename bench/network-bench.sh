#!/usr/bin/env bash
# Networking costs on a private berthd (own roots, own default bridge "btbench0"):
#  1. the extra latency (alternating runs, median of the pairwise differences) of `run --rm busybox true` on the default bridge over `--network none`
#     (netns + veth + address + route + IPAM by rtnetlink; the veth dies with the namespace, off the reply path);
#  2. requests/s through a port published on 127.0.0.1 (DNAT, no proxy) vs the same httpd reached directly.
#   bench/network-bench.sh [RUNS] [REQUESTS]     (defaults 30 and 5000 per round, 2 rounds)
# busybox httpd closes every connection, so each request is a new connection: past ~10000 to one destination
# within a minute the client's ephemeral ports sit in TIME_WAIT and SYN retries dominate both paths alike.
# Binaries: BERTH_BIN_DIR (default artifacts/test-bin, as ./test.sh publishes them).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-30}
REQUESTS=${2:-5000}
BIN=${BERTH_BIN_DIR:-$PWD/artifacts/test-bin}
WORK=$(mktemp -d /tmp/bnb.XXXXXX)
SOCK=$WORK/berth.sock
BRIDGE=btbench0
PID=""
berth() { "$BIN/berth" -H "unix://$SOCK" "$@"; }

cleanup() {
  set +e
  berth rm -f bench-web >/dev/null 2>&1
  [ -n "$PID" ] && { kill "$PID"; wait "$PID"; } 2>/dev/null
  # This daemon's rules carry the comment tag berth:$BRIDGE: ; delete exactly those, then its bridge.
  for t in nat filter; do
    rules=$(iptables-save -t "$t" | grep -- "berth:$BRIDGE:" | sed 's/^-A/-D/')
    [ -n "$rules" ] && printf '*%s\n%s\nCOMMIT\n' "$t" "$rules" | iptables-restore --noflush --wait
  done
  ip link del "$BRIDGE" 2>/dev/null
  grep " $WORK" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

need=()
command -v ab >/dev/null || need+=(apache2-utils)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

"$BIN/berthd" --monitor "$BIN/berth-monitor" --data-root "$WORK/d" --exec-root "$WORK/x" -H "unix://$SOCK" \
  --bridge-name "$BRIDGE" --log-level warn >"$WORK/berthd.log" 2>&1 &
PID=$!
for _ in $(seq 600); do berth version >/dev/null 2>&1 && break; sleep 0.1; done
berth version >/dev/null 2>&1 || { tail -20 "$WORK/berthd.log"; exit 1; }
berth image bootstrap busybox >/dev/null

echo "== run --rm busybox true: default bridge vs --network none ($RUNS alternating runs each, after 3 warm-ups)"
python3 - "$BIN/berth" "$SOCK" "$RUNS" <<'PY'
import statistics, subprocess, sys, time
berth, sock, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
def once(extra):
    t = time.perf_counter()
    subprocess.run([berth, "-H", "unix://" + sock, "run", "--rm", *extra, "busybox", "true"], check=True)
    return (time.perf_counter() - t) * 1000
for _ in range(3):
    once([]); once(["--network", "none"])
none, bridge = [], []
for _ in range(runs):  # alternating, so the load of others hits both alike
    none.append(once(["--network", "none"])); bridge.append(once([]))
diff = [b - n for b, n in zip(bridge, none)]
print(f"none: median {statistics.median(none):.1f} ms, mean {statistics.mean(none):.1f} ms")
print(f"bridge: median {statistics.median(bridge):.1f} ms, mean {statistics.mean(bridge):.1f} ms")
print(f"networking adds: median of pairwise differences {statistics.median(diff):.1f} ms (mean {statistics.mean(diff):.1f} ms)")
PY

echo "== requests/s: published 127.0.0.1 port vs container address ($REQUESTS requests, concurrency 8)"
berth run -d --name bench-web -p 127.0.0.1:0:80 busybox sh -c 'echo ok > /tmp/index.html; exec httpd -f -p 80 -h /tmp' >/dev/null
PORT=$(berth port bench-web 80 | head -1 | cut -d: -f2)
IP=$(berth inspect -f '{{.NetworkSettings.IPAddress}}' bench-web)
for _ in $(seq 100); do curl -sf -m 1 "http://$IP/index.html" >/dev/null && break; sleep 0.05; done
rate() { timeout 120 ab -q -n "$REQUESTS" -c 8 "$1" 2>/dev/null | awk '/Requests per second/ {print $4}'; }
curl -sf "http://127.0.0.1:$PORT/index.html" >/dev/null
# Alternating rounds, best of each: on a shared machine the load of others is the largest noise.
direct=0; published=0
for round in 1 2; do
  d=$(rate "http://$IP:80/index.html"); p=$(rate "http://127.0.0.1:$PORT/index.html")
  echo "round $round: direct ${d:-0} req/s, published ${p:-0} req/s"
  direct=$(python3 -c "print(max(float('$direct'), float('${d:-0}')))"); published=$(python3 -c "print(max(float('$published'), float('${p:-0}')))")
done
python3 -c "d=float('$direct'); p=float('$published'); print(f'best: direct {d:.0f} req/s, published 127.0.0.1:$PORT {p:.0f} req/s: ratio {p/d:.2f}')"
