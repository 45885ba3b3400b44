#!/usr/bin/env bash
# make demo: sesame on https://127.0.0.1:8443 in front of scripts/demo_app.py,
# with sessions and sesame's own sign-in page.
# make demo OIDC=1: the same, plus sign-in with a local OpenID provider.
#
# Usage: scripts/demo.sh BINARY [--oidc]
# Writes build/demo/ (a self-signed ECDSA certificate for localhost and
# 127.0.0.1 and the session secret, both kept between runs; the users file
# with the two demo users, and sesame.toml), starts the demo app on
# 127.0.0.1:9000 and runs sesame in the foreground, sessions in its memory
# store. Ctrl-C stops them all.
#
# --oidc also starts the test OpenID provider tests/oidc/provider.mjs
# (oidc-provider; `make deps` installs it) on https://127.0.0.1:9443 with
# the same certificate, and gives sesame an [oidc] section next to [login]
# and a signed identity assertion (X-Sesame-Assertion) for the app. Kept in
# build/demo/ between runs, readable by their owner only: the client secret
# (oidc-secret), the provider's signing key (oidc-signing-key.json) and the
# assertion key (assertion.key).
set -euo pipefail

usage() {
  echo "usage: $0 BINARY [--oidc]" >&2
  exit 2
}
oidc=0
case $# in
  1) ;;
  2) [ "$2" = --oidc ] || usage; oidc=1 ;;
  *) usage ;;
esac
sesame=$(realpath "$1")
root=$(cd "$(dirname "$0")/.." && pwd)
dir=$root/build/demo

die() {
  echo "demo: $*" >&2
  exit 1
}

[ -x "$sesame" ] || die "$sesame is not an executable (run make first)"
ports=(9000 8443 8080 9901)
if [ $oidc = 1 ]; then
  ports+=(9443)
  command -v node >/dev/null 2>&1 || die "no node on PATH: run make deps"
  [ -d "$root/tests/oidc/node_modules/oidc-provider" ] ||
    die "no tests/oidc/node_modules/oidc-provider: run make deps"
