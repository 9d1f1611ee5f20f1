#!/usr/bin/env bash
# Token-read load test (docs/performance.md): builds the release binaries, creates a throwaway
# PostgreSQL database, migrates and seeds it (integrations with valid far-future tokens and
# one service key), starts `tether serve` on loopback, warms up, then runs wrk with
# BENCH_CONNECTIONS connections for BENCH_DURATION against GET /api/v1/integrations/{id}/token.
# First, in the same run, the same wrk load against the ceiling: a bare actix-web server
# (tether-bench-ceiling) answering the same route with the same body tether answered; tether's
# req/s is reported as a percentage of it. Prints req/s, p50/p99 latency, the server's peak RSS,
# the CPU time tether and PostgreSQL used, how busy the whole machine was, and whether
# tether's database connections use TLS.
# Stops the servers and drops the database on exit, whatever happens.
#
# Settings (environment): BENCH_PG_ADMIN_URL (postgres://postgres@127.0.0.1:5432/postgres),
# BENCH_INTEGRATIONS (1000), BENCH_CONNECTIONS (64), BENCH_DURATION (20s), BENCH_THREADS (2),
# BENCH_PORT (18080), BENCH_DB_POOL (tether's TETHER_DB_MAX_CONNECTIONS, default 10),
# BENCH_SKIP_BUILD (1 to reuse the release binaries), BENCH_PERF (a path: record a
# system-wide `perf` profile of 10 s of the run there), BENCH_PG_SSLMODE (sslmode of tether's
# database URL; unset: libpq's default `prefer`, i.e. TLS when the server offers it, as the
# machine's PostgreSQL does — the production shape).
set -euo pipefail

cd "$(dirname "$0")/.."
ADMIN_URL=${BENCH_PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
INTEGRATIONS=${BENCH_INTEGRATIONS:-1000}
CONNECTIONS=${BENCH_CONNECTIONS:-64}
DURATION=${BENCH_DURATION:-20s}
THREADS=${BENCH_THREADS:-2}
PORT=${BENCH_PORT:-18080}
DB_POOL=${BENCH_DB_POOL:-10}
DB_NAME="tether_bench_$$"
DB_URL="${ADMIN_URL%/*}/${DB_NAME}"
TETHER_DB_URL="$DB_URL${BENCH_PG_SSLMODE:+?sslmode=$BENCH_PG_SSLMODE}"
WORK=$(mktemp -d)
SERVER_PID=""
CEILING_PID=""
AUTOVACUUM_SAMPLER=""

cleanup() {
  if [[ -n "$AUTOVACUUM_SAMPLER" ]]; then kill "$AUTOVACUUM_SAMPLER" 2>/dev/null || true; fi
  if [[ -n "$CEILING_PID" ]]; then kill -KILL "$CEILING_PID" 2>/dev/null || true; fi
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID"
    for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
  fi
  psql -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS \"$DB_NAME\" WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

if ! command -v wrk >/dev/null; then
  apt-get update -qq && apt-get install -y -qq wrk >/dev/null
fi
if ! command -v oha >/dev/null; then
  cargo install --locked -q oha
fi
if [[ "${BENCH_SKIP_BUILD:-0}" != 1 ]]; then
  cargo build --release -q -p tether-server -p tether-bench
fi
RELEASE="${CARGO_TARGET_DIR:-target}/release"
TETHER="$RELEASE/tether"
SEED="$RELEASE/tether-bench-seed"
CEILING="$RELEASE/tether-bench-ceiling"

# Fernet key: 32 random bytes, url-safe base64.
KEY=$(head -c 32 /dev/urandom | base64 | tr '+/' '-_')
export TETHER_DATABASE_URL="$TETHER_DB_URL"
export TETHER_ENCRYPTION_KEYS="$KEY"
export TETHER_JWT_SECRET="bench-jwt-secret-that-is-long-enough-0123456789"
export TETHER_LISTEN="127.0.0.1:${PORT}"
export TETHER_RATE_LIMIT_API_PER_MINUTE=1000000000
export TETHER_DB_MAX_CONNECTIONS="$DB_POOL"
export TETHER_LOG_LEVEL=warn

psql -q "$ADMIN_URL" -c "CREATE DATABASE \"$DB_NAME\"" >/dev/null
"$TETHER" migrate up >/dev/null
export BENCH_IDS_FILE="$WORK/ids.txt"
BENCH_API_KEY=$("$SEED" "$DB_URL" "$KEY" "$INTEGRATIONS" "$BENCH_IDS_FILE")
export BENCH_API_KEY

"$TETHER" serve >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 150); do
  curl -sf "http://127.0.0.1:${PORT}/healthz" >/dev/null && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log"; exit 1; }
  sleep 0.2
done
FIRST_ID=$(head -n 1 "$BENCH_IDS_FILE")
STATUS=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $BENCH_API_KEY" \
  "http://127.0.0.1:${PORT}/api/v1/integrations/${FIRST_ID}/token")
[[ "$STATUS" == 200 ]] || { echo "token read answered $STATUS"; cat "$WORK/server.log"; exit 1; }
curl -sf -H "Authorization: Bearer $BENCH_API_KEY" \
  "http://127.0.0.1:${PORT}/api/v1/integrations/${FIRST_ID}/token" >"$WORK/body.json"
TLS=$(psql -qtA "$ADMIN_URL" -c "SELECT COUNT(*) FILTER (WHERE s.ssl) || ' of ' || COUNT(*) \
  FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.datname = '$DB_NAME'")

# The ceiling, in the same run: the same load on a bare actix-web server with the same body.
CEILING_PORT=$((PORT + 1))
"$CEILING" "$CEILING_PORT" "$WORK/body.json" 2>"$WORK/ceiling.log" &
CEILING_PID=$!
for _ in $(seq 50); do
  curl -sf -o /dev/null "http://127.0.0.1:${CEILING_PORT}/api/v1/integrations/${FIRST_ID}/token" && break
  sleep 0.1
done
wrk -t "$THREADS" -c "$CONNECTIONS" -d 3s -s bench/token-read.lua "http://127.0.0.1:${CEILING_PORT}" >/dev/null
wrk -t "$THREADS" -c "$CONNECTIONS" -d "$DURATION" --latency -s bench/token-read.lua \
  "http://127.0.0.1:${CEILING_PORT}" >"$WORK/ceiling.txt"
kill -TERM "$CEILING_PID"; wait "$CEILING_PID" 2>/dev/null || true; CEILING_PID=""
CEILING_RPS=$(awk -F'[ =]' '/^BENCH/ { for (i = 1; i < NF; i++) if ($i == "rps") print $(i + 1) }' "$WORK/ceiling.txt")
echo "ceiling (bare actix-web, same route and $(wc -c <"$WORK/body.json")-byte body): $(grep '^BENCH' "$WORK/ceiling.txt")"

# CPU ticks (user + system) of a set of processes.
ticks() { cat "$@" 2>/dev/null | awk '{ t += $14 + $15 } END { print t + 0 }'; }
postgres_stats() { for p in $(pgrep -x postgres); do echo "/proc/$p/stat"; done; }

WARM=$(wrk -t "$THREADS" -c "$CONNECTIONS" -d 3s -s bench/token-read.lua "http://127.0.0.1:${PORT}" \
  | awk -F'[ =]' '/^BENCH/ { print $3 }')
PEAK_RSS=0
( while kill -0 "$SERVER_PID" 2>/dev/null; do
    awk '/VmRSS/ { print $2 }' "/proc/$SERVER_PID/status"; sleep 1
  done ) >"$WORK/rss.txt" &
SAMPLER=$!
TETHER_BEFORE=$(ticks "/proc/$SERVER_PID/stat")
PG_BEFORE=$(ticks $(postgres_stats))
# Machine-wide busy and idle ticks (/proc/stat's first line): is the machine saturated?
cpu_line() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $5 + $6, $9 }' /proc/stat; }
read -r BUSY_BEFORE IDLE_BEFORE STEAL_BEFORE < <(cpu_line)
if [[ -n "${BENCH_PERF:-}" ]]; then
  ( sleep 5; perf record -q -a -g -F 199 -o "$BENCH_PERF" -- sleep 10 >/dev/null 2>&1 ) &
