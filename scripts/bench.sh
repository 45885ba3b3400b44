#!/usr/bin/env bash
# make bench: sesame against nginx and HAProxy as reverse proxies, with wrk,
# on loopback.
#
# Usage: scripts/bench.sh BINARY
#   ROUNDS=3      rounds; every row runs once per round, interleaved
#   DURATION=10s  wrk duration per run
#   ROWS="..."    subset of: direct nginx haproxy sesame sesame-mem
#                 sesame-login sesame-redis sesame-assert sesame-assert-ed
#                 sesame-oidc nginx-tls haproxy-tls sesame-tls
#                 sesame-redis-tls nginx-hs haproxy-hs sesame-hs (default:
#                 all of these), and
#                 sesame-spin (a control for sesame-login, only when named);
#                 "none" for no wrk rows
#   WORKERS=1     worker processes of nginx and HAProxy threads, and
#                 sesame's [server] workers, alike in every proxy (all still
#                 on cpu0 unless SERVER_CPUS says otherwise)
#   SERVER_CPUS=0 the CPUs (taskset -c list) of the servers; wrk stays on
#                 cpu1, so "0,1" shares cpu1 between wrk and the servers
#   REDIS_CACHE=  [redis] cache for the Redis rows ("1s": a worker answers
#                 again for a second with a session it read); none by default
#   KEEPALIVE=64  idle upstream connections each proxy keeps (default: wrk's
#                 connections); less shows what a short pool costs (the
#                 upstream conns column and a warning)
#   IDLE_CONNS=10000  idle keep-alive TLS connections held against a fresh
#                 nginx, then a fresh sesame, to compare the memory they
#                 cost (scripts/bench/idle_conns.py); 0 skips it
#   IDLE_PLAIN=1  also the same over plain HTTP, which tells the servers' own
#                 per-connection state from their TLS state
#   LOGIN_INFLIGHT=4  sign-ins kept in flight during the sesame-login row
#   LOGIN_NICE=N  an experiment: renice sesame's hashing thread to N (what a
#                 pool running at a lower priority would cost other requests)
#   CALLGRIND=0   1: after the rows, the instructions sesame executes per
#                 request on sesame-mem and the rows compared with it,
#                 counted by valgrind's callgrind, which other load on the
#                 machine does not change (see the header's paragraph)
#   LOGIN_COST=1  the sign-in cost table (scripts/bench/login_cost.py); 0
#                 skips it; LOGIN_COST_ROUNDS=20 sign-ins per row in it
#
# Every server (upstream and proxies) runs on cpu0 and wrk on cpu1, so each
# row is limited by one core; the busy time of cpu0 per request, minus the
# direct row's, is what the proxy itself costs. The same is shown from the
# server processes' own CPU time, which other load on the machine (builds,
# tests) does not inflate. Medians are printed with the range (min..max) of
# req/s over the rounds, and sesame's req/s as a ratio of nginx's and
# HAProxy's, with the range of the per-round ratios: a round runs every row
# once, one after the other, so noise from the rest of the machine hits the
# rows of one round alike.
# Every peer is configured as a careful operator would (scripts/bench/
# proxy.conf, haproxy.cfg, sesame.toml): WORKERS workers or threads each
# (one by default), HTTP/1.1 keep-alive to the upstream with as many idle
# connections kept as wrk opens (nginx's keepalive, HAProxy's pool-max-conn
# with http-reuse always, sesame's keepalive), no access log. To show
# that no peer reconnects per request, the upstream's count of accepted
# connections (nginx stub_status) is read before and after every run:
# the table prints the most upstream connections a row opened in one
# run, and the bench warns when that exceeds the client's connections.
# sesame-mem and sesame-redis: plain HTTP like the sesame row, but every
# request carries the cookie of a logged-in session on an auth = "required"
# route (scripts/bench/sesame-session.toml), kept in the memory store or
# in a redis-server started here on cpu0; both compare with the nginx row
# (issue 3 targets: req/s >= 1.0x nginx with memory, >= 0.9x with Redis, p99
# within 1 ms of nginx's). The cookie comes from one login before the runs;
# any non-2xx answer during a run stops the bench, as it would mean measuring
# 401s instead of sessions.  sesame-login (issue 11): the sesame-mem row's
# wrk load, on the same sesame, while scripts/bench/login_load.py (on cpu1,
# beside wrk) keeps LOGIN_INFLIGHT sign-ins in flight at sesame's own form
# as a user with a bcrypt cost 12 hash; sesame-mem is its baseline. That
# sesame has a [login] table with hash_threads = 1 (bench.sh appends it;
# it sits idle in the sesame-mem rows): one hashing thread, always busy
# while more sign-ins than threads are in flight, which is the most CPU
# that sign-ins can take from it. The hashing thread inherits sesame's
# affinity, so it runs on cpu0 beside the worker and the upstream. The
# load starts before wrk and its first sign-in has finished when wrk
# starts; when wrk ends it starts no more, finishes the ones in flight,
# and the sign-ins that finished during wrk's run are counted. The report
# compares wrk's req/s, p50 and p99 between the two rows round by round,
# and gives the CPU time of sesame's hashing thread and of its worker
# (/proc/PID/task/TID/schedstat; told apart by what they wait in while idle:
# a futex for the pool, epoll for the worker).  sesame-spin is a control
# for it: the same sesame and load, with instead of sign-ins one busy loop
# on cpu0 (a shell, never sleeping), i.e. one more thread always ready to
# run there, as the hashing thread is; when the two rows cost wrk alike,
# the pool costs other requests its CPU and nothing more.  sesame-assert
# and sesame-assert-ed (issue 12 section 2): the sesame-mem row's load on
# a sesame of the same configuration plus [identity] assertion_header =
# "X-Sesame-Assertion" and an assertion_key made here (openssl genpkey:
# EC P-256, so ES256, or Ed25519, so EdDSA): every request reaches the
# upstream with a signed JWT for the session's user. Before the runs,
# scripts/bench/assertion_check.py verifies what the upstream received with
# the key sesame publishes at /.sesame/jwks.json. sesame reuses a session's
# token for the same host until shortly before it expires (assertion_ttl,
# 60 s), so these rows measure the cached path: about one signature per 45
# s. Target: req/s >= 0.90x sesame-mem's.  sesame-oidc (issue 12 section 1):
# the same load with the cookie of a session made by a real OpenID sign-in:
# scripts/bench/oidc_signin.py starts the end-to-end tests' provider
# (tests/oidc/provider.mjs, on cpu1, idle during the runs) and signs in
# once through sesame's /.sesame/login and callback (on a TLS listener of
# that sesame with the test CA's certificate, as providers want an https
# redirect URI); wrk then uses the plain listener as for sesame-mem. The
# account's user is "bench" with no groups, so the upstream gets the headers
# sesame-mem's session gives it; the session also holds the provider's ID,
# access (JWT) and refresh tokens, which sesame loads from the store on every
# request. Both compare with sesame-mem, and every session row (sesame-mem
# and these) takes the others' places in turn from round to round; their
# configurations differ from sesame-mem's only by the tables named here.
# With CALLGRIND=1, after the rows, each of those sesames runs again under
# callgrind (same configuration and port, on cpu0) with a new session made
# as for its row; the instructions counted are those of sesame's first
# request with the cookie (on the sesame-assert rows the one that signs the
# assertion) and, after a 2 s warm-up, those of 5 s of wrk -c1, per request.
# The sign-in cost table runs after the rows with its own two sesames on
# cpu0 and the client on cpu1; its script's header says what it measures.
# The *-hs rows measure new TLS connections per second: scripts/bench/
# tls_connect.cc (built here) keeps 64 connections in flight, each a
# full TLS 1.3 handshake (ECDSA P-256) carrying one "Connection: close"
# request. Not wrk: it resumes the previous session on reconnect (nginx's
# $ssl_session_reused says "r"), and not `openssl s_time -new`: about 1 ms
# of its own CPU per connection, so it measures itself.  The idle section
# measures each server's resident memory (RSS and PSS) after a warm-up,
# then with IDLE_CONNS connections open and idle, each a full TLS 1.3
# handshake and one keep-alive GET: the growth per connection is what an
# idle client costs. Kernel socket buffers are not in either figure.
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 BINARY" >&2
  exit 2
