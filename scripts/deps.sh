#!/usr/bin/env bash
# Installs the Debian packages that building, testing, the demo and the
# benchmark need (prometheus for promtool, which lints /metrics; haproxy as
# the load balancer in front of sesame in tests and a peer in the benchmark;
# logrotate to check the shipped logrotate.d entry).
# Idempotent: a no-op (no apt-get update) when all are present.
set -euo pipefail

packages=(
  g++ make pkg-config
  libevent-dev libssl-dev libhiredis-dev libtomlplusplus-dev catch2 libcrypt-dev
  clang libclang-rt-14-dev
  python3 openssl curl
  nginx wrk redis-server goaccess haproxy logrotate
  mandoc
  systemd
  prometheus
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts the packaged servers on install; tests start their own on
# loopback ports and must not collide with or depend on these.
for svc in nginx redis-server prometheus haproxy; do
  if command -v systemctl >/dev/null 2>&1; then $SUDO systemctl disable --now "$svc" >/dev/null 2>&1 || true; fi
  if command -v service >/dev/null 2>&1; then $SUDO service "$svc" stop >/dev/null 2>&1 || true; fi
done
