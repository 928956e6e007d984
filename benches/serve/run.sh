#!/usr/bin/env bash
# Load benchmark of `pskeys serve` against an express + jose backend doing what the
# PowerSync self-host demo backend does (benches/serve/baseline). See benches/serve/README.md.
#
# Usage: bash benches/serve/run.sh
#   DURATION=10      seconds of each measured wrk run
#   WARMUP=3         seconds of the wrk run before each measured one (not reported)
#   CONNECTIONS=64   wrk connections (keep-alive)
#   THREADS=2        wrk threads
#   CLUSTER=2        workers of the node cluster runs (0 skips them)
#   PORT_BASE=6100   the servers listen on 127.0.0.1:PORT_BASE+0..+6
#   RETRIES=2        measure a run again when other processes used >10% of a core meanwhile
#   PSKEYS=path      a pskeys binary to use instead of building target/release/pskeys
# Needs: wrk (apt-get install wrk), node >= 18 and npm, curl; cargo unless PSKEYS is set.
# Everything runs on 127.0.0.1; every wrk run is bounded by DURATION.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

DURATION=${DURATION:-10}
WARMUP=${WARMUP:-3}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
CLUSTER=${CLUSTER:-2}
PORT_BASE=${PORT_BASE:-6100}
RETRIES=${RETRIES:-2}
USER_ID=user-1

die() { echo "run.sh: $*" >&2; exit 1; }
for tool in wrk node npm curl; do
  command -v "$tool" >/dev/null || case $tool in
    wrk) die "wrk is required: apt-get install -y wrk" ;;
    node | npm) die "$tool is required: apt-get install -y nodejs npm (node >= 18)" ;;
    *) die "$tool is required: apt-get install -y $tool" ;;
  esac
done
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 18 ? 0 : 1)' ||
  die "node >= 18 is required (found $(node --version))"