fi
sesame=$(realpath -m "$1")
rounds=${ROUNDS:-3}
duration=${DURATION:-10s}
rows=${ROWS:-direct nginx haproxy sesame sesame-mem sesame-login sesame-redis sesame-assert sesame-assert-ed sesame-oidc nginx-tls haproxy-tls sesame-tls sesame-redis-tls nginx-hs haproxy-hs sesame-hs}
[ "$rows" != none ] || rows=""
idle_conns=${IDLE_CONNS:-10000}
idle_plain=${IDLE_PLAIN:-0}
login_inflight=${LOGIN_INFLIGHT:-4}
login_nice=${LOGIN_NICE:-}
login_cost=${LOGIN_COST:-1}
login_cost_rounds=${LOGIN_COST_ROUNDS:-20}
callgrind=${CALLGRIND:-0}
conns=64
workers=${WORKERS:-1}
redis_cache=${REDIS_CACHE:-}
server_cpus=${SERVER_CPUS:-0}
keepalive=${KEEPALIVE:-$conns}

root=$(cd "$(dirname "$0")/.." && pwd)
tpl=$root/scripts/bench
mkdir -p "$root/build/bench"
dir=$(mktemp -d "$root/build/bench/run.XXXXXX")
pids=()
# Load beside a run that is no server (the sign-in client, the busy loop):
# stopped at exit like the servers, but not counted in their CPU time.
helpers=()
ok=0

cleanup() {
  local p
  for p in "${helpers[@]}" "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${helpers[@]}" "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ "$ok" = 1 ]; then
    rm -rf "$dir"
  else
    echo "bench: did not finish; logs kept in $dir" >&2
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() {
  echo "bench: $*" >&2
  exit 1
}

want() { [[ " $rows " == *" $1 "* ]]; }
[[ $duration =~ ^[0-9]+s$ ]] || die "DURATION must be whole seconds, like 10s"
[[ $workers =~ ^[1-9][0-9]*$ ]] || die "WORKERS must be a number of workers, at least 1"
[[ $server_cpus =~ ^[0-9]+([,-][0-9]+)*$ ]] || die "SERVER_CPUS must be a CPU list for taskset -c, like 0 or 0,1"
[[ $keepalive =~ ^[0-9]+$ ]] || die "KEEPALIVE must be a number of connections"
[[ $idle_conns =~ ^[0-9]+$ ]] || die "IDLE_CONNS must be a number of connections"
[[ $login_inflight =~ ^[1-9][0-9]*$ ]] || die "LOGIN_INFLIGHT must be a number of sign-ins, at least 1"
[[ -z $login_nice || $login_nice =~ ^-?[0-9]+$ ]] || die "LOGIN_NICE must be a nice value, -20 to 19"
[[ $login_cost_rounds =~ ^[1-9][0-9]*$ ]] || die "LOGIN_COST_ROUNDS must be a number of rounds, at least 1"
for row in $rows; do
  case $row in
    direct | nginx | haproxy | sesame | sesame-mem | sesame-redis) ;;
    sesame-login | sesame-spin | sesame-assert | sesame-assert-ed | sesame-oidc) ;;
    nginx-tls | haproxy-tls | sesame-tls | sesame-redis-tls | nginx-hs | haproxy-hs | sesame-hs) ;;
    *) die "unknown row $row" ;;
  esac
done

for tool in nginx wrk taskset curl openssl python3 g++ pkg-config; do
  command -v "$tool" >/dev/null || die "$tool not found (run scripts/deps.sh)"
done
if want haproxy || want haproxy-tls || want haproxy-hs; then
  command -v haproxy >/dev/null || die "haproxy not found (run scripts/deps.sh)"
fi
# sesame-redis-tls runs on sesame-redis's sesame (its TLS listener).
if want sesame-redis-tls && ! want sesame-redis; then rows+=" sesame-redis"; fi
if want sesame-redis; then
  command -v redis-server >/dev/null || die "redis-server not found (run scripts/deps.sh)"
fi
if [ "$callgrind" = 1 ]; then
  for tool in valgrind callgrind_control; do
    command -v "$tool" >/dev/null || die "CALLGRIND=1 needs $tool (apt-get install valgrind)"
  done
fi
if want sesame-oidc; then
  command -v node >/dev/null || die "node not found (run scripts/deps.sh)"
  [ -d "$root/tests/oidc/node_modules/oidc-provider" ] ||
    die "no tests/oidc/node_modules/oidc-provider (run scripts/deps.sh)"
fi
[ "$(nproc)" -ge 2 ] || die "needs at least 2 CPUs (servers on cpu0, wrk on cpu1)"
# The session rows that run on the sesame-mem sesame.
mem_rows=""
for row in sesame-mem sesame-login sesame-spin; do
  if want "$row"; then mem_rows+="$row "; fi
done
# The other session rows (see the header), each on a sesame of its own.
other_session_rows=""
for row in sesame-assert sesame-assert-ed sesame-oidc; do
  if want "$row"; then other_session_rows+="$row "; fi
done
if want sesame || [ -n "$mem_rows$other_session_rows" ] || want sesame-redis || want sesame-tls || want sesame-hs ||
  [ "$idle_conns" -gt 0 ] || [ "$login_cost" != 0 ]; then
  [ -x "$sesame" ] || die "$sesame is not an executable"
fi
# Every server and client inherits this; the idle section needs one
# descriptor per connection in the server and in the client.
nofile=$((idle_conns + 4096))
if [ "$(ulimit -n)" -lt "$nofile" ]; then
  ulimit -n $((nofile > 65536 ? nofile : 65536)) 2>/dev/null || ulimit -n "$(ulimit -Hn)"
  [ "$(ulimit -n)" -ge "$nofile" ] || die "IDLE_CONNS=$idle_conns needs ulimit -n $nofile; the hard limit is $(ulimit -Hn)"
fi

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

upstream_port=$(free_port)
nginx_plain=$(free_port)
nginx_tls=$(free_port)
haproxy_plain=$(free_port)
haproxy_tls=$(free_port)
sesame_plain=$(free_port)
sesame_tls=$(free_port)
sesame_mem=$(free_port)
sesame_redis=$(free_port)
sesame_redis_tls=$(free_port)
sesame_assert=$(free_port)
sesame_assert_ed=$(free_port)
sesame_oidc=$(free_port)
sesame_oidc_tls=$(free_port)
redis_port=$(free_port)

# ECDSA P-256 certificate shared by both TLS proxies.
if [ -f "$root/scripts/gen-cert.sh" ]; then
  bash "$root/scripts/gen-cert.sh" "$dir" bench ec >/dev/null
else
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1,DNS:localhost \
    -keyout "$dir/bench.key" -out "$dir/bench.pem" 2>/dev/null
fi
[ -r "$dir/bench.pem" ] && [ -r "$dir/bench.key" ] || die "no certificate in $dir"
# HAProxy reads the certificate and its key from one file.
cat "$dir/bench.pem" "$dir/bench.key" >"$dir/bench-haproxy.pem"

# render TEMPLATE [PLAIN_PORT TLS_PORT [OUTPUT]]: writes $dir/OUTPUT (default
# TEMPLATE); @NAME@ becomes OUTPUT without its extension.
render() {
  local user="" out=${4:-$1}
  # nginx's compiled-in default group "nobody" does not exist on Debian.
  [ "$(id -u)" -ne 0 ] || user="user nobody nogroup;"
  sed -e "s|@DIR@|$dir|g" -e "s|@USER@|$user|" -e "s|@CERT@|$dir/bench.pem|" \
    -e "s|@KEY@|$dir/bench.key|" -e "s|@CERT_AND_KEY@|$dir/bench-haproxy.pem|" \
    -e "s|@UPSTREAM_PORT@|$upstream_port|g" -e "s|@KEEPALIVE@|$keepalive|" \
    -e "s|@PLAIN_PORT@|${2:-}|" -e "s|@TLS_PORT@|${3:-}|" -e "s|@NAME@|${out%.*}|g" \
    -e "s|@CONNECTIONS@|$worker_connections|" -e "s|@NOFILE@|$((worker_connections * 2))|" \
    -e "s|@STORE@|${session_store:-}|" -e "s|@WORKERS@|$workers|" -e "s|@SECRET@|$session_secret|" \
    "$tpl/$1" >"$dir/$out"
}
worker_connections=4096
session_secret=$(openssl rand -hex 32)

# Starts a server pinned to cpu0 in the foreground of a background job.
start() {
  local name=$1
  shift
  taskset -c "$server_cpus" "$@" >"$dir/$name.out" 2>&1 &
  pids+=($!)
}

wait_ready() {
  local url=$1 i
  for i in $(seq 50); do
    curl -ksf -o /dev/null "$url" && return 0
    sleep 0.1
  done
  die "$url did not answer; see $dir"
}

nginx_start() {
  local name=$1
  mkdir -p "$dir/$name.tmp"
  nginx -t -q -e "$dir/$name.error.log" -p "$dir" -c "$dir/$name.conf" ||
    die "nginx rejected $dir/$name.conf"
  start "$name" nginx -e "$dir/$name.error.log" -p "$dir" -c "$dir/$name.conf" -g 'daemon off;'
}

