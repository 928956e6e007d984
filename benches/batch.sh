#!/usr/bin/env bash
# Batch minting (`pskeys mint --count N`, whole process, JSON lines to /dev/null) next to
# the machine's signing ceiling: `openssl speed -multi <cores>` for HMAC-SHA256, Ed25519,
# P-256 and RSA-2048, measured in the same run.
# Usage: bash benches/batch.sh      (N_FAST=1000000 N_RSA=40000 RUNS=3 to change sizes)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
bin="$PWD/target/release/pskeys"
cores=$(nproc)
n_fast=${N_FAST:-1000000}
n_rsa=${N_RSA:-40000}
runs=${RUNS:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
command -v openssl >/dev/null || { echo "openssl is required for the ceiling" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "GNU time is required: apt-get install time" >&2; exit 1; }

# openssl speed's ops/s for one algorithm, summed over `cores` processes.
ceiling() {
  local out
  case "$1" in
    HS256) # HMAC-SHA256 on 16-byte blocks: bytes/s / 16 (a JWT's input is ~200 bytes,
           # so this is an upper bound). OpenSSL 3.0's -multi summary labels the row
           # hmac(md5); its figures are sha256's.
      out=$(openssl speed -multi "$cores" -seconds 3 -hmac sha256 2>/dev/null | awk '/^hmac\(/ {v=$2} END {print v}')
      awk -v v="$out" 'BEGIN { sub(/k$/, "", v); printf "%.0f", v * 1000 / 16 }' ;;
    EdDSA) openssl speed -multi "$cores" -seconds 3 ed25519 2>/dev/null | awk '/Ed25519\)/ {print $(NF-1); exit}' ;;
    ES256) openssl speed -multi "$cores" -seconds 3 ecdsap256 2>/dev/null | awk '/nistp256/ && /ecdsa/ {print $(NF-1); exit}' ;;
    RS256) openssl speed -multi "$cores" -seconds 3 rsa2048 2>/dev/null | awk '/^rsa 2048/ {print $(NF-1); exit}' ;;
  esac
}

printf '| alg | N | tokens/s (best of %s) | peak memory | openssl speed -multi %s (signatures/s) |\n|---|---|---|---|---|\n' "$runs" "$cores"
for alg in HS256 EdDSA ES256 RS256; do
  mkdir -p "$work/$alg" && (cd "$work/$alg" && "$bin" init --alg "$alg" >/dev/null 2>&1)
  n=$n_fast
  [ "$alg" = RS256 ] && n=$n_rsa
  best=0 rss=0
  for _ in $(seq "$runs"); do
    read -r secs kib < <(cd "$work/$alg" && /usr/bin/time -f '%e %M' "$bin" mint --count "$n" 2>&1 >/dev/null | tail -1)
    rate=$(awk -v n="$n" -v s="$secs" 'BEGIN { printf "%.0f", n / (s > 0 ? s : 0.001) }')
    [ "$rate" -gt "$best" ] && best=$rate
    rss=$kib
  done
  printf '| %s | %s | %s | %s MiB | %s |\n' "$alg" "$n" "$best" "$(awk -v k="$rss" 'BEGIN { printf "%.1f", k / 1024 }')" "$(ceiling "$alg")"
done
