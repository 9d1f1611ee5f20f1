#!/usr/bin/env bash
# Refresh-scheduler benchmark (docs/performance.md, issue 8): builds the release binaries,
# creates a throwaway PostgreSQL database, migrates it and seeds BENCH_INTEGRATIONS Google
# integrations whose tokens are due now, pointing at a loopback token endpoint
# (tether-bench-token-endpoint) that answers after BENCH_DELAY_MS and rotates refresh tokens
# with reuse detection. Phase 1 starts one `tether serve` replica; phase 2 makes every
# integration due again and starts BENCH_REPLICAS_MAX replicas on the same PostgreSQL and
# Redis. Each phase lasts until the endpoint has answered BENCH_INTEGRATIONS refreshes (or
# BENCH_DEADLINE_SECS passed) and prints one SCHED line: refreshes/s, time to drain, scheduler
# lag p50/p99, duplicate refreshes (reuse seen by the endpoint), integrations not active, and
# the CPU tether, PostgreSQL and the endpoint used. A verdict against the targets follows.
# Stops every process it started and drops the database on exit, whatever happens.
#
# Settings (environment): BENCH_PG_ADMIN_URL (postgres://postgres@127.0.0.1:5432/postgres),
# BENCH_INTEGRATIONS (100000), BENCH_DELAY_MS (50), BENCH_REPLICAS_MAX (3), BENCH_PORT (18180:
# replicas listen on PORT, PORT+1, …), BENCH_ENDPOINT_PORT (18190), BENCH_DB_POOL (each
# replica's TETHER_DB_MAX_CONNECTIONS, 20), BENCH_SEED_CONNECTIONS (16), BENCH_DEADLINE_SECS
# (600 per phase), BENCH_SETTLE_SECS (5: kept running after the last refresh so late
# duplicates are seen), BENCH_SKIP_BUILD (1 to reuse the release binaries), BENCH_PERF (a path:
# record a system-wide `perf` profile of 10 s of the last phase there).
# Scheduler settings, passed as TETHER_SCHEDULER_* unless BENCH_SCHEDULER_ENV=0 (for a tether
# that does not know them yet): BENCH_INTERVAL_SECS (10), BENCH_BATCH (200),
# BENCH_CONCURRENCY (128), BENCH_PROVIDER_CONCURRENCY (64): tether's defaults.
set -euo pipefail