if want nginx-hs || want sesame-hs; then
  g++ -std=c++20 -O2 -Wall -Wextra "$tpl/tls_connect.cc" $(pkg-config --cflags --libs openssl) \
    -o "$dir/tls_connect" || die "could not build $tpl/tls_connect.cc"
fi

render upstream.conf
nginx_start upstream
wait_ready "http://127.0.0.1:$upstream_port/"

if want nginx || want nginx-tls || want nginx-hs; then
  render proxy.conf "$nginx_plain" "$nginx_tls"
  nginx_start proxy
  wait_ready "http://127.0.0.1:$nginx_plain/"
fi
if want haproxy || want haproxy-tls || want haproxy-hs; then
  render haproxy.cfg "$haproxy_plain" "$haproxy_tls"
  haproxy -c -q -f "$dir/haproxy.cfg" >"$dir/haproxy-check.out" 2>&1 ||
    die "haproxy -c rejected $dir/haproxy.cfg: $(cat "$dir/haproxy-check.out")"
  # -db: in the foreground, so that its pid is the one start() keeps.
  start haproxy haproxy -db -f "$dir/haproxy.cfg"
  wait_ready "http://127.0.0.1:$haproxy_plain/"
fi
if want sesame || want sesame-tls || want sesame-hs; then
  render sesame.toml "$sesame_plain" "$sesame_tls"
  "$sesame" -t -c "$dir/sesame.toml" >"$dir/sesame-check.out" 2>&1 ||
    die "sesame -t rejected the config: $(cat "$dir/sesame-check.out")"
  start sesame "$sesame" -c "$dir/sesame.toml"
  wait_ready "http://127.0.0.1:$sesame_plain/"
fi

if want sesame-redis; then
  start redis redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$dir"
  for _ in $(seq 50); do
    [ "$(redis-cli -p "$redis_port" ping 2>/dev/null)" != PONG ] || break
    sleep 0.1
  done
  [ "$(redis-cli -p "$redis_port" ping 2>/dev/null)" = PONG ] ||
    die "redis-server on port $redis_port did not answer; see $dir/redis.out"
fi

# session_start ROW PORT STORE: starts sesame for a session row, logs in once
# and keeps the cookie in session_cookie[ROW]. Checks what the row is meant to
# measure: with the cookie the upstream sees X-Remote-User: bench, without it
# sesame answers 401; the upstream gets a verified assertion on the
# sesame-assert rows and none on the others. Every sesame but sesame-redis's
# also gets a [login] table whose users file holds one user, "login", with a
# bcrypt cost 12 hash of $login_password, for the sesame-login row (idle on
# the others, so that their configurations differ from sesame-mem's only by
# what they measure).
declare -A session_cookie assert_alg row_pid
oidc_tokens=""
login_password=$(openssl rand -hex 12)
session_start() {
  local row=$1 base=http://127.0.0.1:$2 who code token key=""
  session_store=$3
  render sesame-session.toml "$2" "" "$row.toml"
  if [ "$3" = redis ]; then
    printf '\n[redis]\naddress = "127.0.0.1:%s"\n' "$redis_port" >>"$dir/$row.toml"
    [ -z "$redis_cache" ] || printf 'cache = "%s"\n' "$redis_cache" >>"$dir/$row.toml"
    # The sesame-redis-tls row's listener, with the TLS rows' certificate.
    printf '\n[[listen]]\naddress = "127.0.0.1:%s"\ntls = true\n\n[tls]\nmin_version = "1.3"\n\n[[tls.certificate]]\ncert = "%s"\nkey = "%s"\n' \
      "$sesame_redis_tls" "$dir/bench.pem" "$dir/bench.key" >>"$dir/$row.toml"
  fi
  if [ "$row" != sesame-redis ]; then
    if [ ! -f "$dir/login-users" ]; then
      # shellcheck disable=SC2016 # $2b$ is bcrypt's prefix, not an expansion
      printf 'login:%s\n' "$(python3 -c 'import sys; sys.path.insert(0, sys.argv[1])
from login_client import make_hash
print(make_hash(sys.argv[2], "$2b$", 12))' "$tpl" "$login_password")" >"$dir/login-users" ||
        die "could not make a bcrypt hash (scripts/bench/login_client.py)"
      chmod 600 "$dir/login-users"
    fi
    # One hashing thread: see the header.
    printf '\n[login]\nusers_file = "%s"\nhash_threads = 1\n' "$dir/login-users" >>"$dir/$row.toml"
  fi
  case $row in
    sesame-assert | sesame-assert-ed)
      key=$dir/$row.key
      if [ "$row" = sesame-assert ]; then
        (umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$key" 2>/dev/null)
      else
        (umask 077 && openssl genpkey -algorithm ed25519 -out "$key" 2>/dev/null)
      fi || die "$row: openssl genpkey failed"
      chmod 600 "$key"
      printf '\n[identity]\nassertion_header = "X-Sesame-Assertion"\nassertion_key = "%s"\n' "$key" >>"$dir/$row.toml"
      ;;
    sesame-oidc) oidc_config "$dir/$row.toml" ;;
  esac
  "$sesame" -t -c "$dir/$row.toml" >"$dir/$row-check.out" 2>&1 ||
    die "sesame -t rejected $dir/$row.toml: $(cat "$dir/$row-check.out")"
  start "$row" "$sesame" -c "$dir/$row.toml"
  row_pid[$row]=${pids[-1]}
  row_login "$row" "$base"
  who=$(curl -s -H "Cookie: ${session_cookie[$row]}" "$base/bench-whoami")
  [ "$who" = bench ] ||
    die "$row: with the login cookie the upstream saw X-Remote-User \"$who\", not \"bench\""
  code=$(curl -s -o /dev/null -w '%{http_code}' "$base/")
  [ "$code" = 401 ] || die "$row: GET / without the cookie got $code, not 401"
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: ${session_cookie[$row]}" "$base/")
  [ "$code" = 200 ] || die "$row: GET / with the login cookie got $code, not 200"
  token=$(curl -s -H "Cookie: ${session_cookie[$row]}" "$base/bench-assertion")
  if [ -n "$key" ]; then
    assert_alg[$row]=$(python3 "$tpl/assertion_check.py" "$token" "$base/.sesame/jwks.json" "$key" bench \
      "127.0.0.1:$2") || die "$row: the upstream's X-Sesame-Assertion did not check out (above)"
  else
    [ -z "$token" ] || die "$row: the upstream received an X-Sesame-Assertion without [identity] assertion_key"
  fi
}

# row_login ROW BASE: a new session at the sesame of ROW, started at BASE
# (once it answers): through the control header, or on sesame-oidc through
# the OpenID sign-in; its cookie goes to session_cookie[ROW].
row_login() {
  local row=$1 base=$2 headers=""
  if [ "$row" = sesame-oidc ]; then
    oidc_signin "$base"
    return
  fi
  session_cookie[$row]=""
  for _ in $(seq 50); do
    headers=$(curl -s -D - -o /dev/null "$base/bench-login" | tr -d '\r' || true)
    session_cookie[$row]=$(sed -n 's/^[Ss]et-[Cc]ookie: *\(sid=[^;]*\).*/\1/p' <<<"$headers" | head -1)
    [ -z "${session_cookie[$row]}" ] || break
    sleep 0.1
  done
  [ -n "${session_cookie[$row]}" ] || die "$row: no sid cookie from $base/bench-login: $headers"
}

# oidc_config TOML: starts the sesame-oidc row's provider (scripts/bench/
# oidc_signin.py, on cpu1) and appends to TOML a TLS listener for the
# callback and an [oidc] table naming that provider.
oidc_dir=$dir/oidc
oidc_config() {
  local out=$dir/oidc-provider.out ready="" issuer ca cert key
  taskset -c 1 python3 "$tpl/oidc_signin.py" provider "$oidc_dir" \
    "https://127.0.0.1:$sesame_oidc_tls/.sesame/oidc/callback" >"$out" 2>&1 &
  helpers+=($!)
  for _ in $(seq 300); do
    ready=$(grep -m1 '^ready ' "$out" || true)
    [ -z "$ready" ] || break
    kill -0 "${helpers[-1]}" 2>/dev/null || die "sesame-oidc: the provider did not start: $(cat "$out")"
    sleep 0.1
  done
  [ -n "$ready" ] || die "sesame-oidc: the provider did not start within 30 s; see $out"
  read -r _ issuer ca cert key <<<"$ready"
  oidc_issuer=$issuer oidc_ca=$ca
  cat >>"$1" <<EOF

# The sign-in's callback: providers want an https redirect URI.
[[listen]]
address = "127.0.0.1:$sesame_oidc_tls"
tls = true

[[tls.certificate]]
cert = "$cert"
key = "$key"

[oidc]
issuer = "$issuer"
client_id = "sesame"
client_secret_file = "$oidc_dir/oidc-secret"
ca_file = "$ca"
scopes = ["openid", "profile", "email", "api"]
user_claim = "preferred_username"
redirect_url = "https://127.0.0.1:$sesame_oidc_tls/.sesame/oidc/callback"
EOF
}

