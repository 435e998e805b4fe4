#!/usr/bin/env bash
# Networking costs on a private berthd (own roots, own default bridge "btbench0"):
#  1. the extra latency of `run --rm busybox true` on the default bridge over `--network none`
#     (netns + veth + address + route + IPAM by rtnetlink; the veth dies with the namespace, off the reply path);
#  2. requests/s through a port published on 127.0.0.1 (DNAT, no proxy) vs the same httpd reached directly.
#   bench/network-bench.sh [RUNS] [REQUESTS]     (defaults 30 and 20000)
# Binaries: BERTH_BIN_DIR (default artifacts/test-bin, as ./test.sh publishes them).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-30}
REQUESTS=${2:-20000}
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
command -v hyperfine >/dev/null || need+=(hyperfine)
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

echo "== run --rm busybox true: default bridge vs --network none ($RUNS runs each)"
hyperfine -N --warmup 3 --runs "$RUNS" --export-json "$WORK/run.json" \
  --command-name "none"   "$BIN/berth -H unix://$SOCK run --rm --network none busybox true" \
  --command-name "bridge" "$BIN/berth -H unix://$SOCK run --rm busybox true"
python3 - "$WORK/run.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
none, bridge = r["none"]["mean"] * 1000, r["bridge"]["mean"] * 1000
print(f"none {none:.1f} ms, bridge {bridge:.1f} ms: networking adds {bridge - none:.1f} ms "
      f"(median {(r['bridge']['median'] - r['none']['median']) * 1000:.1f} ms)")
PY

echo "== requests/s: published 127.0.0.1 port vs container address ($REQUESTS requests, concurrency 8)"
berth run -d --name bench-web -p 127.0.0.1:0:80 busybox sh -c 'echo ok > /tmp/index.html; exec httpd -f -p 80 -h /tmp' >/dev/null
PORT=$(berth port bench-web 80 | head -1 | cut -d: -f2)
IP=$(berth inspect -f '{{.NetworkSettings.IPAddress}}' bench-web)
for _ in $(seq 100); do curl -sf -m 1 "http://$IP/index.html" >/dev/null && break; sleep 0.05; done
rate() { timeout 120 ab -q -n "$REQUESTS" -c 8 "$1" 2>/dev/null | awk '/Requests per second/ {print $4}'; }
rate "http://$IP:80/index.html" >/dev/null   # warm-up
direct=$(rate "http://$IP:80/index.html")
published=$(rate "http://127.0.0.1:$PORT/index.html")
python3 -c "d=float('$direct'); p=float('$published'); print(f'direct {d:.0f} req/s, published 127.0.0.1:$PORT {p:.0f} req/s: ratio {p/d:.2f}')"
