#!/usr/bin/env bash
# Issue 3's image target, Berth and Docker side by side in one run: `save` and `load` throughput (MB/s) of a
# ~200 MB, 3-layer image of incompressible data (busybox's layer + two layers of 100 MB from /dev/urandom).
# Target: Berth >= 1.5x Docker's MB/s for both.
#   bench/image-bench.sh [ROUNDS]     (default 5; the median and the best round are reported: on a shared, loaded
#                                     machine the best round is the closest to each engine's own cost)
# Berth: the installed berthd (/run/berth/berth.sock), or BERTH_HOST=unix:///path/to/berth.sock for another one, or
# BERTH_BIN_DIR=DIR (berthd, berth-monitor and berth published there, e.g. artifacts/test-bin) for a private berthd
# started here on private roots (its bridge, rules and roots removed on exit). Docker: Debian's docker.io started here on
# private roots (overlay2, no networking). Each side saves to and loads from its own archive on the same disk; before
# each load the image is removed, so its layers are written again (Docker's rmi and Berth's both drop unreferenced
# layers at once).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-5}
WORK=$(mktemp -d /tmp/berth-ibench.XXXXXX)
RESULTS=bench/results
mkdir -p "$RESULTS"
DOCKER_SOCK=$WORK/docker.sock
IMAGE=imgbench$$:latest
BRIDGE=bbib$$
BERTH_EXEC=/tmp/bib$$   # short: berthd keeps monitor socket paths under it within a unix socket address
BERTH=(berth)
[ -n "${BERTH_HOST:-}" ] && BERTH=(berth -H "$BERTH_HOST")
source bench/lib.sh
cleanup() {
  set +e
  "${BERTH[@]}" rmi -f "$IMAGE" >/dev/null 2>&1
  bench_stop_berthd "$BRIDGE"
  bench_stop_dockerd
  bench_unmount "$WORK" "$BERTH_EXEC"
  rm -rf "$WORK" "$BERTH_EXEC"
}
trap cleanup EXIT

[ -n "${BERTH_BIN_DIR:-}" ] && bench_start_berthd "$BERTH_BIN_DIR" "$BRIDGE" "$BERTH_EXEC"

B() { "${BERTH[@]}" "$@"; }
B version >/dev/null
B image inspect busybox >/dev/null 2>&1 || B image bootstrap busybox

echo "Making the image: busybox + 2 x 100 MB of random data"
B save -o "$WORK/busybox.tar" busybox
python3 - "$WORK" "$IMAGE" <<'PY'
import hashlib, io, json, os, sys, tarfile
work, image = sys.argv[1], sys.argv[2]
with tarfile.open(f"{work}/busybox.tar") as src:
    entry = json.load(src.extractfile("manifest.json"))[0]
    config = json.load(src.extractfile(entry["Config"]))
    base = src.extractfile(entry["Layers"][0]).read()
if base[:2] == b"\x1f\x8b":
    import gzip
    base = gzip.decompress(base)
layers = [base]
for n in (1, 2):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        info = tarfile.TarInfo(f"random{n}.bin"); info.size = 100 * 1000 * 1000; info.mode = 0o644
        t.addfile(info, io.BytesIO(os.urandom(info.size)))
    layers.append(buf.getvalue())
diff_ids = ["sha256:" + hashlib.sha256(l).hexdigest() for l in layers]
config["rootfs"] = {"type": "layers", "diff_ids": diff_ids}
config["history"] = config.get("history", [])[:1] + [{"created_by": f"random layer {n}"} for n in (1, 2)]
config_bytes = json.dumps(config).encode()
with tarfile.open(f"{work}/seed.tar", "w") as out:
    def add(name, data):
        info = tarfile.TarInfo(name); info.size = len(data); out.addfile(info, io.BytesIO(data))
    names = []
    for layer, diff in zip(layers, diff_ids):
        names.append(diff[7:] + "/layer.tar"); add(names[-1], layer)
    add(hashlib.sha256(config_bytes).hexdigest() + ".json", config_bytes)
    add("manifest.json", json.dumps([{"Config": hashlib.sha256(config_bytes).hexdigest() + ".json",
                                      "RepoTags": [image], "Layers": names}]).encode())
PY
B load -q -i "$WORK/seed.tar" >/dev/null

if bench_start_dockerd --iptables=false --bridge=none --ip-forward=false --storage-driver overlay2; then
  D load -q -i "$WORK/seed.tar" >/dev/null
fi
rm -f "$WORK/seed.tar" "$WORK/busybox.tar"

now() { date +%s.%N; }
# One round for one engine: save to a file, remove the image, load it back. Prints "save_seconds load_seconds bytes".
round() {
  local engine=$1 file=$WORK/$1.tar t0 t1 t2
  rm -f "$file"
  sync
  t0=$(now); $engine save -o "$file" "$IMAGE"; t1=$(now)
  $engine rmi "$IMAGE" >/dev/null
  sync
  t2=$(now); $engine load -q -i "$file" >/dev/null; sync; t3=$(now)
  echo "$(echo "$t1 - $t0" | bc) $(echo "$t3 - $t2" | bc) $(stat -c %s "$file")"
}

: >"$WORK/rounds"
for r in $(seq "$ROUNDS"); do
  echo "== round $r"
  echo "berth $(round B)" >>"$WORK/rounds"
  [ -n "$DOCKERD_PID" ] && echo "docker $(round D)" >>"$WORK/rounds"
done

python3 - "$WORK/rounds" "$RESULTS/image-bench.json" <<'PY'
import json, os, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    engine, save, load, size = line.split()
    rows.setdefault(engine, []).append((float(save), float(load), int(size)))
out = {}
for engine, rs in rows.items():
    size_mb = rs[0][2] / 1e6
    e = {"archive_mb": round(size_mb, 1), "rounds": rs}
    for i, op in ((0, "save"), (1, "load")):
        e[op + "_s"] = statistics.median(r[i] for r in rs)
        e[op + "_best_s"] = min(r[i] for r in rs)
        e[op + "_mb_s"] = size_mb / e[op + "_s"]
        e[op + "_best_mb_s"] = size_mb / e[op + "_best_s"]
    out[engine] = e
json.dump(out, open(sys.argv[2], "w"), indent=2)
b = out["berth"]
print(f"\nimage of {b['archive_mb']:.0f} MB in 3 layers, {len(rows['berth'])} rounds (median / best)")
for op in ("save", "load"):
    line = f"{op}: berth {b[op + '_mb_s']:.0f} / {b[op + '_best_mb_s']:.0f} MB/s"
    if "docker" in out:
        d = out["docker"]
        line += (f", docker {d[op + '_mb_s']:.0f} / {d[op + '_best_mb_s']:.0f} MB/s"
                 f"  ratio {b[op + '_mb_s'] / d[op + '_mb_s']:.2f} / {b[op + '_best_mb_s'] / d[op + '_best_mb_s']:.2f} (target >= 1.5)")
    print(line)
print(f"load average at the end: {open('/proc/loadavg').read().split()[0]} on {os.cpu_count()} cores")
PY