# oidc_signin BASE: one OpenID sign-in at the sesame-oidc sesame, once it
# answers; its cookie goes to session_cookie[sesame-oidc].
oidc_signin() {
  local base=$1 out
  for _ in $(seq 50); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$base/")" != 401 ] || break
    sleep 0.1
  done
  out=$(python3 "$tpl/oidc_signin.py" signin "$base" "https://127.0.0.1:$sesame_oidc_tls" "$oidc_issuer" \
    "$oidc_ca" "$oidc_dir/oidc-password" 2>&1) || die "sesame-oidc: the OpenID sign-in failed: $out"
  session_cookie[sesame-oidc]=$(sed -n 1p <<<"$out")
  oidc_tokens=$(sed -n 's/^tokens //p' <<<"$out")
}
mem_pid=""
if [ -n "$mem_rows" ]; then
  session_start sesame-mem "$sesame_mem" memory
  mem_pid=${pids[-1]}
  for row in $mem_rows; do session_cookie[$row]=${session_cookie[sesame-mem]}; done
fi

# The hashing threads (hash_tids) and the worker (worker_tid) of the
# sesame-mem sesame, told apart while it is idle by what they wait in: the
# pool's threads on a futex (their condition variable), the worker in
# epoll_wait; the main thread (tid = pid) waits for signals.
hash_tids="" worker_tid=""
if [ -n "$mem_pid" ]; then
  for _ in $(seq 50); do
    hash_tids="" worker_tid=""
    for t in /proc/"$mem_pid"/task/*; do
      t=${t##*/}
      [ "$t" != "$mem_pid" ] || continue
      case $(cat "/proc/$mem_pid/task/$t/wchan" 2>/dev/null || true) in
        *futex*) hash_tids+="$t " ;;
        *epoll*) worker_tid=$t ;;
      esac
    done
    [ -z "$worker_tid" ] || [ "$(wc -w <<<"$hash_tids")" != 1 ] || break
    sleep 0.1
  done
  if [ -z "$worker_tid" ] || [ "$(wc -w <<<"$hash_tids")" != 1 ]; then
    echo "bench: warning: sesame-mem: could not tell its hashing thread and worker apart (wchan); no per-thread CPU" >&2
    hash_tids="" worker_tid=""
  fi
  if [ -n "$login_nice" ]; then
    [ -n "$hash_tids" ] || die "LOGIN_NICE: the hashing thread of sesame-mem was not found"
    # renice -p on a thread id changes that thread alone.
    # shellcheck disable=SC2086 # one argument per thread id
    renice -n "$login_nice" -p $hash_tids >/dev/null || die "could not renice the hashing thread to $login_nice"
  fi
fi

# "HASH_NS WORKER_NS": CPU time so far of the sesame-mem sesame's hashing
# threads and of its worker, in ns (schedstat's first field).
mem_threads_cpu() {
  local t h=0 w=0
  for t in $hash_tids; do h=$((h + $(cut -d' ' -f1 "/proc/$mem_pid/task/$t/schedstat"))); done
  [ -z "$worker_tid" ] || w=$(cut -d' ' -f1 "/proc/$mem_pid/task/$worker_tid/schedstat")
  echo "$h $w"
}
if want sesame-redis; then
  session_start sesame-redis "$sesame_redis" redis
  session_cookie[sesame-redis-tls]=${session_cookie[sesame-redis]}
  code=$(curl -ks -o /dev/null -w '%{http_code}' -H "Cookie: ${session_cookie[sesame-redis]}" \
    "https://127.0.0.1:$sesame_redis_tls/")
  [ "$code" = 200 ] || die "sesame-redis-tls: GET / over TLS with the login cookie got $code, not 200"
fi
if want sesame-assert; then session_start sesame-assert "$sesame_assert" memory; fi
if want sesame-assert-ed; then session_start sesame-assert-ed "$sesame_assert_ed" memory; fi
if want sesame-oidc; then session_start sesame-oidc "$sesame_oidc" memory; fi

url_of() {
  case $1 in
    direct) echo "http://127.0.0.1:$upstream_port/" ;;
    nginx) echo "http://127.0.0.1:$nginx_plain/" ;;
    haproxy) echo "http://127.0.0.1:$haproxy_plain/" ;;
    sesame) echo "http://127.0.0.1:$sesame_plain/" ;;
    sesame-mem | sesame-login | sesame-spin) echo "http://127.0.0.1:$sesame_mem/" ;;
    sesame-redis) echo "http://127.0.0.1:$sesame_redis/" ;;
    sesame-redis-tls) echo "https://127.0.0.1:$sesame_redis_tls/" ;;
    sesame-assert) echo "http://127.0.0.1:$sesame_assert/" ;;
    sesame-assert-ed) echo "http://127.0.0.1:$sesame_assert_ed/" ;;
    sesame-oidc) echo "http://127.0.0.1:$sesame_oidc/" ;;
    nginx-tls | nginx-hs) echo "https://127.0.0.1:$nginx_tls/" ;;
    haproxy-tls | haproxy-hs) echo "https://127.0.0.1:$haproxy_tls/" ;;
    sesame-tls | sesame-hs) echo "https://127.0.0.1:$sesame_tls/" ;;
    *) die "unknown row $1" ;;
  esac
}

