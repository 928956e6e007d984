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

echo "## a teammate's init on a shared config (config kept, .env made each run) and export"
printf 'storage: {type: mongodb}\nclient_auth:\n  jwks:\n    keys:\n      - kty: oct\n        alg: HS256\n        k: !env PS_SECRET\n        kid: team\n  audience: [powersync]\n' > "$work/team-hs.yaml"
printf 'storage: {type: mongodb}\nclient_auth:\n  jwks:\n    keys:\n      - kty: EC\n        crv: P-256\n        x: !env PS_X\n        y: !env PS_Y\n        alg: ES256\n        kid: !env PS_KID\n  audience: [powersync]\n' > "$work/team-ec.yaml"
for team in hs ec; do
  hyperfine -N --warmup 5 --runs 200 --style basic -n "teammate init $team" \
    --prepare "rm -f $work/team.env" --export-json "$work/team-$team.json" \
    "$bin init --config $work/team-$team.yaml --env-file $work/team.env"
done
(cd "$work/ES256" && hyperfine -N --warmup 20 --runs 300 --style basic -n "export dotenv" \
  --export-json "$work/export.json" "$bin export --format dotenv")
(cd "$work/ES256" && hyperfine -N --warmup 20 --runs 300 --style basic -n "mint --diagnostics" \
  --export-json "$work/diagnostics.json" "$bin mint --sub u1 --diagnostics")

echo "## medians"
for f in "$work"/mint-*.json "$work"/verify-*.json "$work"/init-*.json "$work"/team-*.json "$work"/export.json "$work"/diagnostics.json; do
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
