#!/usr/bin/env bash
# Installs the Debian packages that building, testing, the demo and the
# benchmark need (prometheus for promtool, which lints /metrics; haproxy as
# the load balancer in front of sesame in tests and a peer in the benchmark;
# logrotate to check the shipped logrotate.d entry; chromium and Node.js for
# the browser tests in tests/browser/ and the OpenID test providers in
# tests/oidc/, whose npm packages come from their package-lock.json).
# Idempotent: a no-op (no apt-get update, no npm) when all are present and
# each node_modules matches its lock file.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

packages=(
  g++ make pkg-config
  libevent-dev libssl-dev libhiredis-dev libtomlplusplus-dev catch2 libcrypt-dev libjansson-dev
  clang libclang-rt-14-dev
  python3 openssl curl
  nginx wrk redis-server goaccess haproxy logrotate
  mandoc
  systemd
  prometheus
  chromium fonts-dejavu-core
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# Node.js and npm by command, not by package: a machine may have them from
# another Debian package (NodeSource's nodejs carries npm, and Debian's npm
# conflicts with it).
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian starts the packaged servers on install; tests start their own on
  # loopback ports and must not collide with or depend on these.
  for svc in nginx redis-server prometheus haproxy; do
    if command -v systemctl >/dev/null 2>&1; then $SUDO systemctl disable --now "$svc" >/dev/null 2>&1 || true; fi
    if command -v service >/dev/null 2>&1; then $SUDO service "$svc" stop >/dev/null 2>&1 || true; fi
  done
fi

# npm packages exactly as locked: playwright-core for tests/browser/ (it
# drives Debian's /usr/bin/chromium and downloads no browser of its own),
# oidc-provider for tests/oidc/ (the real OpenID provider of the OIDC tests).
# npm ci starts from an empty node_modules, so it runs only when the lock
# file changed since the last install (the stamp holds the lock file's hash).
for dir in tests/browser tests/oidc; do
  stamp=$root/$dir/node_modules/.lock-sha256
  want=$(sha256sum "$root/$dir/package-lock.json" | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "deps: npm ci in $dir" >&2
    npm ci --prefix "$root/$dir" --no-audit --no-fund --loglevel=error >/dev/null
    echo "$want" >"$stamp"
  fi
done