fi
START=$(date +%s.%N)
wrk -t "$THREADS" -c "$CONNECTIONS" -d "$DURATION" --latency -s bench/token-read.lua \
  "http://127.0.0.1:${PORT}" | tee "$WORK/wrk.txt"
END=$(date +%s.%N)
TETHER_AFTER=$(ticks "/proc/$SERVER_PID/stat")
PG_AFTER=$(ticks $(postgres_stats))
read -r BUSY_AFTER IDLE_AFTER STEAL_AFTER < <(cpu_line)
kill "$SAMPLER" 2>/dev/null || true
PEAK_RSS=$(sort -n "$WORK/rss.txt" | tail -n 1)
HZ=$(getconf CLK_TCK)

echo
echo "machine: $(nproc) CPUs, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)," \
  "$(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
echo "server peak RSS: $((PEAK_RSS / 1024)) MiB (VmRSS ${PEAK_RSS} kB)"
awk -v t=$((TETHER_AFTER - TETHER_BEFORE)) -v p=$((PG_AFTER - PG_BEFORE)) -v hz="$HZ" \
  -v s="$START" -v e="$END" -v n="$(nproc)" 'BEGIN {
    wall = e - s
    printf "CPU during the run (of %d cores x %.1f s): tether %.1f s (%.0f%% of one core), postgres %.1f s (%.0f%%)\n",
      n, wall, t / hz, 100 * t / hz / wall, p / hz, 100 * p / hz / wall }'
awk -v b=$((BUSY_AFTER - BUSY_BEFORE)) -v i=$((IDLE_AFTER - IDLE_BEFORE)) \
  -v st=$((STEAL_AFTER - STEAL_BEFORE)) 'BEGIN {
  printf "machine during the run: %.0f%% busy (all processes, incl. wrk), %.0f%% idle, %.0f%% stolen by the host\n",
    100 * b / (b + i + st), 100 * i / (b + i + st), 100 * st / (b + i + st) }'
