#!/usr/bin/env bash
# make demo: sesame on https://127.0.0.1:8443 in front of scripts/demo_app.py.
#
# Usage: scripts/demo.sh BINARY
# Writes build/demo/ (a self-signed ECDSA certificate for localhost and
# 127.0.0.1, kept between runs, and sesame.toml), starts the demo app on
# 127.0.0.1:9000 and runs sesame in the foreground. Ctrl-C stops both.
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 BINARY" >&2
  exit 2
fi
sesame=$(realpath "$1")
root=$(cd "$(dirname "$0")/.." && pwd)
dir=$root/build/demo

die() {
  echo "demo: $*" >&2
  exit 1
}

[ -x "$sesame" ] || die "$sesame is not an executable (run make first)"
for port in 9000 8443 8080; do
  python3 -c 'import socket, sys; socket.create_server(("127.0.0.1", int(sys.argv[1])))' "$port" \
    2>/dev/null || die "127.0.0.1:$port is in use; the demo needs ports 9000, 8080 and 8443"
done

mkdir -p "$dir"
if [ ! -s "$dir/localhost.pem" ] || [ ! -s "$dir/localhost.key" ]; then
  if [ -f "$root/scripts/gen-cert.sh" ]; then
    bash "$root/scripts/gen-cert.sh" "$dir" localhost ec localhost >/dev/null
  else
    (umask 077 && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
      -days 365 -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
      -keyout "$dir/localhost.key" -out "$dir/localhost.pem" 2>/dev/null)
  fi
fi

cat >"$dir/sesame.toml" <<'EOF'
# Written by scripts/demo.sh: sesame in front of scripts/demo_app.py.
# Relative paths are relative to this file's directory.
[server]
workers = 1

[[listen]]
address = "127.0.0.1:8443"
tls = true

[[listen]]
address = "127.0.0.1:8080"
redirect_https = true

[tls]
# Browsers ignore HSTS for IP addresses (RFC 6797 section 8.1.1); for
# "localhost" a short max-age keeps it off your other local dev servers.
hsts = "5m"

[[tls.certificate]]
cert = "localhost.pem"
key = "localhost.key"

[upstream.app]
servers = ["127.0.0.1:9000"]

[[route]]
path = "/"
upstream = "app"
EOF

app_pid=""
sesame_pid=""
cleanup() {
  [ -z "$sesame_pid" ] || kill "$sesame_pid" 2>/dev/null || true
  [ -z "$app_pid" ] || kill "$app_pid" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'echo; exit 0' INT TERM

"$sesame" -t -c "$dir/sesame.toml" >/dev/null || die "sesame rejected $dir/sesame.toml"

python3 "$root/scripts/demo_app.py" --port 9000 &
app_pid=$!
for _ in $(seq 50); do
  curl -sf -o /dev/null http://127.0.0.1:9000/ && break
  sleep 0.1
done

"$sesame" -c "$dir/sesame.toml" &
sesame_pid=$!
for _ in $(seq 50); do
  curl -ksf -o /dev/null https://127.0.0.1:8443/ && break
  kill -0 "$sesame_pid" 2>/dev/null || die "sesame exited; see the messages above"
  sleep 0.1
done

cat <<EOF

  sesame is running in front of the demo app (config: build/demo/sesame.toml).

  Browser:  https://127.0.0.1:8443/
            The certificate is self-signed (build/demo/localhost.pem), so the
            browser warns first; accept it for this site to continue.
  curl:     curl -k https://127.0.0.1:8443/api
            curl -i http://127.0.0.1:8080/     (plain HTTP: answered with 308 to https)

  The page lists the headers the app received, X-Forwarded-* set by sesame.
  Ctrl-C stops sesame and the app.

EOF

wait "$sesame_pid"
