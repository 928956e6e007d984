#!/usr/bin/env bash
# Whole-process benchmarks of the release binary with hyperfine (apt-get install hyperfine).
# Usage: bash benches/cli.sh            (prints hyperfine's table and peak memory)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
bin="$PWD/target/release/pskeys"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
command -v hyperfine >/dev/null || { echo "hyperfine is required: apt-get install hyperfine" >&2; exit 1; }

# A project set up once per algorithm family for mint.
for alg in HS256 RS256 ES256 ES512 EdDSA; do
  mkdir -p "$work/$alg" && (cd "$work/$alg" && "$bin" init --alg "$alg" >/dev/null 2>&1)
done

echo "## mint (whole process, token to stdout)"
for alg in HS256 RS256 ES256 ES512 EdDSA; do
  (cd "$work/$alg" && hyperfine -N --warmup 20 --runs 300 --style basic -n "mint $alg" \
    --export-json "$work/mint-$alg.json" "$bin mint --sub u1")
done

echo "## verify (whole process)"
for alg in HS256 RS256; do
  (cd "$work/$alg" && tok=$("$bin" mint --sub u1) && hyperfine -N --warmup 20 --runs 300 --style basic -n "verify $alg" \
    --export-json "$work/verify-$alg.json" "$bin verify $tok")
done

echo "## init (fresh folder each run)"
for alg in HS256 RS256; do
  hyperfine --warmup 3 --runs "$([ "$alg" = RS256 ] && echo 30 || echo 200)" --style basic -n "init $alg" \
    --prepare "rm -rf $work/init && mkdir -p $work/init" \
    --export-json "$work/init-$alg.json" \
    "$bin init --alg $alg --config $work/init/powersync.yaml --env-file $work/init/.env"
done

echo "## medians"
for f in "$work"/mint-*.json "$work"/verify-*.json "$work"/init-*.json; do
  python3 - "$f" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
print(f"{r['command'][:70]:70s} median {r['median'] * 1000:7.2f} ms  mean {r['mean'] * 1000:7.2f} ms")
PY
done

echo "## peak memory (max RSS, KiB)"
for alg in HS256 RS256; do
  rm -rf "$work/m" && mkdir -p "$work/m"
  /usr/bin/time -f "init $alg: %M KiB" "$bin" init --alg "$alg" --config "$work/m/powersync.yaml" --env-file "$work/m/.env" 2>&1 >/dev/null | tail -1
  (cd "$work/m" && /usr/bin/time -f "mint $alg: %M KiB" "$bin" mint --sub u1 2>&1 >/dev/null | tail -1)
done