if [ -n "${PSKEYS:-}" ]; then
  bin=$(command -v "$PSKEYS" 2>/dev/null || true)
  [ -n "$bin" ] || die "PSKEYS=$PSKEYS is not an executable"
  case $bin in /*) ;; *) bin="$PWD/$bin" ;; esac
else
  command -v cargo >/dev/null || die "cargo is required to build pskeys (or set PSKEYS=path)"
  (cd "$root" && cargo build --release --quiet) || die "cargo build --release failed"
  bin="$root/target/release/pskeys"
fi
[ -x "$bin" ] || die "no pskeys binary at $bin"

# The baseline's packages, exactly as package-lock.json pins them.
if [ ! -d "$here/baseline/node_modules/jose" ] || [ ! -d "$here/baseline/node_modules/express" ]; then
  echo "installing the baseline's packages (npm ci)" >&2
  (cd "$here/baseline" && npm ci --no-audit --no-fund --loglevel=error >&2) || die "npm ci failed in $here/baseline"
fi

# Other work on the machine skews every number: say so (2 cores here, shared with wrk).
busy=$(awk '{print $1}' /proc/loadavg)
if awk -v l="$busy" 'BEGIN {exit !(l > 0.5)}'; then
  echo "run.sh: warning: load average $busy before the start; other processes will skew the results" >&2
fi

work=$(mktemp -d)
results="$here/results"
rm -rf "$results" && mkdir -p "$results"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Two projects, as a developer makes them.
for alg in ES256 HS256; do
  dir="$work/$alg"
  mkdir -p "$dir"
  (cd "$dir" && "$bin" init --alg "$alg" >"$work/init-$alg.log" 2>&1) || { cat "$work/init-$alg.log" >&2; die "pskeys init --alg $alg failed"; }
  (cd "$dir" && "$bin" export --format json >"$dir/keys.json") || die "pskeys export failed"
done

# --- servers ---------------------------------------------------------------------------
server_pid=""
# start NAME PORT LOG COMMAND...: starts a server in the background and waits until it answers.
start() {
  local name=$1 port=$2 log=$3
  shift 3
  "$@" >/dev/null 2>"$log" &
  server_pid=$!
  pids+=("$server_pid")
  for _ in $(seq 1 100); do
    if curl -fsS -o /dev/null "http://127.0.0.1:$port/.well-known/jwks.json" 2>/dev/null; then return 0; fi
    kill -0 "$server_pid" 2>/dev/null || { cat "$log" >&2 2>/dev/null; die "$name exited at start"; }
    sleep 0.1
  done
  die "$name did not answer on port $port within 10 s"
}
stop() {
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
}
# CPU ticks used so far by a server and its child processes (node cluster workers).
cpu_ticks() {
  local total=0 p t
  for p in "$1" $(pgrep -P "$1" 2>/dev/null || true); do
    t=$(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)
    total=$((total + t))
  done
  echo "$total"
}
# Peak resident memory (MiB) of a server and its children, read before it stops.
peak_rss() {
  local total=0 p kb
  for p in "$1" $(pgrep -P "$1" 2>/dev/null || true); do
    kb=$(awk '/^VmHWM:/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)
    total=$((total + ${kb:-0}))
  done
  awk -v kb="$total" 'BEGIN {printf "%.0f MiB", kb / 1024}'
}

# --- correctness -----------------------------------------------------------------------
# check_token NAME URL PROJECT_DIR: a token from URL is accepted by `pskeys verify` there.
check_token() {
  local name=$1 url=$2 dir=$3 body token
  body=$(curl -fsS "$url") || die "$name: $url failed"
  token=$(printf '%s' "$body" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>process.stdout.write(JSON.parse(s).token))') ||
    die "$name: no token in $body"
  if (cd "$dir" && "$bin" verify "$token" >"$work/verify.log" 2>&1); then
    echo "ok: $name token accepted by pskeys verify" >&2
  else
    cat "$work/verify.log" >&2
    die "$name: pskeys verify refused its token"
  fi
}
# check_jwks NAME URL EXPECTED_FILE: the same keys as pskeys serves (member order aside).
check_jwks() {
  local name=$1 url=$2 expected=$3
  curl -fsS "$url" >"$work/jwks-got.json" || die "$name: $url failed"
  node -e '
    const fs = require("fs");
    const canon = (f) => JSON.stringify(JSON.parse(fs.readFileSync(f, "utf8")).keys.map((k) => Object.fromEntries(Object.entries(k).sort())));
    process.exit(canon(process.argv[1]) === canon(process.argv[2]) ? 0 : 1);
  ' "$work/jwks-got.json" "$expected" || die "$name: its JWKS differs from pskeys serve's: $(cat "$work/jwks-got.json")"
  echo "ok: $name JWKS equals pskeys serve's" >&2
}

# --- wrk -------------------------------------------------------------------------------
cat >"$work/post.lua" <<EOF
wrk.method = "POST"
wrk.body = '{"sub": "$USER_ID"}'
wrk.headers["Content-Type"] = "application/json"
EOF

rows=()
contended=()
hz=$(getconf CLK_TCK)
# Busy ticks of the whole machine (user, nice, system, irq, softirq, steal).
machine_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat; }
# measure SLUG URL [wrk args...]: one measured wrk run; sets $row_stats to
# "ticks mticks wrk_cpu" (server CPU ticks, machine busy ticks, wrk's CPU seconds).
measure() {
  local slug=$1 url=$2
  shift 2
  local before after m_before m_after TIMEFORMAT='%U %S'
  before=$(cpu_ticks "$server_pid")
  m_before=$(machine_ticks)
  { time wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency "$@" "$url" >"$results/$slug.txt" 2>&1; } 2>"$work/wrk-time"
  m_after=$(machine_ticks)
  after=$(cpu_ticks "$server_pid")
  row_stats="$((after - before)) $((m_after - m_before)) $(tail -n 1 "$work/wrk-time" | awk '{print $1 + $2}')"
}
# bench LABEL URL [wrk args...]: a warm-up run, then the measured one; adds a table row.
# CPU is in % of one core (200% is the whole machine): the server's, wrk's, and what every
# other process used meanwhile. A run during which other processes used more than 10% of a
# core is measured again (at most RETRIES more times) and the least disturbed one is kept.
bench() {
  local label=$1 url=$2
  shift 2
  local slug
  slug=$(printf '%s' "$label" | tr -c 'A-Za-z0-9' '-' | tr -s '-')
  echo "== $label ($url)" >&2
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" "$@" "$url" >/dev/null
  local try row other best="" best_other=1000000
  for try in $(seq 0 "$RETRIES"); do
    measure "$slug" "$url" "$@"
    row=$(awk -v label="$label" -v stats="$row_stats" -v hz="$hz" -v dur="$DURATION" '
      BEGIN { split(stats, st, " ") }
      /Requests\/sec:/ { rps = $2 }
      /^ +50%/ { p50 = $2 }
      /^ +99%/ { p99 = $2 }
      /requests in/ { total = $1 }
      /Non-2xx or 3xx responses:/ { non2xx = $NF }
      /Socket errors:/ { sub(/^ *Socket errors: */, ""); errors = $0 }
      END {
        cpu = st[1] / hz
        wrk = st[3]
        other = st[2] / hz - cpu - wrk
        if (other < 0) other = 0
        printf "%d\t| %s | %.0f | %s | %s | %s | %s | %.0f%% | %.1f | %.0f%% | %.0f%% |", 100 * other / dur,
          label, rps, p50, p99, (non2xx == "" ? 0 : non2xx), (errors == "" ? "none" : errors),
          100 * cpu / dur, (total > 0 ? 1e6 * cpu / total : 0), 100 * wrk / dur, 100 * other / dur
      }' "$results/$slug.txt")
    other=${row%%$'\t'*}
    if [ "$other" -lt "$best_other" ]; then
      best=${row#*$'\t'}
      best_other=$other
      cp "$results/$slug.txt" "$work/best.txt"
    fi
    if [ "$other" -le 10 ]; then break; fi
    if [ "$try" -lt "$RETRIES" ]; then echo "   other processes used $other% of a core: measuring again" >&2; fi
  done
  cp "$work/best.txt" "$results/$slug.txt"
  rows+=("$best")
  if [ "$best_other" -gt 10 ]; then contended+=("$label ($best_other% of a core)"); fi
  grep -E 'Non-2xx|Socket errors' "$results/$slug.txt" >&2 || true
}

