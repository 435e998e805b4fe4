#!/usr/bin/env bash
# Runs every test: unit, monitor, CLI and integration (a real berthd, real runc, the real docker CLI) and
# ends with one line: "N passed, N failed". Works on a fresh machine: it installs what the tests need.
set -uo pipefail

cd "$(dirname "$0")"
REPO=$PWD
if [ "$(id -u)" -ne 0 ]; then
  echo "test.sh must run as root (integration tests run containers)" >&2
  exit 1
fi

# What the tests need on the host; the tests start their own berthd on temporary roots.
# docker-compose: Debian's compose 1.29, one of the real clients the compatibility tests drive.
# skopeo, podman, umoci: the image interoperability tests (ImageInteropTests) load, run and unpack Berth's archives with them.
# apache2-utils: htpasswd -B, which makes the bcrypt file the registry auth tests serve with.
# docker-registry: Debian's distribution 2.8, the peer registry the push and pull tests interoperate with.
PACKAGES=(runc iptables busybox-static clang libc6-dev zlib1g-dev skopeo podman umoci debootstrap docker-compose apache2-utils docker-registry)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ! command -v docker >/dev/null; then
  missing+=(docker.io)   # a docker CLI to prove compatibility (the machine image normally has Docker CLI 28)
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing test prerequisites: ${missing[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# The integration tests use the native monitor and CLI, as installed ones would be.
BIN=$REPO/artifacts/test-bin
rm -rf "$BIN"
mkdir -p "$BIN"
dotnet publish src/Berth.Daemon -c Release -o "$BIN" --nologo -v quiet || { echo "0 passed, 1 failed"; exit 1; }
dotnet publish src/Berth.Monitor -c Release -o "$BIN" --nologo -v quiet || { echo "0 passed, 1 failed"; exit 1; }
dotnet publish src/Berth.Cli -c Release -o "$BIN" --nologo -v quiet || { echo "0 passed, 1 failed"; exit 1; }
# berth-registry beside the others (the registry tests host it in-process; this is the binary install.sh ships).
dotnet publish src/Berth.Registry -c Release -o "$BIN/registry" --nologo -v quiet || { echo "0 passed, 1 failed"; exit 1; }
export BERTH_BIN_DIR="$BIN"
export BERTH_MONITOR="$BIN/berth-monitor"
export BERTH_CLI="$BIN/berth"

RESULTS=$REPO/artifacts/test-results
rm -rf "$RESULTS"
dotnet build Berth.slnx -c Release --nologo -v quiet || { echo "0 passed, 1 failed"; exit 1; }
dotnet test Berth.slnx -c Release --no-build --nologo \
  --logger "trx" --results-directory "$RESULTS" \
  -- RunConfiguration.TestSessionTimeout=1500000 2>&1 | tee "$RESULTS.log"
status=${PIPESTATUS[0]}

# Totals from the trx files (one per test project), alone on the last line.
python3 - "$RESULTS" <<'PY'
import glob, sys, xml.etree.ElementTree as ET
passed = failed = skipped = 0
ns = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}
files = glob.glob(sys.argv[1] + "/*.trx")
for f in files:
    c = ET.parse(f).getroot().find("t:ResultSummary/t:Counters", ns)
    passed += int(c.get("passed", 0))
    failed += int(c.get("failed", 0)) + int(c.get("error", 0)) + int(c.get("timeout", 0)) + int(c.get("aborted", 0))
    skipped += int(c.get("notExecuted", 0))
if not files:
    failed += 1
print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
PY
exit $status