fi
busy=$(python3 -c '
import socket, sys
for port in sys.argv[1:]:
    try:
        socket.create_server(("127.0.0.1", int(port))).close()
    except OSError:
        print(port, end=" ")
' "${ports[@]}")
[ -z "$busy" ] || die "in use on 127.0.0.1: ${busy% }; the demo needs ports ${ports[*]}"

mkdir -p "$dir"
# The provider's back-channel logout POSTs verify this certificate by IP
# (127.0.0.1), and sesame verifies the provider's with it: one made before
# it covered 127.0.0.1, or about to expire, is made afresh.
cert_usable() {
  [ -s "$dir/localhost.pem" ] && [ -s "$dir/localhost.key" ] &&
    openssl x509 -in "$dir/localhost.pem" -noout -checkend 86400 >/dev/null 2>&1 &&
    [[ $(openssl x509 -in "$dir/localhost.pem" -noout -checkip 127.0.0.1 2>/dev/null) == *'does match'* ]]
}
if ! cert_usable; then
  if [ -f "$root/scripts/gen-cert.sh" ]; then
    bash "$root/scripts/gen-cert.sh" "$dir" localhost ec localhost >/dev/null
  else
    (umask 077 && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
      -days 365 -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
      -keyout "$dir/localhost.key" -out "$dir/localhost.pem" 2>/dev/null)
  fi
fi

# The key that signs session cookies: generated once and kept, so cookies
# stay verifiable across restarts; readable by its owner only, since whoever
# holds it can forge cookies.
if [ ! -s "$dir/secrets" ]; then
  (umask 077 && openssl rand -base64 48 >"$dir/secrets.new" && mv "$dir/secrets.new" "$dir/secrets") ||
    die "could not write $dir/secrets"
fi

# The demo users, "NAME PASSWORD GROUPS", printed at the end. Their hashes
# are made afresh at each start: `sesame hash-password` (yescrypt), or
# sha512crypt from openssl for a binary without that command.
demo_users=(
  "alice wonderland users"
  "bob builder users,admins"
)
hash_password() {
  local hash
  hash=$(printf '%s\n' "$1" | "$sesame" hash-password 2>/dev/null) && [[ $hash == '$y$'* ]] ||
    hash=$(printf '%s\n' "$1" | openssl passwd -6 -stdin) || die "could not hash a password"
  printf '%s' "$hash"
}
(
  umask 077
  echo "# Written by scripts/demo.sh: user:hash:groups (sesame hash-password makes a hash)."
  for entry in "${demo_users[@]}"; do
    read -r name password groups <<<"$entry"
    hash=$(hash_password "$password") || exit 1
    echo "$name:$hash:$groups"
  done
) >"$dir/users.new" && mv "$dir/users.new" "$dir/users" || die "could not write $dir/users"

# The OpenID provider's side: its accounts ("NAME PASSWORD GROUPS", printed
# at the end), the client secret it shares with sesame, its signing key and
# the key sesame signs assertions with, all but the accounts made once.
provider_users=(
  "alice looking-glass users"
  "bob can-we-fix-it users,admins"
)
if [ $oidc = 1 ]; then
  if [ ! -s "$dir/oidc-secret" ]; then
    (umask 077 && openssl rand -hex 32 >"$dir/oidc-secret.new" && mv "$dir/oidc-secret.new" "$dir/oidc-secret") ||
      die "could not write $dir/oidc-secret"
  fi
  if [ ! -s "$dir/oidc-signing-key.json" ]; then
    (umask 077 && node "$root/tests/oidc/provider.mjs" --keygen rsa demo-rsa >"$dir/oidc-signing-key.json.new" &&
      mv "$dir/oidc-signing-key.json.new" "$dir/oidc-signing-key.json") ||
      die "could not write $dir/oidc-signing-key.json"
  fi
  if [ ! -s "$dir/assertion.key" ]; then
    (umask 077 && openssl genpkey -algorithm ed25519 -out "$dir/assertion.key.new" 2>/dev/null &&
      mv "$dir/assertion.key.new" "$dir/assertion.key") ||
      die "could not write $dir/assertion.key"
  fi
  # The provider's configuration holds the client secret: private too.
  (umask 077 && python3 - "$dir" "${provider_users[@]}" >"$dir/oidc-provider.json.new" <<'PROVIDER'
import json, os, secrets, sys
d, users = sys.argv[1], sys.argv[2:]
sites = ["https://127.0.0.1:8443", "https://localhost:8443"]
accounts = {}
for entry in users:
    name, password, groups = entry.split()
    accounts[name] = {"password": password, "claims": {
        "preferred_username": name, "name": name.capitalize(),
        "email": name + "@example.test", "email_verified": True,
        "groups": groups.split(",")}}
json.dump({
    "issuer": "https://127.0.0.1:9443",
    "port": 9443,
    "cert": os.path.join(d, "localhost.pem"),
    "key": os.path.join(d, "localhost.key"),
    "keys": [json.load(open(os.path.join(d, "oidc-signing-key.json")))],
    "cookie_keys": [secrets.token_hex(32)],
    "access_ttl": 120,
    "clients": [{
        "client_id": "sesame-demo",
        "client_secret": open(os.path.join(d, "oidc-secret")).read().strip(),
        "redirect_uris": [s + "/.sesame/oidc/callback" for s in sites],
        "post_logout_redirect_uris": [s + "/" for s in sites],
        "backchannel_logout_uri": sites[0] + "/.sesame/oidc/backchannel-logout",
    }],
    "accounts": accounts,
}, sys.stdout, indent=1)
PROVIDER
  ) && mv "$dir/oidc-provider.json.new" "$dir/oidc-provider.json" || die "could not write $dir/oidc-provider.json"
fi

cat >"$dir/sesame.toml" <<'CONFIG'
# Written by scripts/demo.sh: sesame in front of scripts/demo_app.py.
# Relative paths are relative to this file's directory.
# Every key is described in man/sesame.toml.5 (man -l man/sesame.toml.5).
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

# Metrics (Prometheus), liveness and readiness, on loopback only.
[admin]
address = "127.0.0.1:9901"

# Sessions, kept by sesame for an app that has none. The browser holds only
# a random session ID, signed, in the cookie "__Host-sesame" (the default
# cookie_name). The __Host- prefix makes browsers refuse that cookie unless
# it was set over TLS, for this exact host and path "/", so no other site or
# subdomain can plant one: fine here, since the demo is served over TLS.
[session]
# "memory": sessions live in the sesame process, shared by its workers, and
# are lost when it stops.
store = "memory"
# One secret per line (openssl rand -base64 48), generated by demo.sh; the
# first signs new cookies, all verify, so a new first line rotates the key
# without logging anyone out. Keep this file private.
secrets_file = "secrets"
# A session unused for 30 minutes, or 12 hours after login, is over.
idle_timeout = "30m"
absolute_timeout = "12h"
# Where "required" routes send a browser without a logged-in session, with
# ?return_to=<the page it asked for>: with [login] below, sesame's own
# sign-in page /.sesame/login (the default login_url then).

# sesame signs users in itself: GET /.sesame/login is the form, POST checks
# the password against the users file (lines user:hash:groups, written by
# demo.sh), rotates the session ID and sends the browser back to return_to.
# /.sesame/logout signs out (a confirmation form, then POST).
[login]
users_file = "users"
title = "Sign in to the sesame demo"

# How the app learns who is logged in. On every request sesame first removes
# these headers (and any X-Sesame-*) as sent by the client, so nobody can
# claim to be someone, then adds the real ones for a logged-in session.
# These are the defaults.
[identity]
user_header = "X-Remote-User"
groups_header = "X-Remote-Groups"
# Session data field "cart" reaches the app as X-Session-Cart.
data_prefix = "X-Session-"
CONFIG

if [ $oidc = 1 ]; then
  cat >>"$dir/sesame.toml" <<'CONFIG'
# A JWT signed by sesame (Ed25519, assertion.key, made once by demo.sh) with
# the user, groups and sign-in method, for an app that would rather verify
# who the user is than trust a bare header; /.sesame/jwks.json publishes
# the public key.
assertion_header = "X-Sesame-Assertion"
assertion_key = "assertion.key"
CONFIG
fi

cat >>"$dir/sesame.toml" <<'CONFIG'

# Routes: the longest matching path prefix wins. All of them keep the
# default csrf = true: a POST (or other unsafe method) sent by another
# site's page is refused with 403, since the app has no CSRF defence itself.

# Everything not listed below. "session": the session of a valid cookie is
# loaded (anonymous or logged in); a visitor without one is given a new
# anonymous session, stored only once something is written to it.
# accept_control = true lets the app's answers set session data here
# (X-Sesame-Set: cart=tea, the demo's cart) or end every session of the user
# (X-Sesame-Logout: all). Only routes served by code trusted with that
# should have accept_control.
[[route]]
path = "/"
upstream = "app"
auth = "session"
accept_control = true

# Logged-in users only: a browser without a login is redirected to
# login_url, other clients (curl, scripts) get 401.
[[route]]
path = "/private"
upstream = "app"
auth = "required"

# Logged-in users in the group "admins" only; other users get 403.
[[route]]
path = "/admin"
upstream = "app"
auth = "required"
groups = ["admins"]
CONFIG

if [ $oidc = 1 ]; then
  cat >>"$dir/sesame.toml" <<'CONFIG'

# Sign-in with an OpenID provider, next to the password form: the sign-in
# page shows both, with a "Sign in with the demo provider" link. The
# provider is tests/oidc/provider.mjs, started by demo.sh on 127.0.0.1:9443
# with this demo's own certificate, which is why ca_file names it.
[oidc]
issuer = "https://127.0.0.1:9443"
client_id = "sesame-demo"
# One line, generated once by demo.sh; the provider has the same secret.
client_secret_file = "oidc-secret"
ca_file = "localhost.pem"
# The provider sends groups only for the "groups" scope.
scopes = ["openid", "profile", "email", "groups"]
user_claim = "preferred_username"
groups_claim = "groups"
# Access tokens live 2 minutes at the demo provider: sesame refreshes them
# after 3/4 of that while the session is used, and ends the session when
# the provider refuses (the user signed out there).
refresh = true
display_name = "the demo provider"
CONFIG
fi

app_pid=""
provider_pid=""
sesame_pid=""
cleanup() {
  [ -z "$sesame_pid" ] || kill "$sesame_pid" 2>/dev/null || true
  [ -z "$provider_pid" ] || kill "$provider_pid" 2>/dev/null || true
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

# sesame reads the provider's discovery document when it starts: the
# provider must be up first. Its log goes to a file (it is chatty); stdout
# carries only "ready".
if [ $oidc = 1 ]; then
  NODE_EXTRA_CA_CERTS="$dir/localhost.pem" node "$root/tests/oidc/provider.mjs" "$dir/oidc-provider.json" \
    >"$dir/oidc-provider.out" 2>"$dir/oidc-provider.log" </dev/null &
  provider_pid=$!
  for _ in $(seq 150); do
    grep -qx ready "$dir/oidc-provider.out" 2>/dev/null && break
    kill -0 "$provider_pid" 2>/dev/null || break
    sleep 0.1
  done
  if ! grep -qx ready "$dir/oidc-provider.out" 2>/dev/null; then
    tail -n 20 "$dir/oidc-provider.log" >&2 || true
    die "the OpenID provider (tests/oidc/provider.mjs) did not start; its log: build/demo/oidc-provider.log"
  fi
fi

"$sesame" -c "$dir/sesame.toml" &
sesame_pid=$!
for _ in $(seq 50); do
  curl -ksf -o /dev/null https://127.0.0.1:8443/ && break
  kill -0 "$sesame_pid" 2>/dev/null || die "sesame exited; see the messages above"
  sleep 0.1
done

cat <<'EOF'

  sesame is running in front of the demo app, with sessions in its memory
  store and its own sign-in page (config: build/demo/sesame.toml).

  Users (build/demo/users):
EOF
for entry in "${demo_users[@]}"; do
  read -r name password groups <<<"$entry"
  printf '    %-6s password %-11s groups %s\n' "$name" "$password" "$groups"
done
cat <<'EOF'

  Browser:  https://127.0.0.1:8443/
            The certificate is self-signed (build/demo/localhost.pem), so the
            browser warns first; accept it for this site to continue.
            Visit /private: sesame sends you to its sign-in page
            /.sesame/login first. Sign in as alice; /admin needs bob (group
            admins). Fill the cart, sign out at /.sesame/logout.

  curl (-k: the certificate is self-signed):
    curl -ki https://127.0.0.1:8443/
        anonymous; sesame sets the session cookie (Set-Cookie: __Host-sesame=...)
    curl -ki https://127.0.0.1:8443/private
        401 without a logged-in session (browsers are redirected to the
        sign-in page)
    csrf=$(curl -ks -c jar -b jar https://127.0.0.1:8443/.sesame/login |
           grep -o 'name="csrf" value="[^"]*"' | cut -d'"' -f4)
        the sign-in form's CSRF token, bound to the anonymous session in jar
    curl -ki -c jar -b jar -d username=alice -d password=wonderland \
         -d "csrf=$csrf" https://127.0.0.1:8443/.sesame/login
        303 to /: sesame checked the password and logged the session in
        under a new session ID (a wrong password: 401 and the form again)
    curl -k -b jar https://127.0.0.1:8443/private
        user: alice, as the app read it from X-Remote-User
    curl -k -b jar https://127.0.0.1:8443/.sesame/session
        {"authenticated": true, "user": "alice", ...}: what front-end code sees
    curl -k -H 'X-Remote-User: admin' https://127.0.0.1:8443/
        still anonymous: sesame strips identity headers a client sends
    curl -ki -b jar https://127.0.0.1:8443/admin
        403: alice is not in "admins" (bob is)
    curl -k -c jar -b jar -X POST 'https://127.0.0.1:8443/cart/add?item=tea'
        the app answers X-Sesame-Set: cart=tea; the next request carries
        X-Session-Cart: tea
    curl -ki -b jar -X POST -H 'Origin: https://evil.example' \
         'https://127.0.0.1:8443/cart/add?item=scone'
        403: a cross-site POST (CSRF) never reaches the app
    csrf=$(curl -ks -b jar https://127.0.0.1:8443/.sesame/logout |
           grep -o 'name="csrf" value="[^"]*"' | cut -d'"' -f4)
    curl -ki -c jar -b jar -d "csrf=$csrf" https://127.0.0.1:8443/.sesame/logout
        303 to the sign-in page; the session is gone and the cookie cleared
    curl -i http://127.0.0.1:8080/
        plain HTTP: answered with 308 to https
    curl -s http://127.0.0.1:9901/metrics | grep sesame_requests_total
        the admin listener: Prometheus metrics, /healthz and /readyz

  Every page lists the headers the app received: the identity and
  X-Forwarded-* headers sesame sets, and never the session cookie.
  Ctrl-C stops sesame and the app.

EOF
if [ $oidc = 1 ]; then
  cat <<'EOF'
  OpenID Connect: the sign-in page also offers "Sign in with the demo
  provider", the test OpenID provider tests/oidc/provider.mjs (oidc-provider)
  on https://127.0.0.1:9443, client "sesame-demo" (its configuration:
  build/demo/oidc-provider.json, its log: build/demo/oidc-provider.log).

  Accounts at the provider (its own sign-in form, not sesame's users file):
EOF
  for entry in "${provider_users[@]}"; do
    read -r name password groups <<<"$entry"
    printf '    %-6s password %-14s groups %s\n' "$name" "$password" "$groups"
  done
  cat <<'EOF'

  Browser:  the provider serves the same self-signed certificate, which the
            browser asks about again for that site: open
            https://127.0.0.1:9443/.well-known/openid-configuration once and
            accept it there (or when the sign-in link first leads there).
            Visit https://127.0.0.1:8443/private, choose "Sign in with the
            demo provider" and sign in at the provider as alice: back at
            /private, the app shows X-Remote-User: alice and
            X-Sesame-Assertion, a JWT signed by sesame (Ed25519,
            build/demo/assertion.key; the public key is at
            https://127.0.0.1:8443/.sesame/jwks.json). The groups come
            from the provider's "groups" claim: /admin needs bob.
            Sign out at /.sesame/logout: sesame ends its session and sends
            the browser on to the provider's sign-out page; "Yes, sign me
            out" ends the provider's session too (it tells sesame over the
            back channel, /.sesame/oidc/backchannel-logout) and returns to
            https://127.0.0.1:8443/.

  Ctrl-C also stops the provider.

EOF
fi
echo "  kill -HUP $sesame_pid reloads build/demo/sesame.toml without dropping a request."
echo

wait "$sesame_pid"