cd "$(dirname "$0")/.."
ADMIN_URL=${BENCH_PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
INTEGRATIONS=${BENCH_INTEGRATIONS:-100000}
DELAY_MS=${BENCH_DELAY_MS:-50}
REPLICAS_MAX=${BENCH_REPLICAS_MAX:-3}
PORT=${BENCH_PORT:-18180}
ENDPOINT_PORT=${BENCH_ENDPOINT_PORT:-18190}
DB_POOL=${BENCH_DB_POOL:-20}
SEED_CONNECTIONS=${BENCH_SEED_CONNECTIONS:-16}
DEADLINE=${BENCH_DEADLINE_SECS:-600}
SETTLE=${BENCH_SETTLE_SECS:-5}
DB_NAME="tether_bench_sched_$$"
DB_URL="${ADMIN_URL%/*}/${DB_NAME}"
REDIS_PREFIX="tether_bench_sched_$$:"
ENDPOINT="http://127.0.0.1:${ENDPOINT_PORT}"
WORK=$(mktemp -d)
ENDPOINT_PID=""
REPLICA_PIDS=()

stop() { # PID...: SIGTERM, up to 10 s to finish, then SIGKILL
  local pid
  for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "$@"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
}
cleanup() {
  stop "${REPLICA_PIDS[@]}" ${ENDPOINT_PID:+"$ENDPOINT_PID"}
  psql -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS \"$DB_NAME\" WITH (FORCE)" >/dev/null 2>&1 || true
  if command -v redis-cli >/dev/null; then
    redis-cli -h 127.0.0.1 -p 6379 --scan --pattern "${REDIS_PREFIX}*" 2>/dev/null \
      | xargs -r -n 500 redis-cli -h 127.0.0.1 -p 6379 DEL >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

if (( ENDPOINT_PORT >= PORT && ENDPOINT_PORT < PORT + REPLICAS_MAX )); then
  echo "BENCH_ENDPOINT_PORT ${ENDPOINT_PORT} collides with the replicas' ports ${PORT}.." >&2
  exit 1
fi
if [[ "${BENCH_SKIP_BUILD:-0}" != 1 ]]; then
  cargo build --release -q -p tether-server -p tether-bench
fi
BIN="${CARGO_TARGET_DIR:-target}/release"
TETHER="$BIN/tether"
SEED="$BIN/tether-bench-seed"
TOKEN_ENDPOINT="$BIN/tether-bench-token-endpoint"

# Fernet key: 32 random bytes, url-safe base64.
KEY=$(head -c 32 /dev/urandom | base64 | tr '+/' '-_')
cat >"$WORK/tether.toml" <<EOF
[providers.google.endpoints]
token = "${ENDPOINT}/token"
EOF
export TETHER_CONFIG="$WORK/tether.toml"
export TETHER_DATABASE_URL="$DB_URL"
export TETHER_ENCRYPTION_KEYS="$KEY"
export TETHER_JWT_SECRET="bench-jwt-secret-that-is-long-enough-0123456789"
export TETHER_REDIS_URL="redis://127.0.0.1:6379"
export TETHER_REDIS_KEY_PREFIX="$REDIS_PREFIX"
export TETHER_SANDBOX=off
export TETHER_DB_MAX_CONNECTIONS="$DB_POOL"
export TETHER_LOG_LEVEL=warn
export TETHER_PROVIDER_GOOGLE_CLIENT_ID="bench-client.apps.googleusercontent.com"
export TETHER_PROVIDER_GOOGLE_CLIENT_SECRET="bench-client-secret"
SCHED_ENV=()
if [[ "${BENCH_SCHEDULER_ENV:-1}" != 0 ]]; then
  SCHED_ENV=(
    "TETHER_SCHEDULER_INTERVAL_SECS=${BENCH_INTERVAL_SECS:-10}"
    "TETHER_SCHEDULER_BATCH=${BENCH_BATCH:-200}"
    "TETHER_SCHEDULER_CONCURRENCY=${BENCH_CONCURRENCY:-128}"
    "TETHER_SCHEDULER_PROVIDER_CONCURRENCY=${BENCH_PROVIDER_CONCURRENCY:-64}"
  )
fi

psql -q "$ADMIN_URL" -c "CREATE DATABASE \"$DB_NAME\"" >/dev/null
"$TETHER" migrate up >/dev/null
"$SEED" --due "$DB_URL" "$KEY" "$INTEGRATIONS" "$SEED_CONNECTIONS"
# Statistics as autovacuum would have them after a bulk load: without them PostgreSQL plans
# the scheduler's claim for the few rows it last saw and sorts the whole backlog per claim
# (~90 ms instead of ~0.5 ms at 100,000 due rows). See docs/operations.md.
psql -q "$DB_URL" -c "ANALYZE" >/dev/null

"$TOKEN_ENDPOINT" "$ENDPOINT_PORT" "$DELAY_MS" >"$WORK/endpoint.log" 2>&1 &
ENDPOINT_PID=$!
for _ in $(seq 50); do
  curl -sf "${ENDPOINT}/stats" >/dev/null && break
  kill -0 "$ENDPOINT_PID" 2>/dev/null || { cat "$WORK/endpoint.log"; exit 1; }
  sleep 0.2
done

# CPU ticks (user + system) of one process; 0 once it is gone.
ticks() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ t = $12 + $13 } END { print t + 0 }'; }
# "pid ticks" of the postgres processes working for the bench database or for every database
# (background processes), leaving out backends of other databases on this shared server.
pg_snapshot() {
  psql -qtA "$ADMIN_URL" -c "SELECT pid FROM pg_stat_activity
    WHERE datname = '$DB_NAME' OR backend_type <> 'client backend'" |
    while read -r pid; do echo "$pid $(ticks "$pid")"; done
}
# Ticks the processes of snapshot $2 used since snapshot $1 (a process new in $2 counts whole).
pg_ticks_between() {
  awk 'NR == FNR { before[$1] = $2; next } { t += $2 - ($1 in before ? before[$1] : 0) }
       END { print t + 0 }' "$1" "$2"
}
field() { sed -n "s/.*\"$1\":\(null\|[0-9][0-9]*\).*/\1/p"; }
HZ=$(getconf CLK_TCK)

run_phase() { # REPLICAS
  local replicas=$1 i pid stats refreshes=0 reuse=0 start now elapsed last_report=0
  REPLICA_PIDS=()
  curl -sf -X POST "${ENDPOINT}/stats/reset" >/dev/null
  pg_snapshot >"$WORK/pg-before-$replicas"
  local endpoint_before
  endpoint_before=$(ticks "$ENDPOINT_PID")
  start=$(date +%s.%N)
  for i in $(seq 0 $((replicas - 1))); do
    env "${SCHED_ENV[@]}" TETHER_LISTEN="127.0.0.1:$((PORT + i))" "$TETHER" serve \
      >"$WORK/replica-$replicas-$i.log" 2>&1 &
    REPLICA_PIDS+=($!)
  done
  for i in $(seq 0 $((replicas - 1))); do
    for _ in $(seq 150); do
      curl -sf "http://127.0.0.1:$((PORT + i))/healthz" >/dev/null && break
      kill -0 "${REPLICA_PIDS[$i]}" 2>/dev/null || { cat "$WORK/replica-$replicas-$i.log"; exit 1; }
      sleep 0.2
    done
  done
  if [[ -n "${BENCH_PERF:-}" && "$replicas" == "$REPLICAS_MAX" ]]; then
    ( sleep 5; perf record -q -a -g -F 199 -o "$BENCH_PERF" -- sleep 10 >/dev/null 2>&1 ) &
  fi
  local outcome="deadline"
  while :; do
    sleep 1
    stats=$(curl -sf "${ENDPOINT}/stats" || echo '{}')
    refreshes=$(field refreshes <<<"$stats"); reuse=$(field reuse <<<"$stats")
    now=$(date +%s.%N)
    elapsed=$(awk -v s="$start" -v n="$now" 'BEGIN { printf "%d", n - s }')
    if (( elapsed - last_report >= 10 )); then
      echo "  ${replicas} replica(s), ${elapsed} s: ${refreshes:-?} refreshes, ${reuse:-?} reused" >&2
      last_report=$elapsed
    fi
    if (( ${refreshes:-0} >= INTEGRATIONS )); then outcome="drained"; break; fi
    (( elapsed >= DEADLINE )) && break
    local alive=0
    for pid in "${REPLICA_PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    (( alive )) || { outcome="replicas died"; break; }
  done
  [[ "$outcome" == drained ]] && sleep "$SETTLE"
  local tether_ticks=0
  for pid in "${REPLICA_PIDS[@]}"; do tether_ticks=$((tether_ticks + $(ticks "$pid"))); done
  pg_snapshot >"$WORK/pg-after-$replicas"
  local endpoint_ticks=$(( $(ticks "$ENDPOINT_PID") - endpoint_before ))
  local pg_ticks
  pg_ticks=$(pg_ticks_between "$WORK/pg-before-$replicas" "$WORK/pg-after-$replicas")
  stats=$(curl -sf "${ENDPOINT}/stats")
  stop "${REPLICA_PIDS[@]}"
  for i in $(seq 0 $((replicas - 1))); do
    grep -q . "$WORK/replica-$replicas-$i.log" &&
      { echo "  replica $i said (last 5 lines):"; tail -n 5 "$WORK/replica-$replicas-$i.log"; } >&2
  done
  REPLICA_PIDS=()
  # Lag: every integration was due before the replicas started, so an integration's lag is
  # its refresh time minus the phase start (the later of when it fell due and when a replica
  # could have taken it).
  local sql
  sql=$(psql -qtA -F' ' "$DB_URL" -c "
    SELECT count(*) FILTER (WHERE last_refreshed_at >= to_timestamp($start)),
      coalesce(round((percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM
        last_refreshed_at - to_timestamp($start)))
        FILTER (WHERE last_refreshed_at >= to_timestamp($start)))::numeric, 2)::text, 'n/a'),
      coalesce(round((percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM
        last_refreshed_at - to_timestamp($start)))
        FILTER (WHERE last_refreshed_at >= to_timestamp($start)))::numeric, 2)::text, 'n/a'),
      count(*) FILTER (WHERE status <> 'active')
    FROM integrations")
  local rows p50 p99 not_active
  read -r rows p50 p99 not_active <<<"$sql"
  local line
  line=$(awk -v r="$replicas" -v n="$(field refreshes <<<"$stats")" -v dup="$(field reuse <<<"$stats")" \
    -v unk="$(field unknown <<<"$stats")" -v first="$(field first_at_ms <<<"$stats")" \
    -v last="$(field last_at_ms <<<"$stats")" -v s="$start" -v rows="$rows" -v p50="$p50" \
    -v p99="$p99" -v na="$not_active" -v t="$tether_ticks" -v p="$pg_ticks" -v e="$endpoint_ticks" \
    -v hz="$HZ" -v outcome="$outcome" 'BEGIN {
      span = (last != "null" && first != "null") ? (last - first) / 1000 : 0
      per_s = span > 0 ? n / span : 0
      drain = last != "null" ? last / 1000 - s : -1
      printf "SCHED replicas=%d refreshes=%d per_s=%.0f drain_s=%.1f lag_p50_s=%s lag_p99_s=%s duplicates=%d not_active=%d tether_cpu_s=%.1f pg_cpu_s=%.1f endpoint_cpu_s=%.1f unknown=%d refreshed_rows=%d outcome=%s\n",
        r, n, per_s, drain, p50, p99, dup, na, t / hz, p / hz, e / hz, unk, rows, outcome }')
  echo "$line"
  echo "$line" >>"$WORK/sched.txt"
}