es="$work/ES256"
hs="$work/HS256"
token_path="/api/auth/token?user_id=$USER_ID"
mem=()

# pskeys serve, ES256, request log off.
port=$((PORT_BASE + 0))
start "pskeys serve ES256" "$port" "$work/pskeys-es.log" \
  "$bin" serve --config "$es/powersync.yaml" --env-file "$es/.env" --port "$port" --quiet
check_token "pskeys serve ES256" "http://127.0.0.1:$port$token_path" "$es"
curl -fsS "http://127.0.0.1:$port/.well-known/jwks.json" >"$work/pskeys-jwks.json"
bench "pskeys serve · GET token · ES256" "http://127.0.0.1:$port$token_path"
bench "pskeys serve · POST /token · ES256" "http://127.0.0.1:$port/token" -s "$work/post.lua"
bench "pskeys serve · JWKS" "http://127.0.0.1:$port/.well-known/jwks.json"
mem+=("pskeys serve ES256: $(peak_rss "$server_pid")")
stop

# pskeys serve, HS256.
port=$((PORT_BASE + 1))
start "pskeys serve HS256" "$port" "$work/pskeys-hs.log" \
  "$bin" serve --config "$hs/powersync.yaml" --env-file "$hs/.env" --port "$port" --quiet
check_token "pskeys serve HS256" "http://127.0.0.1:$port$token_path" "$hs"
bench "pskeys serve · GET token · HS256" "http://127.0.0.1:$port$token_path"
mem+=("pskeys serve HS256: $(peak_rss "$server_pid")")
stop

