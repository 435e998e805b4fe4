#!/usr/bin/env bash
# Berth's one-command setup on a Debian machine: OS packages, build, install, start berthd, bootstrap
# busybox, run a container. Idempotent: run it again to rebuild and restart.
#   ./install.sh            everything, ending with `berth run --rm busybox echo hello from berth`
#   ./install.sh --no-run   everything but the final container
set -euo pipefail

cd "$(dirname "$0")"
REPO=$PWD
PREFIX=${BERTH_PREFIX:-/usr/local}
LIBDIR=$PREFIX/lib/berth
SOCKET=/run/berth/berth.sock
LOG=/var/log/berthd.log
RUN_DEMO=1
[ "${1:-}" = "--no-run" ] && RUN_DEMO=0

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

if [ "$(id -u)" -ne 0 ]; then
  echo "install.sh must run as root (it installs packages and starts berthd)" >&2
  exit 1
fi

# 1. OS packages: the OCI runtime, busybox for the offline base image, iptables for networking,
#    clang and zlib for the NativeAOT builds of `berth` and `berth-monitor`; libc6-dev for the static berth-init.
PACKAGES=(runc iptables busybox-static clang libc6-dev zlib1g-dev ca-certificates debootstrap)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "Installing OS packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if ! command -v dotnet >/dev/null; then
  echo "The .NET 10 SDK is required (dotnet on PATH); install it, then run ./install.sh again." >&2
  exit 1
fi

# 2. Build: berthd, berth and berth-monitor, all NativeAOT (berthd ships with its libe_sqlite3.so beside it).
say "Building Berth"
OUT=$REPO/artifacts/publish
rm -rf "$OUT"
dotnet publish src/Berth.Daemon -c Release -o "$OUT/berthd" --nologo -v quiet
dotnet publish src/Berth.Monitor -c Release -o "$OUT/monitor" --nologo -v quiet
dotnet publish src/Berth.Cli -c Release -o "$OUT/cli" --nologo -v quiet
dotnet publish src/Berth.Registry -c Release -o "$OUT/registry" --nologo -v quiet

# 3. Install (stop a running berthd first: its binaries are about to be replaced; containers keep running).
stop_daemon() {
  if [ -f /run/berth/berthd.pid ] && kill -0 "$(cat /run/berth/berthd.pid)" 2>/dev/null; then
    say "Stopping the running berthd"
    if [ -d /run/systemd/system ] && systemctl is-active --quiet berthd 2>/dev/null; then
      systemctl stop berthd
    else
      kill -TERM "$(cat /run/berth/berthd.pid)"
      for _ in $(seq 100); do [ -f /run/berth/berthd.pid ] || break; sleep 0.1; done
    fi
  fi
}
stop_daemon
say "Installing into $PREFIX"
rm -rf "$LIBDIR.new"
mkdir -p "$LIBDIR.new"
cp -a "$OUT/berthd/." "$LIBDIR.new/"
mkdir -p "$LIBDIR.new/registry"
cp -a "$OUT/registry/." "$LIBDIR.new/registry/"
install -m 0755 "$OUT/monitor/berth-monitor" "$LIBDIR.new/berth-monitor"
# The static helpers the monitor and berthd look for beside berth-monitor.
install -m 0755 "$OUT/monitor/berth-init" "$LIBDIR.new/berth-init"
install -m 0755 "$OUT/monitor/berth-exec" "$LIBDIR.new/berth-exec"
install -m 0755 "$OUT/cli/berth" "$LIBDIR.new/berth"
rm -rf "$LIBDIR"
mv "$LIBDIR.new" "$LIBDIR"
ln -sf "$LIBDIR/berthd" "$PREFIX/bin/berthd"
ln -sf "$LIBDIR/registry/berth-registry" "$PREFIX/bin/berth-registry"
ln -sf "$LIBDIR/berth" "$PREFIX/bin/berth"
ln -sf "$LIBDIR/berth-monitor" "$PREFIX/bin/berth-monitor"

# 4. Start berthd: a systemd unit when systemd runs, else a background process.
say "Starting berthd"
if [ -d /run/systemd/system ]; then
  cat > /etc/systemd/system/berthd.service <<UNIT
[Unit]
Description=Berth container engine
After=network-online.target

[Service]
ExecStart=$PREFIX/bin/berthd
KillMode=process
Delegate=yes
LimitNOFILE=infinity
Restart=on-failure

[Install]
WantedBy=multi-user.target
UNIT
  systemctl daemon-reload
  systemctl enable --now berthd >/dev/null
  systemctl restart berthd
else
  mkdir -p "$(dirname "$LOG")"
  setsid "$PREFIX/bin/berthd" >>"$LOG" 2>&1 < /dev/null &
fi
for _ in $(seq 200); do
  [ -S "$SOCKET" ] && berth version >/dev/null 2>&1 && break
  sleep 0.05
done
berth version >/dev/null || { echo "berthd did not start; see $LOG" >&2; exit 1; }

# 5. The offline base image, once.
if ! berth image inspect busybox >/dev/null 2>&1; then
  say "Bootstrapping busybox:latest from the host's busybox-static"
  berth image bootstrap busybox
fi

say "Berth is running on unix://$SOCKET (docker CLI: export DOCKER_HOST=unix://$SOCKET)"
if [ "$RUN_DEMO" = 1 ]; then
  berth run --rm busybox echo hello from berth
fi