# Before any run, what each row measures: every proxy answers GET / with the
# upstream's own body (the session rows were checked by session_start), and
# the TLS listeners negotiate the same protocol, cipher, key exchange and
# signature; tls_summary keeps a line per TLS row for the report.
expected_body=$(curl -sf "http://127.0.0.1:$upstream_port/") || die "the upstream did not answer"
tls_summary=""
for row in $rows; do
  case $row in
    sesame-mem | sesame-login | sesame-spin | sesame-redis* | sesame-assert* | sesame-oidc | *-hs) continue ;;
  esac
  body=$(curl -ksf "$(url_of "$row")") || die "$row: GET $(url_of "$row") failed"
  [ "$body" = "$expected_body" ] || die "$row: GET / answered \"$body\", not the upstream's body"
  if [[ $row == *-tls ]]; then
    port=$(url_of "$row")
    port=${port##*:}
    tls=$(openssl s_client -connect "127.0.0.1:${port%/}" </dev/null 2>/dev/null |
      awk -F': ' '/^New, / { sub(/^New, /, ""); p = $0 } /^Server Temp Key:/ { k = $2 }
        /^Peer signature type:/ { s = $2 } END { printf "%s, key exchange %s, signature %s", p, k, s }')
    tls_summary+="${row%-tls}: $tls"$'\n'
  fi
done
if [ "$(cut -d: -f2- <<<"$tls_summary" | sort -u | grep -c .)" -gt 1 ]; then
  echo "bench: warning: the TLS rows negotiate differently:" >&2
  printf '%s' "$tls_summary" >&2
fi

# cpu0's busy jiffies: user + nice + system + irq + softirq.
cpu0_busy() { awk '$1 == "cpu0" { print $2 + $3 + $4 + $7 + $8 }' /proc/stat; }
clk_tck=$(getconf CLK_TCK)
# CPU jiffies (utime + stime) of every server process and its children: the
# servers' own cost, unaffected by whatever else the machine runs on cpu0.
servers_cpu() {
  local p kids=()
  for p in "${pids[@]}"; do kids+=($(pgrep -P "$p" || true)); done
  for p in "${pids[@]}" "${kids[@]}"; do
    [ ! -r "/proc/$p/stat" ] || sed 's/.*) //' "/proc/$p/stat"
  done | awk '{ t += $12 + $13 } END { print t + 0 }'
}

# Connections the upstream has accepted so far (stub_status), counting the
# one this asks on.
upstream_accepts() {
  curl -sf "http://127.0.0.1:$upstream_port/bench-upstream-status" | awk 'NR == 3 { print $1 }'
}

# Stops a helper (the sign-in client, the busy loop) and forgets it.
stop_helper() {
  local p=$1 q rest=()
  kill "$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || true
  for q in "${helpers[@]}"; do [ "$q" = "$p" ] || rest+=("$q"); done
  helpers=("${rest[@]}")
}

# Starts the sesame-login row's sign-ins (scripts/bench/login_load.py, on
# cpu1) for round $1 and waits for the first to finish; leaves the client's
# pid in login_pid.
login_start() {
  local out=$dir/login-load.$1.out
  : >"$out"
  taskset -c 1 python3 "$tpl/login_load.py" --inflight "$login_inflight" "$sesame_mem" login \
    "$login_password" "$dir/login-load.$1.log" >"$out" 2>&1 &
  login_pid=$!
  helpers+=("$login_pid")
  for _ in $(seq 600); do
    ! grep -q '^ready' "$out" || return 0
    kill -0 "$login_pid" 2>/dev/null || die "login_load.py stopped: $(cat "$out")"
    sleep 0.1
  done
  die "sesame-login: no sign-in finished within 60 s; see $out and $dir/sesame-mem.out"
}

# CPU jiffies (utime + stime) of process $1 so far.
proc_cpu() { sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }

# Runs wrk against row $1 for $2 in round $3; appends "row req/s p99_ms
# cpu0_us/req servers_us/req upstream_connections round p50_ms" to results,
# and for the rows on the sesame-mem sesame "row round sign-ins ok other
# post_median_ms post_p90_ms hash_cpu_s worker_cpu_s wrk_s client_cpu_s
# requests spin_cpu_s" to login-results (sign-ins: those that finished during
# wrk's run; hash and worker: the CPU time of those threads meanwhile; client:
# the sign-in client's; spin: the busy loop's).
run() {
  local row=$1 secs=$2 round=$3 out before after sbefore safter ubefore uafter url port headers=()
  local login_pid="" spin_pid="" t0 t1 threads0 threads1 client0=0 client1=0 signins h0 w0 h1 w1
  local spin0=0 spin1=0
  url=$(url_of "$row")
  case $row in
    sesame-login)
      rm -f "$dir/login-load.$round.log"
      login_start "$round"
      ;;
    sesame-spin)
      taskset -c 0 sh -c 'while :; do :; done' &
      spin_pid=$!
      helpers+=("$spin_pid")
      ;;
  esac
  [ -z "$login_pid" ] || client0=$(proc_cpu "$login_pid")
  [ -z "$spin_pid" ] || spin0=$(proc_cpu "$spin_pid")
  [ -z "$mem_pid" ] || threads0=$(mem_threads_cpu)
  t0=$(date +%s.%N)
  ubefore=$(upstream_accepts) || die "no stub_status from the upstream; see $dir"
  before=$(cpu0_busy)
  sbefore=$(servers_cpu)
  if [[ $row == *-hs ]]; then
    port=${url##*:}
    out=$( (taskset -c 1 "$dir/tls_connect" "${port%/}" "$conns" "${secs%s}" || true) |
      awk '{ printf "  99%% %.3fms\n%d requests in x\nRequests/sec: %s\n", $10, $2, $8 }
           $4 > 0 { printf "Socket errors: %d failed connections\n", $4 }
           $12 + 0 >= 90 { printf "Client-bound: tls_connect used %s of cpu1\n", $12 }')
  else
    [ -z "${session_cookie[$row]:-}" ] || headers=(-H "Cookie: ${session_cookie[$row]}")
    out=$(taskset -c 1 wrk -t1 -c"$conns" -d"$secs" --latency "${headers[@]}" "$url")
  fi
  after=$(cpu0_busy)
  safter=$(servers_cpu)
  t1=$(date +%s.%N)
  [ -z "$mem_pid" ] || threads1=$(mem_threads_cpu)
  [ -z "$login_pid" ] || client1=$(proc_cpu "$login_pid")
  [ -z "$spin_pid" ] || spin1=$(proc_cpu "$spin_pid")
  [ -z "$login_pid" ] || stop_helper "$login_pid"
  [ -z "$spin_pid" ] || stop_helper "$spin_pid"
  uafter=$(upstream_accepts) || die "no stub_status from the upstream; see $dir"
  echo "$out" >>"$dir/load-$row.log"
  if [ -n "${session_cookie[$row]:-}" ] && grep -q 'Non-2xx' <<<"$out"; then
    die "$row: $(grep -o 'Non-2xx.*' <<<"$out") of $(awk '/ requests in / { print $1 }' <<<"$out"): the session was not accepted; see $dir/load-$row.log"
  fi
  if grep -Eq 'Socket errors|Non-2xx|Client-bound' <<<"$out"; then
    echo "bench: warning: $row: $(grep -E 'Socket errors|Non-2xx|Client-bound' <<<"$out" | tr -s ' ' | tr '\n' ';')" >&2
  fi
  # The second stub_status request is the one connection not opened by the row.
  awk -v row="$row" -v busy=$((after - before)) -v own=$((safter - sbefore)) -v tck="$clk_tck" \
    -v upstream=$((uafter - ubefore - 1)) -v round="$round" '
    function to_ms(v, unit) {
      unit = v; sub(/^[0-9.]+/, "", unit); sub(/[a-z]+$/, "", v)
      return v * (unit == "us" ? 0.001 : unit == "ms" ? 1 : unit == "s" ? 1000 : unit == "m" ? 60000 : -1)
    }
    BEGIN { p50 = -1 }
    / requests in / { total = $1 }
    /^Requests\/sec:/ { rps = $2 }
    $1 == "50%" { p50 = to_ms($2) }
    $1 == "99%" { ms = to_ms($2) }
    END {
      if (total == 0 || ms < 0) exit 1
      printf "%s %.2f %.3f %.2f %.2f %d %d %.3f\n", row, rps, ms, busy * 1e6 / tck / total,
        own * 1e6 / tck / total, upstream, round, p50
    }' <<<"$out" >>"$dir/results" || die "could not parse wrk output for $row: $out"
  [[ " $mem_rows " == *" $row "* ]] || return 0
  signins="0 0 0 - -"
  if [ -n "$login_pid" ]; then
    grep -q '^done ' "$dir/login-load.$round.out" ||
      die "sesame-login: login_load.py did not finish its sign-ins: $(cat "$dir/login-load.$round.out")"
    # Sign-ins that finished while wrk ran: count, 303s, others, POST latency.
    signins=$(awk -v t0="$t0" -v t1="$t1" '$1 >= t0 && $1 <= t1 { print $2, $3 }' \
      "$dir/login-load.$round.log" | sort -k2,2g | awk '
        { n++; ok += $1 == 303; lat[n] = $2 * 1000 }
        END {
          if (n == 0) { print "0 0 0 - -"; exit }
          printf "%d %d %d %.1f %.1f\n", n, ok, n - ok, n % 2 ? lat[(n + 1) / 2] : (lat[n / 2] + lat[n / 2 + 1]) / 2,
            lat[int(0.9 * (n - 1)) + 1]
        }')
  fi
  read -r h0 w0 <<<"$threads0"
  read -r h1 w1 <<<"$threads1"
  echo "$row $round $signins $(awk -v h=$((h1 - h0)) -v w=$((w1 - w0)) -v t0="$t0" -v t1="$t1" \
    -v c=$((client1 - client0)) -v s=$((spin1 - spin0)) -v tck="$clk_tck" \
    -v n="$(awk '/ requests in / { print $1 }' <<<"$out")" \
    'BEGIN { printf "%.3f %.3f %.3f %.3f %d %.3f", h / 1e9, w / 1e9, t1 - t0, c / tck, n, s / tck }')" \
    >>"$dir/login-results"
}

median() {
  awk -v row="$1" -v col="$2" '$1 == row { print $col }' "$dir/results" | sort -g |
    awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# Servers are already running; a short unrecorded run warms caches and pools.
for row in $rows; do run "$row" 2s 0; done
: >"$dir/results"
: >"$dir/login-results"

# The kind of a proxy row: "proxy" followed by its suffix (-tls, -hs, -mem,
# -redis; sesame-login, sesame-spin and the rows compared with sesame-mem
# are of sesame-mem's); nothing for the direct row.
kind_of() {
  local s
  case $1 in
    sesame-login | sesame-spin | sesame-assert* | sesame-oidc) echo proxy-mem ;;
    nginx* | haproxy* | sesame*)
      s=${1#nginx} s=${s#haproxy}
      echo "proxy${s#sesame}"
      ;;
  esac
}

# The rows of round $1 in the order they run: the rows of one kind (nginx,
# haproxy and sesame over plain HTTP, say) take each other's places in turn
# from round to round, so that none always runs first.
round_order() {
  local round=$1 row kind k list
  local -A members=() taken=()
  for row in $rows; do
    kind=$(kind_of "$row")
    if [ -n "$kind" ]; then members[$kind]+="$row "; fi
  done
  for row in $rows; do
    kind=$(kind_of "$row")
    if [ -z "$kind" ]; then
      echo "$row"
    else
      read -ra list <<<"${members[$kind]}"
      k=${taken[$kind]:-0}
      taken[$kind]=$((k + 1))
      echo "${list[(k + round - 1) % ${#list[@]}]}"
    fi
  done
}

for round in $(seq "$rounds"); do
  for row in $(round_order "$round"); do
    echo "bench: round $round/$rounds: $row" >&2
    run "$row" "$duration" "$round"
  done
done

# Stops one server started by start() and forgets it.
stop() {
  local p=$1 q rest=()
  kill "$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || true
  for q in "${pids[@]}"; do [ "$q" = "$p" ] || rest+=("$q"); done
  pids=("${rest[@]}")
}

# "RSS PSS" in KiB of process $1 and its children (nginx's master and
# worker): VmRSS from /proc/PID/status counts pages the master and worker
# share twice, Pss from /proc/PID/smaps_rollup splits them.
memory_of() {
  local p
  for p in "$1" $(pgrep -P "$1" || true); do
    awk '$1 == "VmRSS:" { print "rss", $2 }' "/proc/$p/status"
    awk '$1 == "Pss:" { print "pss", $2 }' "/proc/$p/smaps_rollup"
  done | awk '{ t[$1] += $2 } END { print t["rss"] + 0, t["pss"] + 0 }'
}

# Starts idle_conns.py on cpu1 against port $1 with $2 connections (more
# arguments go to it); waits for its "ready OPEN FAILED SECONDS" line and
# leaves it in $idle_ready and its pid in $idle_client.
idle_open() {
  local port=$1 n=$2 out=$dir/idle-client.$1.$2.out
  shift 2
  taskset -c 1 python3 "$tpl/idle_conns.py" "$@" 127.0.0.1 "$port" "$n" >"$out" 2>&1 &
  idle_client=$!
  pids+=("$idle_client")
  for _ in $(seq 6000); do
    idle_ready=$(grep -m1 '^ready ' "$out" || true)
    [ -z "$idle_ready" ] || break
    kill -0 "$idle_client" 2>/dev/null || die "idle_conns.py stopped: $(cat "$out")"
    sleep 0.1
  done
  [ -n "$idle_ready" ] || die "idle_conns.py did not open $n connections in 10 minutes"
  grep -v '^ready ' "$out" | sed 's/^/bench: warning: /' >&2 || true
}

# Appends "row rss0 pss0 rss1 pss1 open established seconds" to
# $dir/idle-results for a fresh server of kind $1 (nginx or sesame), over
# TLS or, with $2 = plain, over plain HTTP.
idle_measure() {
  local kind=$1 row=$1 plain tls pid before after established port opts=()
  plain=$(free_port)
  tls=$(free_port)
  port=$tls
  if [ "${2:-}" = plain ]; then
    row=$kind-plain port=$plain opts=(--plain)
  fi
  echo "bench: idle: $row, $idle_conns connections" >&2
  if [ "$kind" = nginx ]; then
    render proxy.conf "$plain" "$tls" idle-nginx.conf
    nginx_start idle-nginx
  else
    render sesame.toml "$plain" "$tls" idle-sesame.toml
    start idle-sesame "$sesame" -c "$dir/idle-sesame.toml"
  fi
  pid=${pids[-1]}
  wait_ready "http://127.0.0.1:$plain/"
  wait_ready "https://127.0.0.1:$tls/"
  # Warm-up: the first handshakes and requests allocate what every later one
  # reuses (OpenSSL's lazily built tables, the upstream pool).
  idle_open "$port" 64 "${opts[@]}"
  stop "$idle_client"
  sleep 2
  before=$(memory_of "$pid")
  idle_open "$port" "$idle_conns" "${opts[@]}"
  # Lets sesame close the upstream connections its pool keeps past the
  # burst (after 1 s) so that only idle client connections remain.
  sleep 3
  established=$(ss -Htn state established "( sport = :$port )" | wc -l)
  after=$(memory_of "$pid")
  stop "$idle_client"
  stop "$pid"
  read -r _ open _ seconds <<<"$idle_ready"
  [ "$open" = "$idle_conns" ] || echo "bench: warning: idle: $row: only $open of $idle_conns connections opened" >&2
  [ "$established" -ge "$open" ] ||
    echo "bench: warning: idle: $row: the client holds $open connections but the server only $established" >&2
  echo "$row $before $after $open $established $seconds" >>"$dir/idle-results"
}

# Instructions of callgrind's dump $1 (its "summary:" line, callgrind_annotate's
# program total).
callgrind_total() {
  awk '/^summary:/ { print $2; found = 1 } END { if (!found) exit 1 }' "$1" ||
    die "no totals in callgrind's dump $1"
}

# callgrind_row ROW: see the header; appends "ROW FIRST_IR IR REQUESTS" to
# $dir/callgrind-results.
callgrind_row() {
  local row=$1 base port pid out first n code
  base=$(url_of "$row")
  base=${base%/}
  port=${base##*:}
  stop "${row_pid[$row]}"
  out=$dir/$row.callgrind
  start "$row.callgrind" valgrind --tool=callgrind --callgrind-out-file="$out" "$sesame" -c "$dir/$row.toml"
  pid=${pids[-1]}
  for _ in $(seq 600); do
    code=$(curl -s -o /dev/null -w '%{http_code}' "$base/" || true)
    [ "$code" != 401 ] || break
    kill -0 "$pid" 2>/dev/null || die "$row: sesame under callgrind stopped; see $dir/$row.callgrind.out"
    sleep 0.1
  done
  [ "$code" = 401 ] || die "$row: sesame under callgrind did not answer on port $port within 60 s"
  row_login "$row" "$base"
  callgrind_control -z "$pid" >/dev/null
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: ${session_cookie[$row]}" "$base/")
  [ "$code" = 200 ] || die "$row: under callgrind, GET / with the cookie got $code"
  callgrind_control -d "$pid" >/dev/null
  taskset -c 1 wrk -t1 -c1 -d2s -H "Cookie: ${session_cookie[$row]}" "$base/" >/dev/null
  callgrind_control -z "$pid" >/dev/null
  n=$(taskset -c 1 wrk -t1 -c1 -d5s -H "Cookie: ${session_cookie[$row]}" "$base/" | tee "$dir/$row.callgrind.wrk" |
    awk '/ requests in / { n = $1 } /Non-2xx/ { bad = 1 } END { if (!bad) print n }')
  [ "${n:-0}" -gt 0 ] || die "$row: the wrk run under callgrind failed; see $dir/$row.callgrind.wrk"
  callgrind_control -d "$pid" >/dev/null
  first=$(callgrind_total "$out.1")
  echo "$row $first $(callgrind_total "$out.2") $n" >>"$dir/callgrind-results"
  stop "$pid"
}

if [ "$callgrind" = 1 ]; then
  : >"$dir/callgrind-results"
  for row in sesame-mem $other_session_rows; do
    if want "$row"; then
      echo "bench: callgrind: $row" >&2
      callgrind_row "$row"
    fi
  done
fi

if [ "$idle_conns" -gt 0 ]; then
  : >"$dir/idle-results"
  worker_connections=$((idle_conns + 1024))
  idle_measure nginx
  idle_measure sesame
  if [ "$idle_plain" = 1 ]; then
    idle_measure nginx plain
    idle_measure sesame plain
  fi
fi

# The sign-in cost table, with its own sesames on cpu0 and the client on cpu1
# (the bench's servers are idle by now).
if [ "$login_cost" != 0 ]; then
  echo "bench: sign-in cost: $login_cost_rounds rounds" >&2
  taskset -c 1 python3 "$tpl/login_cost.py" --rounds "$login_cost_rounds" --server-cpu 0 \
    --upstream-port "$upstream_port" --dir "$dir/login-cost" "$sesame" >"$dir/login-cost.txt" ||
    die "scripts/bench/login_cost.py failed; see $dir/login-cost"
fi

idle_report() {
  echo
  echo "idle keep-alive TLS connections: $idle_conns, each a full TLS 1.3 handshake (ECDSA P-256) and one"
  echo "GET, then idle; a fresh server with 1 worker, measured after a 64-connection warm-up (KiB)"
  [ "$idle_plain" != 1 ] || echo "*-plain rows: the same without TLS"
  echo
  printf '%-12s %9s %9s %9s %7s %9s %9s %9s %7s %6s %6s %6s\n' "" RSS RSS RSS RSS PSS PSS PSS PSS "" "" open
  printf '%-12s %9s %9s %9s %7s %9s %9s %9s %7s %6s %6s %6s\n' server before idle delta B/conn before idle delta B/conn open estab "in s"
  awk '{
    printf "%-12s %9d %9d %9d %7.0f %9d %9d %9d %7.0f %6d %6d %6.1f\n", $1, $2, $4, $4 - $2,
      ($4 - $2) * 1024 / $6, $3, $5, $5 - $3, ($5 - $3) * 1024 / $6, $6, $7, $8
    per[$1, "rss"] = ($4 - $2) / $6; per[$1, "pss"] = ($5 - $3) / $6
  }
  END {
    print ""
    split("- -plain", suffix, " ")
    for (i = 1; i <= 2; i++) {
      s = suffix[i] == "-" ? "" : suffix[i]
      if (per["nginx" s, "rss"] > 0 && per["nginx" s, "pss"] > 0)
        printf "sesame%s/nginx%s, growth per idle connection: RSS %.2fx, PSS %.2fx\n", s, s,
          per["sesame" s, "rss"] / per["nginx" s, "rss"], per["sesame" s, "pss"] / per["nginx" s, "pss"]
    }
  }' "$dir/idle-results"
  echo "RSS: VmRSS (/proc/PID/status) summed over nginx's master and worker, so the pages they share"
  echo "count twice; PSS: Pss (/proc/PID/smaps_rollup), which splits them. open: connections the client"
  echo "held and found silent; estab: the server's ESTABLISHED sockets on that port (ss). Kernel socket"
  echo "memory is in neither figure; nginx's before includes its worker_connections array."
}

echo
[ -z "$rows" ] || echo "sesame benchmark: wrk -t1 -c$conns -d$duration, $rounds rounds, medians"
[ -z "$rows" ] || echo "upstream keepalive $keepalive in every proxy (nginx keepalive, haproxy pool-max-conn, sesame keepalive)"
echo "servers on cpu$server_cpus, wrk on cpu1, $workers worker(s) in each proxy${redis_cache:+, [redis] cache = $redis_cache}; nproc $(nproc), kernel $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg)"
version=n/a
[ ! -x "$sesame" ] || version=$("$sesame" --version 2>&1 | head -1)
[ -z "$tls_summary" ] || printf '%s' "$tls_summary" | sed 's/^/TLS /'
echo "$(nginx -v 2>&1); $(haproxy -v 2>/dev/null | head -1 | cut -d' ' -f1-3); $(wrk --version 2>&1 | head -1 | cut -d' ' -f1-2); sesame: $version"

# peer_of ROW PEER: the PEER (nginx or haproxy) row a sesame row compares
# with: the same protocol, or for the session rows the plain proxy.
peer_of() {
  case $1 in
    sesame-mem | sesame-redis | sesame-assert* | sesame-oidc) echo "$2" ;;
    sesame-redis-tls) echo "$2-tls" ;;
    sesame*) echo "$2${1#sesame}" ;;
  esac
}