echo "machine: $(nproc) CPUs, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)," \
  "$(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)," \
  "$(psql -qtA "$ADMIN_URL" -c 'SHOW server_version' | cut -d' ' -f1 | sed 's/^/PostgreSQL /')"
echo "command: $(env | grep '^BENCH_' | sort | tr '\n' ' ')bench/scheduler.sh"
echo "settings: ${INTEGRATIONS} integrations, endpoint delay ${DELAY_MS} ms, db pool ${DB_POOL}" \
  "per replica, scheduler: ${SCHED_ENV[*]:-the defaults of this tether (BENCH_SCHEDULER_ENV=0)}"

run_phase 1
if (( REPLICAS_MAX > 1 )); then
  psql -q "$DB_URL" -c "UPDATE integrations SET next_refresh_at = now()" >/dev/null
  run_phase "$REPLICAS_MAX"
fi

# Verdict against the targets of issue 8.
awk -v n="$INTEGRATIONS" -v max="$REPLICAS_MAX" '
  { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[NR, kv[1]] = kv[2] } }
  function check(ok, what) { printf "%s %s\n", ok ? "PASS" : "FAIL", what; if (!ok) bad = 1 }
  END {
    for (p = 1; p <= NR; p++) {
      r = v[p, "replicas"]
      check(v[p, "per_s"] >= 500, sprintf("%d replica(s): >= 500 refreshes/s (%s)", r, v[p, "per_s"]))
      check(v[p, "refreshes"] >= n && v[p, "drain_s"] >= 0 && v[p, "drain_s"] <= 240,
        sprintf("%d replica(s): %d refreshed within 240 s (%s of them in %s s)", r, n, v[p, "refreshes"], v[p, "drain_s"]))
      check(v[p, "duplicates"] == 0, sprintf("%d replica(s): 0 duplicate refreshes (%s)", r, v[p, "duplicates"]))
      check(v[p, "not_active"] == 0, sprintf("%d replica(s): every integration active (%s not)", r, v[p, "not_active"]))
    }
    if (NR > 1)
      check(v[NR, "per_s"] >= v[1, "per_s"],
        sprintf("%d replicas at least as fast as 1 (%s vs %s refreshes/s)", max, v[NR, "per_s"], v[1, "per_s"]))
    print bad ? "VERDICT: FAIL" : "VERDICT: PASS"
  }' "$WORK/sched.txt"
