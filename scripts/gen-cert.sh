#!/usr/bin/env bash
# Writes a self-signed certificate and key for the demo and end-to-end tests.
#
#   scripts/gen-cert.sh DIR NAME [ec|rsa] [DNS names...]
#
# Creates DIR/NAME.pem and DIR/NAME.key (mode 600, unencrypted). The subject
# CN is the first DNS name; the subjectAltName lists every DNS name plus
# IP:127.0.0.1. Without DNS names, "localhost" is used. Key type defaults to
# ec (ECDSA P-256); rsa is RSA-2048. Valid from now for 365 days.
set -euo pipefail

usage() {
  echo "usage: $0 DIR NAME [ec|rsa] [DNS names...]" >&2
  exit 2
}

[ $# -ge 2 ] || usage
dir=$1
name=$2
shift 2
type=ec
if [ $# -ge 1 ]; then
  case $1 in
    ec | rsa) type=$1; shift ;;
  esac
fi
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(localhost)

for n in "${names[@]}"; do
  # Keep a name from smuggling extra SAN entries or config syntax.
  [[ $n =~ ^[A-Za-z0-9*]([A-Za-z0-9.*-]*[A-Za-z0-9])?$ ]] || {
    echo "$0: invalid DNS name: $n" >&2
    exit 2
  }
done

case $type in
  ec) keyopts=(-newkey ec -pkeyopt ec_paramgen_curve:P-256) usage=digitalSignature ;;
  rsa) keyopts=(-newkey rsa:2048) usage=digitalSignature,keyEncipherment ;;
esac

san=""
for n in "${names[@]}"; do san+="DNS:$n,"; done
san+="IP:127.0.0.1"

mkdir -p "$dir"
umask 077
openssl req -x509 -nodes "${keyopts[@]}" -sha256 -days 365 \
  -subj "/CN=${names[0]}" \
  -addext "subjectAltName=$san" \
  -addext "basicConstraints=critical,CA:FALSE" \
  -addext "keyUsage=critical,$usage" \
  -addext "extendedKeyUsage=serverAuth" \
  -keyout "$dir/$name.key" -out "$dir/$name.pem" 2>/dev/null
chmod 644 "$dir/$name.pem"
echo "$dir/$name.pem $dir/$name.key"