# "min..max" of column $2 of row $1 over the rounds.
range() {
  awk -v row="$1" -v col="$2" -v fmt="$3" '$1 == row {
      if (n++ == 0 || $col < lo) lo = $col
      if (n == 1 || $col > hi) hi = $col
    }
    END { if (n == 0) print "-"; else printf fmt ".." fmt "\n", lo, hi }' "$dir/results"
}

# ratio_of ROW PEER [COL]: req/s (or column COL) of ROW over PEER's as
# "median-ratio min max", the first from the medians, the others from the
# rounds (both ran in each).
ratio_of() {
  local col=${3:-2}
  awk -v a="$1" -v b="$2" -v col="$col" -v ma="$(median "$1" "$col")" -v mb="$(median "$2" "$col")" '
    $1 == a { ra[$7] = $col }
    $1 == b { rb[$7] = $col }
    END {
      for (r in ra) if ((r in rb) && rb[r] > 0) {
        x = ra[r] / rb[r]
        if (n++ == 0 || x < lo) lo = x
        if (n == 1 || x > hi) hi = x
      }
      if (n > 0 && mb > 0) printf "%.2f %.2f %.2f\n", ma / mb, lo, hi
    }' "$dir/results"
}

throughput_report() {
  local row rps p99 us own cost own_cost up peer kind r lo hi diff targets="" warnings="" cells
  echo
  direct_us=$(median direct 4)
  direct_own=$(median direct 5)
  minus() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a - b }'; }
  printf '%-16s %8s %15s %7s %7s %7s %7s %7s %8s\n' "" "req/s" "req/s" "p99" cpu0 proxy servers proxy upstream
  printf '%-16s %8s %15s %7s %7s %7s %7s %7s %8s\n' row median "min..max" ms us/req us/req us/req us/req conns
  for row in $rows; do
    rps=$(median "$row" 2) p99=$(median "$row" 3) us=$(median "$row" 4) own=$(median "$row" 5)
    up=$(awk -v row="$row" '$1 == row && $6 > m { m = $6 } END { print m + 0 }' "$dir/results")
    cost=- own_cost=-
    if [[ $row != direct && $row != *-hs && $direct_us != - ]]; then
      cost=$(minus "$us" "$direct_us")
      own_cost=$(minus "$own" "$direct_own")
    fi
    if [ "$row" != direct ] && [ "$up" -gt "$conns" ]; then
      warnings+="WARNING: $row opened $up upstream connections in one run for $conns client connections:"$'\n'
      warnings+="  it reconnects to the upstream, so the row measures connection set-up, not proxying"$'\n'
    fi
    printf '%-16s %8.0f %15s %7.2f %7.1f %7s %7.1f %7s %8s\n' "$row" "$rps" "$(range "$row" 2 %.0f)" \
      "$p99" "$us" "$cost" "$own" "$own_cost" "$up"
  done
  echo
  echo "req/s median and min..max over the rounds; p99 and the us/req columns are medians."
  echo "cpu0 us/req: cpu0 busy time (/proc/stat) per request; proxy us/req: that minus the direct row's."
  echo "servers us/req: CPU time of the upstream and proxy processes themselves (/proc/PID/stat), which"
  echo "other load on the machine does not inflate; its proxy column subtracts the direct row's likewise."
  echo "upstream conns: the most connections the upstream accepted during one run of the row"
  echo "(stub_status); for the direct row they are wrk's own ($conns, and one more with which wrk tests"
  echo "the address). A proxy that keeps its upstream connections opens at most $conns in a run, when"
  echo "a pool that shrank between runs refills (HAProxy closes idle server connections"
  echo "after a few seconds by default); thousands mean it reconnects for requests."
  echo "*-hs rows: one request per connection, each a full TLS 1.3 handshake; req/s = new connections/s."
  echo "sesame-mem, sesame-redis: plain HTTP, each request with a logged-in session's cookie on an"
  echo "auth = \"required\" route, sessions in memory or in Redis; compared with the plain proxy rows;"
  echo "sesame-redis-tls: sesame-redis over TLS, compared with nginx-tls."
  echo "sesame-assert, sesame-assert-ed, sesame-oidc: sesame-mem's load with a signed assertion"
  echo "(ES256, EdDSA) to the upstream, or with a session from an OpenID sign-in; also against sesame-mem."

  echo
  echo "sesame's req/s as a ratio of its peer's: of the medians, then min..max of the rounds' ratios;"
  echo "p99 difference in ms (sesame's minus the peer's medians)"
  printf '%-16s %21s %21s %9s %9s\n' row "/ nginx" "/ haproxy" "p99 -" "p99 -"
  printf '%-16s %21s %21s %9s %9s\n' "" "" "" nginx haproxy
  for row in $rows; do
    [[ $row == sesame* ]] || continue
    # Compared with sesame-mem in the sign-in section instead.
    [[ $row != sesame-login && $row != sesame-spin ]] || continue
    cells=()
    for kind in nginx haproxy; do
      peer=$(peer_of "$row" "$kind")
      cells+=(- -)
      want "$peer" || continue
      read -r r lo hi <<<"$(ratio_of "$row" "$peer")"
      [ -n "${r:-}" ] || continue
      cells[-2]="${r}x (${lo}..${hi})"
      diff=$(awk -v a="$(median "$row" 3)" -v b="$(median "$peer" 3)" 'BEGIN { printf "%+.2f", a - b }')
      cells[-1]=$diff
      if awk -v r="$r" 'BEGIN { exit !(r > 1.5 || r < 1 / 1.5) }'; then
        warnings+="WARNING: $row is ${r}x $peer: a margin this large usually means one side is"$'\n'
        warnings+="  misconfigured or starved (see upstream conns); check before believing it"$'\n'
      fi
      if [ "$kind" = nginx ]; then
        case $row in
          sesame | sesame-tls) targets+=$(target_line "$row" "$r" 1.15 "$diff")$'\n' ;;
          sesame-hs | sesame-mem) targets+=$(target_line "$row" "$r" 1.0 "$diff")$'\n' ;;
          sesame-redis | sesame-redis-tls) targets+=$(target_line "$row" "$r" 0.9 "$diff")$'\n' ;;
        esac
      fi
    done
    printf '%-16s %21s %21s %9s %9s\n' "$row" "${cells[0]}" "${cells[2]}" "${cells[1]}" "${cells[3]}"
  done
  [ -z "$targets" ] || printf '\nissue 13 targets (against nginx; the assertion rows: see below):\n%s' "$targets"
  [ -z "$warnings" ] || printf '\n%s' "$warnings"
}