# pskeys serve, ES256, one log line per request (to /dev/null).
port=$((PORT_BASE + 2))
start "pskeys serve ES256 (logging)" "$port" /dev/null \
  "$bin" serve --config "$es/powersync.yaml" --env-file "$es/.env" --port "$port"
bench "pskeys serve · GET token · ES256 · request log on (stderr → /dev/null)" "http://127.0.0.1:$port$token_path"
stop

# The baseline, one process (as the demo runs).
port=$((PORT_BASE + 3))
start "baseline ES256" "$port" "$work/baseline-es.log" \
  node "$here/baseline/server.mjs" --keys "$es/keys.json" --port "$port"
check_token "baseline ES256" "http://127.0.0.1:$port$token_path" "$es"
check_jwks "baseline ES256" "http://127.0.0.1:$port/.well-known/jwks.json" "$work/pskeys-jwks.json"
bench "express+jose · GET token · ES256" "http://127.0.0.1:$port$token_path"
bench "express+jose · JWKS" "http://127.0.0.1:$port/.well-known/jwks.json"
mem+=("express+jose ES256: $(peak_rss "$server_pid")")
stop

port=$((PORT_BASE + 4))
start "baseline HS256" "$port" "$work/baseline-hs.log" \
  node "$here/baseline/server.mjs" --keys "$hs/keys.json" --port "$port"
check_token "baseline HS256" "http://127.0.0.1:$port$token_path" "$hs"
bench "express+jose · GET token · HS256" "http://127.0.0.1:$port$token_path"
mem+=("express+jose HS256: $(peak_rss "$server_pid")")
stop

# The baseline as a node cluster.
if [ "$CLUSTER" -gt 1 ]; then
  port=$((PORT_BASE + 5))
  start "baseline ES256 cluster" "$port" "$work/baseline-es-cluster.log" \
    node "$here/baseline/server.mjs" --keys "$es/keys.json" --port "$port" --cluster "$CLUSTER"
  check_token "baseline ES256 cluster" "http://127.0.0.1:$port$token_path" "$es"
  bench "express+jose · cluster of $CLUSTER · GET token · ES256" "http://127.0.0.1:$port$token_path"
  bench "express+jose · cluster of $CLUSTER · JWKS" "http://127.0.0.1:$port/.well-known/jwks.json"
  mem+=("express+jose ES256 cluster of $CLUSTER (primary + workers): $(peak_rss "$server_pid")")
  stop

  port=$((PORT_BASE + 6))
  start "baseline HS256 cluster" "$port" "$work/baseline-hs-cluster.log" \
    node "$here/baseline/server.mjs" --keys "$hs/keys.json" --port "$port" --cluster "$CLUSTER"
  check_token "baseline HS256 cluster" "http://127.0.0.1:$port$token_path" "$hs"
  bench "express+jose · cluster of $CLUSTER · GET token · HS256" "http://127.0.0.1:$port$token_path"
  stop
fi

echo
echo "load average before the start: $busy"
echo "wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s --latency (keep-alive), after a ${WARMUP} s warm-up; $(nproc) cores shared by wrk and the server; $(node --version), $("$bin" --version)"
echo
echo "| target | requests/s | p50 | p99 | non-2xx | socket errors | server CPU | server CPU µs/req | wrk CPU | other CPU |"
echo "| --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |"
printf '%s\n' "${rows[@]}"
echo
echo "CPU in % of one core (the machine has $(nproc)); other CPU: processes besides the server and wrk during the run."
if [ ${#contended[@]} -gt 0 ]; then
  echo "warning: other processes used CPU during: $(IFS=';'; echo "${contended[*]}" | sed 's/;/; /g'). Rerun on an idle machine."
fi
echo
echo "Peak RSS: $(IFS=';'; echo "${mem[*]}" | sed 's/;/; /g')"
echo "wrk's own output: $results/"