grep '^BENCH' "$WORK/wrk.txt" || true
TETHER_RPS=$(awk -F'[ =]' '/^BENCH/ { for (i = 1; i < NF; i++) if ($i == "rps") print $(i + 1) }' "$WORK/wrk.txt")
echo "tether's database connections using TLS: ${TLS}"
awk -v t="$TETHER_RPS" -v c="$CEILING_RPS" 'BEGIN {
  printf "CEILING tether_rps=%.0f ceiling_rps=%.0f percent=%.1f\n", t, c, 100 * t / c }'

# Phase 2: the same connections offered half of phase 1's maximum (BENCH_RATE to choose),
# with latency measured from when each request was due (oha --latency-correction), so the
# tail is the server's, not the load generator's queue.
RATE=${BENCH_RATE:-$(awk -v t="$TETHER_RPS" 'BEGIN { printf "%d", t / 2 }')}
sed "s|^|http://127.0.0.1:${PORT}/api/v1/integrations/|; s|$|/token|" "$BENCH_IDS_FILE" >"$WORK/urls.txt"
# What PostgreSQL does besides serving tether during phase 2 (the tail's usual suspects):
# checkpoints, and autovacuum workers sampled twice a second over one connection.
checkpoints() { psql -qtA "$ADMIN_URL" -c "SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter"; }
CHECKPOINTS_BEFORE=$(checkpoints)
( while :; do
    echo "SELECT COALESCE(string_agg(query, '; '), '-') FROM pg_stat_activity
      WHERE backend_type = 'autovacuum worker' AND datname = '$DB_NAME';"
    sleep 0.5
  done ) | psql -qtA "$ADMIN_URL" >"$WORK/autovacuum.txt" 2>/dev/null &
AUTOVACUUM_SAMPLER=$!
oha --no-tui --output-format json --latency-correction -c "$CONNECTIONS" -z "$DURATION" -q "$RATE" \
  -H "Authorization: Bearer $BENCH_API_KEY" --urls-from-file "$WORK/urls.txt" >"$WORK/oha.json"
python3 - "$WORK/oha.json" "$RATE" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
s, p = r["summary"], r["latencyPercentiles"]
codes = r.get("statusCodeDistribution", {})
ok = sum(v for k, v in codes.items() if k.startswith("2"))
total = sum(codes.values())
print(f"RATE offered={sys.argv[2]} achieved={s['requestsPerSec']:.0f} p50_ms={p['p50']*1000:.2f} "
      f"p90_ms={p['p90']*1000:.2f} p99_ms={p['p99']*1000:.2f} max_ms={s['slowest']*1000:.2f} "
      f"ok={ok} total={total} success_rate={s['successRate']:.4f}")
PY
kill "$AUTOVACUUM_SAMPLER" 2>/dev/null || true
wait "$AUTOVACUUM_SAMPLER" 2>/dev/null || true
AUTOVACUUM_SAMPLER=""
SAMPLES=$(grep -c . "$WORK/autovacuum.txt" || true)
VACUUMING=$(grep -vc '^-$' "$WORK/autovacuum.txt" || true)
echo "PostgreSQL during phase 2: $(($(checkpoints) - CHECKPOINTS_BEFORE)) checkpoint(s);" \
  "autovacuum at work in ${VACUUMING} of ${SAMPLES} samples" \
  "($(grep -v '^-$' "$WORK/autovacuum.txt" | tr ';' '\n' | sed 's/^ *autovacuum: //' | sort | uniq -c | sort -rn | head -n 3 | awk '{ $1 = $1 " x"; print }' | paste -sd ',' - || true))"
OHA_RUN=$(python3 -c "import json,sys; print(sum(json.load(open(sys.argv[1])).get('statusCodeDistribution', {}).values()))" "$WORK/oha.json")
AUDIT_BEFORE_STOP=$(psql -qtA "$DB_URL" -c "SELECT COUNT(*) FROM audit_log WHERE action = 'token_read'")
kill -TERM "$SERVER_PID"
wait "$SERVER_PID" || true
SERVER_PID=""
AUDIT=$(psql -qtA "$DB_URL" -c "SELECT COUNT(*) FROM audit_log WHERE action = 'token_read'")
USED=$(psql -qtA "$DB_URL" -c "SELECT COUNT(*) FROM integrations WHERE last_used_at IS NOT NULL")
RUN=$(awk -F'[ =]' '/^BENCH/ { print $3 }' "$WORK/wrk.txt")
READS=$(psql -qtA "$DB_URL" -c "SELECT COALESCE(SUM(COALESCE((detail::jsonb ->> 'count')::bigint, 1)), 0) FROM audit_log WHERE action = 'token_read'")
echo "token reads answered (counted by wrk and oha, incl. warm-up and the check): $((WARM + RUN + OHA_RUN + 1))"
echo "token reads in the audit trail: ${READS} (in ${AUDIT} records after shutdown, ${AUDIT_BEFORE_STOP} before;" \
  "identical reads share a record with a count); integrations with last_used_at: ${USED}/${INTEGRATIONS}"