# target_line ROW RATIO MIN_RATIO P99_DIFF: one line of the issue 13 verdict.
target_line() {
  awk -v row="$1" -v ratio="${2%x}" -v min="$3" -v diff="$4" 'BEGIN {
    ok = ratio + 0 >= min && diff + 0 <= 1
    printf "  %-16s req/s %.2fx (target >= %.2fx), p99 %+.2f ms (target <= +1 ms): %s\n", row, ratio, min, diff, ok ? "met" : "NOT met"
  }'
}

# lmedian ROW EXPR: the median over the rounds of the awk expression EXPR
# on ROW's lines of login-results (see run), or "-".
lmedian() {
  awk -v row="$1" '$1 == row { print ('"$2"') }' "$dir/login-results" | grep -v '^-$' | sort -g |
    awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# num VALUE FORMAT: VALUE in FORMAT, or "-".
# shellcheck disable=SC2059 # the format is the argument
num() { if [ "$1" = - ]; then echo -; else printf "$2" "$1"; fi; }

# shellcheck disable=SC2016 # lmedian's awk expressions
login_report() {
  local row r lo hi cells other warnings=""
  echo
  echo "sign-ins and other requests (issue 11): sesame-login is sesame-mem's wrk load on the same sesame"
  echo "with $login_inflight sign-ins in flight as a bcrypt cost 12 user (login.hash_threads = 1)."
  ! want sesame-spin || echo "sesame-spin: the same wrk load with a busy loop on cpu0 instead of sign-ins."
  echo "The hashing thread inherits sesame's affinity: it runs on cpu $(taskset -cp "${hash_tids%% *}" 2>/dev/null |
    sed 's/.*: //' || echo "?") (taskset -p of its thread id)"
  echo "with the worker and the upstream; its nice value: $(sed 's/.*) //' "/proc/$mem_pid/task/${hash_tids%% *}/stat" \
    2>/dev/null | awk '{ print $17 }')${login_nice:+ (LOGIN_NICE)}. Medians over the rounds."
  echo
  printf '%-13s %7s %7s %7s %9s %10s %7s %8s %7s %7s %7s\n' "" req/s p50 p99 sign-ins \
    "POST ms" rival "hash ms" worker worker client
  printf '%-13s %7s %7s %7s %9s %10s %7s %8s %7s %7s %7s\n' row "" ms ms "(per s)" \
    "med/p90" "cpu0 %" /sign-in "cpu0 %" "us/req" "cpu1 %"
  for row in $mem_rows; do
    printf '%-13s %7s %7s %7s %9s %10s %7s %8s %7s %7s %7s\n' "$row" \
      "$(num "$(median "$row" 2)" %.0f)" "$(num "$(median "$row" 8)" %.2f)" \
      "$(num "$(median "$row" 3)" %.2f)" \
      "$(lmedian "$row" '$3')($(num "$(lmedian "$row" '$3 / $10')" %.2f))" \
      "$(num "$(lmedian "$row" '$6')" %.0f)/$(num "$(lmedian "$row" '$7')" %.0f)" \
      "$(num "$(lmedian "$row" '($8 + $13) / $10 * 100')" %.1f)" \
      "$(num "$(lmedian "$row" '$3 > 0 ? $8 / $3 * 1000 : "-"')" %.0f)" \
      "$(num "$(lmedian "$row" '$9 / $10 * 100')" %.1f)" \
      "$(num "$(lmedian "$row" '$12 > 0 ? $9 / $12 * 1e6 : "-"')" %.2f)" \
      "$(num "$(lmedian "$row" '$11 / $10 * 100')" %.1f)"
    other=$(awk -v row="$row" '$1 == row { n += $5 } END { print n + 0 }' "$dir/login-results")
    [ "$other" = 0 ] ||
      warnings+="WARNING: $row: $other sign-ins answered other than 303 (see $dir/login-load.*.log)"$'\n'
  done
  echo
  echo "sign-ins: finished during wrk's run (per second); POST ms: their POST's latency, queueing in the"
  echo "pool included; rival cpu0 %: CPU time over wrk's run of sesame's hashing thread (sesame-login) or"
  echo "of the busy loop (sesame-spin); hash ms/sign-in: the hashing thread's per sign-in; worker: sesame's"
  echo "worker thread, its us/req per wrk request; client: the sign-in client's CPU on cpu1, beside wrk."
  echo "The cpu0 and servers columns above count the hashing thread and the busy loop too."
  if want sesame-mem; then
    echo
    echo "against sesame-mem: ratio of the medians, then min..max of the rounds' ratios (each round ran both)"
    printf '%-13s %21s %21s %21s %9s\n' row "req/s" "p50" "p99" "p99 - ms"
    for row in $mem_rows; do
      [ "$row" != sesame-mem ] || continue
      cells=()
      for col in 2 8 3; do
        read -r r lo hi <<<"$(ratio_of "$row" sesame-mem "$col")"
        cells+=("${r:-?}x (${lo:-?}..${hi:-?})")
      done
      printf '%-13s %21s %21s %21s %9s\n' "$row" "${cells[@]}" \
        "$(awk -v a="$(median "$row" 3)" -v b="$(median sesame-mem 3)" 'BEGIN { printf "%+.2f", a - b }')"
    done
  fi
  [ -z "$warnings" ] || printf '\n%s' "$warnings"
}

