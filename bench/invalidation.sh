#!/usr/bin/env bash
# Cross-replica cache invalidation (docs/performance.md): builds the release binaries, creates a
# throwaway PostgreSQL database, seeds BENCH_SAMPLES integrations with valid tokens and a
# service key, starts BENCH_REPLICAS `tether serve` replicas on one database (and one Redis,
# unless BENCH_BUS=postgres), each with a read cache whose entries would live an hour, and waits
# until every replica's /readyz says its cache is coherent. Then, for each integration, it
# reads the token on every replica but the first (filling their caches), disconnects it on the
# first replica while pollers read it back to back on the others, and measures how long after
# the disconnect's answer each other replica stopped serving it (tether-bench-invalidation).
# Fails if any replica serves the token again after refusing it.
#
# Settings (environment): BENCH_PG_ADMIN_URL (postgres://postgres@127.0.0.1:5432/postgres),
# BENCH_REDIS_URL (redis://127.0.0.1:6379), BENCH_BUS (redis or postgres; default redis),
# BENCH_REPLICAS (3), BENCH_SAMPLES (200), BENCH_PORT (18180; replicas use the next ports too),
# BENCH_SKIP_BUILD (1 to reuse the release binaries), BENCH_PG_SSLMODE (as in token-read.sh).
set -euo pipefail

cd "$(dirname "$0")/.."
ADMIN_URL=${BENCH_PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
REDIS_URL=${BENCH_REDIS_URL:-redis://127.0.0.1:6379}
BUS=${BENCH_BUS:-redis}
REPLICAS=${BENCH_REPLICAS:-3}
SAMPLES=${BENCH_SAMPLES:-200}
PORT=${BENCH_PORT:-18180}
DB_NAME="tether_bench_inval_$$"
DB_URL="${ADMIN_URL%/*}/${DB_NAME}"
TETHER_DB_URL="$DB_URL${BENCH_PG_SSLMODE:+?sslmode=$BENCH_PG_SSLMODE}"
WORK=$(mktemp -d)
PIDS=()

cleanup() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  psql -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS \"$DB_NAME\" WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

case "$BUS" in
  redis | postgres) ;;
  *) echo "BENCH_BUS must be redis or postgres, not '$BUS'" >&2; exit 2 ;;
esac
if [[ "${BENCH_SKIP_BUILD:-0}" != 1 ]]; then
  cargo build --release -q -p tether-server -p tether-bench
fi
RELEASE="${CARGO_TARGET_DIR:-target}/release"

KEY=$(head -c 32 /dev/urandom | base64 | tr '+/' '-_')
export TETHER_DATABASE_URL="$TETHER_DB_URL"
export TETHER_ENCRYPTION_KEYS="$KEY"
export TETHER_JWT_SECRET="bench-jwt-secret-that-is-long-enough-0123456789"
export TETHER_RATE_LIMIT_API_PER_MINUTE=1000000000
export TETHER_LOG_LEVEL=warn
# Entries that would outlive the run: only an invalidation ends them.
export TETHER_READ_CACHE_MS=60000
export TETHER_READ_CACHE_COHERENT_SECS=3600
if [[ "$BUS" == redis ]]; then
  export TETHER_REDIS_URL="$REDIS_URL"
  export TETHER_REDIS_KEY_PREFIX="bench-$$:"
fi

psql -q "$ADMIN_URL" -c "CREATE DATABASE \"$DB_NAME\"" >/dev/null
"$RELEASE/tether" migrate up >/dev/null
API_KEY=$("$RELEASE/tether-bench-seed" "$DB_URL" "$KEY" "$SAMPLES" "$WORK/ids.txt")

BASES=()
for n in $(seq 0 $((REPLICAS - 1))); do
  port=$((PORT + n))
  TETHER_LISTEN="127.0.0.1:${port}" "$RELEASE/tether" serve >"$WORK/replica-$n.log" 2>&1 &
  PIDS+=($!)
  BASES+=("http://127.0.0.1:${port}")
done
for n in "${!BASES[@]}"; do
  mode=""
  for _ in $(seq 150); do
    mode=$(curl -s "${BASES[$n]}/readyz" | python3 -c \
      'import json,sys; print(json.load(sys.stdin)["detail"]["read_cache"])' 2>/dev/null || true)
    [[ "$mode" == "coherent ($BUS)" ]] && break
    kill -0 "${PIDS[$n]}" 2>/dev/null || { cat "$WORK/replica-$n.log"; exit 1; }
    sleep 0.2
  done
  [[ "$mode" == "coherent ($BUS)" ]] || { echo "replica $n: read cache '$mode'"; cat "$WORK/replica-$n.log"; exit 1; }
done

echo "machine: $(nproc) CPUs, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)"
echo "bus: $BUS, replicas: $REPLICAS, samples: $SAMPLES (disconnects on ${BASES[0]})"
"$RELEASE/tether-bench-invalidation" "$API_KEY" "$WORK/ids.txt" "$SAMPLES" "${BASES[@]}"