# versus_mem_report: the rows compared with sesame-mem (issue 12), one line
# each, and the issue's target for the assertion rows.
versus_mem_report() {
  local row name col r lo hi cells targets=""
  echo
  echo "against sesame-mem (issue 12): ratio of the medians (min..max of the rounds' ratios; each round"
  echo "ran both); p99 and servers us/req also as the difference of the medians"
  for row in $other_session_rows; do
    case $row in
      sesame-oidc) name="oidc session" ;;
      *) name="assertion ${assert_alg[$row]%% *}" ;;
    esac
    cells=()
    for col in 2 3 5 4; do
      read -r r lo hi <<<"$(ratio_of "$row" sesame-mem "$col")"
      cells+=("${r:-?}x (${lo:-?}..${hi:-?})")
    done
    printf '%-28s req/s %s, p99 %s %s ms, servers us/req %s %s, cpu0 us/req %s\n' "$name / sesame-mem:" \
      "${cells[0]}" "${cells[1]}" \
      "$(awk -v a="$(median "$row" 3)" -v b="$(median sesame-mem 3)" 'BEGIN { printf "%+.2f", a - b }')" \
      "${cells[2]}" \
      "$(awk -v a="$(median "$row" 5)" -v b="$(median sesame-mem 5)" 'BEGIN { printf "%+.2f", a - b }')" \
      "${cells[3]}"
    if [[ $row == sesame-assert* ]]; then
      read -r r _ <<<"$(ratio_of "$row" sesame-mem)"
      targets+=$(awk -v row="$row" -v r="${r:-0}" 'BEGIN {
        printf "  %-17s req/s %.2fx sesame-mem (target >= 0.90x): %s", row, r, (r + 0 >= 0.9 ? "met" : "NOT met")
      }')$'\n'
    fi
  done
  ! want sesame-oidc ||
    echo "oidc session: the provider's tokens it holds, in bytes (RS256 ID token, JWT access token): $oidc_tokens"
  [ -z "$targets" ] || printf '\nissue 12 target (assertions on, against sesame-mem):\n%s' "$targets"
}

# callgrind_report: the CALLGRIND=1 table.
callgrind_report() {
  echo
  echo "instructions sesame executed (valgrind callgrind; see the header): for the first request with a"
  echo "new session's cookie, and per request over 5 s of wrk -c1 after a 2 s warm-up; ratio and"
  echo "difference against sesame-mem's"
  printf '%-17s %12s %12s %10s %10s %9s\n' row "first req" "per req" "requests" "/ mem" "- mem"
  awk 'NR == FNR { if ($1 == "sesame-mem") base = $3 / $4; next }
    {
      per = $3 / $4
      if (base > 0) printf "%-17s %12d %12.0f %10d %9.3fx %+9.0f\n", $1, $2, per, $4, per / base, per - base
      else printf "%-17s %12d %12.0f %10d %10s %9s\n", $1, $2, per, $4, "-", "-"
    }' "$dir/callgrind-results" "$dir/callgrind-results"
}

[ -z "$rows" ] || throughput_report
if [ -n "$other_session_rows" ] && want sesame-mem; then versus_mem_report; fi
[ "$callgrind" != 1 ] || callgrind_report
[ -z "$mem_rows" ] || [ "$mem_rows" = "sesame-mem " ] || login_report
[ "$idle_conns" -eq 0 ] || idle_report
if [ "$login_cost" != 0 ]; then
  echo
  cat "$dir/login-cost.txt"
fi
ok=1
