#!/usr/bin/env bash
# Webhook delivery benchmark (docs/performance.md, issue 11): builds the release binaries,
# creates a throwaway PostgreSQL database, migrates it, registers one webhook endpoint
# (`tether webhooks create`) pointing at a loopback receiver (tether-bench-webhook-receiver)
# that checks every signature and fails the first attempt of about half the events, starts
# BENCH_REPLICAS `tether serve` replicas (their delivery workers share the work), then writes
# BENCH_INTEGRATIONS × BENCH_PER_INTEGRATION status transitions through the storage API
# (tether-bench-transitions: a connect, then degraded/recovered flips, each integration's in
# order). It waits until the receiver has accepted every event (or BENCH_DEADLINE_SECS), keeps
# running BENCH_SETTLE_SECS to catch late repeats, and prints one EVENTS line: transitions
# written and their rate, events delivered, lost, repeated and out of order, the end-to-end
# delay (event → accepted delivery) p50/p99 overall and for events accepted at their first
# attempt, deliveries/s, and the CPU tether, PostgreSQL, the generator and the receiver used.
# A verdict follows: every event delivered, none lost, none out of its integration's order,
# every signature valid. Stops every process it started and drops the database on exit,
# whatever happens.
#
# Settings (environment): BENCH_PG_ADMIN_URL (postgres://postgres@127.0.0.1:5432/postgres),
# BENCH_INTEGRATIONS (2000), BENCH_PER_INTEGRATION (5: 10,000 transitions), BENCH_CONCURRENCY
# (16 integrations written at once), BENCH_REPLICAS (2), BENCH_PORT (18280: replicas listen on
# PORT, PORT+1, …), BENCH_RECEIVER_PORT (18290), BENCH_DB_POOL (each replica's
# TETHER_DB_MAX_CONNECTIONS, 10), BENCH_WEBHOOK_CONCURRENCY (tether's default, 32),
# BENCH_DEADLINE_SECS (300), BENCH_SETTLE_SECS (5), BENCH_FAIL_FIRST (1: the receiver fails
# the first attempt of about half the events; 0: it accepts everything at once), BENCH_BACKLOG
# (0; 1: start the replicas only once every transition is written, to measure how fast they
# drain a backlog — delays then include the wait), BENCH_SKIP_BUILD (1 to reuse the release
# binaries).
set -euo pipefail

cd "$(dirname "$0")/.."
ADMIN_URL=${BENCH_PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
INTEGRATIONS=${BENCH_INTEGRATIONS:-2000}
PER_INTEGRATION=${BENCH_PER_INTEGRATION:-5}
CONCURRENCY=${BENCH_CONCURRENCY:-16}
REPLICAS=${BENCH_REPLICAS:-2}
PORT=${BENCH_PORT:-18280}
RECEIVER_PORT=${BENCH_RECEIVER_PORT:-18290}
DB_POOL=${BENCH_DB_POOL:-10}
DEADLINE=${BENCH_DEADLINE_SECS:-300}
SETTLE=${BENCH_SETTLE_SECS:-5}
FAIL_FIRST=${BENCH_FAIL_FIRST:-1}
BACKLOG=${BENCH_BACKLOG:-0}
TOTAL=$((INTEGRATIONS * PER_INTEGRATION))
DB_NAME="tether_bench_events_$$"
DB_URL="${ADMIN_URL%/*}/${DB_NAME}"
RECEIVER="http://127.0.0.1:${RECEIVER_PORT}"
WORK=$(mktemp -d)
RECEIVER_PID=""
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
  stop "${REPLICA_PIDS[@]}" ${RECEIVER_PID:+"$RECEIVER_PID"}
  psql -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS \"$DB_NAME\" WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

if (( RECEIVER_PORT >= PORT && RECEIVER_PORT < PORT + REPLICAS )); then
  echo "BENCH_RECEIVER_PORT ${RECEIVER_PORT} collides with the replicas' ports ${PORT}.." >&2
  exit 1
fi
if [[ "${BENCH_SKIP_BUILD:-0}" != 1 ]]; then
  cargo build --release -q -p tether-server -p tether-bench
fi
BIN="${CARGO_TARGET_DIR:-target}/release"
TETHER="$BIN/tether"
TRANSITIONS="$BIN/tether-bench-transitions"
RECEIVER_BIN="$BIN/tether-bench-webhook-receiver"

# Fernet key: 32 random bytes, url-safe base64.
KEY=$(head -c 32 /dev/urandom | base64 | tr '+/' '-_')
export TETHER_DATABASE_URL="$DB_URL"
export TETHER_ENCRYPTION_KEYS="$KEY"
export TETHER_JWT_SECRET="bench-jwt-secret-that-is-long-enough-0123456789"
export TETHER_SANDBOX=off
export TETHER_DB_MAX_CONNECTIONS="$DB_POOL"
export TETHER_LOG_LEVEL=warn
# The receiver is on loopback over plain http: allowed for this benchmark only.
export TETHER_WEBHOOKS_ALLOW_HTTP=true
export TETHER_WEBHOOKS_ALLOW_PRIVATE=true
if [[ -n "${BENCH_WEBHOOK_CONCURRENCY:-}" ]]; then
  export TETHER_WEBHOOKS_CONCURRENCY="$BENCH_WEBHOOK_CONCURRENCY"
fi

psql -q "$ADMIN_URL" -c "CREATE DATABASE \"$DB_NAME\"" >/dev/null
"$TETHER" migrate up >/dev/null
"$TETHER" webhooks create --url "${RECEIVER}/hooks" --description "events benchmark" >"$WORK/endpoint.txt"
SECRET=$(awk '$1 ~ /^whsec_/ { print $1 }' "$WORK/endpoint.txt")
[[ -n "$SECRET" ]] || { cat "$WORK/endpoint.txt"; exit 1; }

"$RECEIVER_BIN" "$RECEIVER_PORT" "$SECRET" "$([[ "$FAIL_FIRST" == 1 ]] && echo half || echo none)" \
  >"$WORK/receiver.log" 2>&1 &
RECEIVER_PID=$!
for _ in $(seq 50); do
  curl -sf "${RECEIVER}/stats" >/dev/null && break
  kill -0 "$RECEIVER_PID" 2>/dev/null || { cat "$WORK/receiver.log"; exit 1; }
  sleep 0.2
done

start_replicas() {
  local i
  for i in $(seq 0 $((REPLICAS - 1))); do
    TETHER_LISTEN="127.0.0.1:$((PORT + i))" "$TETHER" serve >"$WORK/replica-$i.log" 2>&1 &
    REPLICA_PIDS+=($!)
  done
  for i in $(seq 0 $((REPLICAS - 1))); do
    for _ in $(seq 150); do
      curl -sf "http://127.0.0.1:$((PORT + i))/healthz" >/dev/null && break
      kill -0 "${REPLICA_PIDS[$i]}" 2>/dev/null || { cat "$WORK/replica-$i.log"; exit 1; }
      sleep 0.2
    done
  done
}
[[ "$BACKLOG" == 1 ]] || start_replicas

# CPU ticks (user + system) of one process; 0 once it is gone.
ticks() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ t = $12 + $13 } END { print t + 0 }'; }
# "pid ticks" of the postgres processes working for the bench database or for every database
# (background processes), leaving out backends of other databases on this shared server.
pg_snapshot() {
  psql -qtA "$ADMIN_URL" -c "SELECT pid FROM pg_stat_activity
    WHERE datname = '$DB_NAME' OR backend_type <> 'client backend'" |
    while read -r pid; do echo "$pid $(ticks "$pid")"; done
}
pg_ticks_between() {
  awk 'NR == FNR { before[$1] = $2; next } { t += $2 - ($1 in before ? before[$1] : 0) }
       END { print t + 0 }' "$1" "$2"
}
# A number (or null) from the receiver's flat JSON.
field() { sed -n "s/.*\"$1\":\(null\|-\?[0-9][0-9.e+-]*\).*/\1/p"; }
HZ=$(getconf CLK_TCK)

echo "machine: $(nproc) CPUs, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)," \
  "$(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)," \
  "$(psql -qtA "$ADMIN_URL" -c 'SHOW server_version' | cut -d' ' -f1 | sed 's/^/PostgreSQL /')"
echo "command: $(env | grep '^BENCH_' | sort | tr '\n' ' ')bench/events.sh"
echo "settings: ${INTEGRATIONS} integrations x ${PER_INTEGRATION} transitions = ${TOTAL} events," \
  "${CONCURRENCY} written at once, ${REPLICAS} replica(s), db pool ${DB_POOL} per replica," \
  "webhook concurrency ${TETHER_WEBHOOKS_CONCURRENCY:-32} per replica," \
  "receiver fails first attempts: $([[ "$FAIL_FIRST" == 1 ]] && echo half || echo none)," \
  "$([[ "$BACKLOG" == 1 ]] && echo "replicas start after the writes (backlog)" || echo "replicas running while writing")"

pg_snapshot >"$WORK/pg-before"
tether_before=0
for pid in "${REPLICA_PIDS[@]}"; do tether_before=$((tether_before + $(ticks "$pid"))); done
receiver_before=$(ticks "$RECEIVER_PID")
start=$(date +%s.%N)
"$TRANSITIONS" "$DB_URL" "$KEY" "$INTEGRATIONS" "$PER_INTEGRATION" "$CONCURRENCY" \
  >"$WORK/transitions.txt" 2>"$WORK/transitions.log" &
GEN_PID=$!
gen_ticks=0
while kill -0 "$GEN_PID" 2>/dev/null; do
  gen_ticks=$(ticks "$GEN_PID")
  sleep 0.2
done
wait "$GEN_PID" || { cat "$WORK/transitions.log"; exit 1; }
GENERATED=$(cat "$WORK/transitions.txt")
echo "  ${GENERATED}" >&2
if [[ "$BACKLOG" == 1 ]]; then
  start=$(date +%s.%N)
  start_replicas
fi

outcome="deadline"
last_report=0
while :; do
  stats=$(curl -sf "${RECEIVER}/stats" || echo '{}')
  delivered=$(field delivered <<<"$stats")
  elapsed=$(awk -v s="$start" -v n="$(date +%s.%N)" 'BEGIN { printf "%d", n - s }')
  if (( elapsed - last_report >= 10 )); then
    echo "  ${elapsed} s: ${delivered:-?} of ${TOTAL} delivered" >&2
    last_report=$elapsed
  fi
  if (( ${delivered:-0} >= TOTAL )); then outcome="delivered"; break; fi
  (( elapsed >= DEADLINE )) && break
  sleep 0.5
done
[[ "$outcome" == delivered ]] && sleep "$SETTLE"

tether_ticks=0
for pid in "${REPLICA_PIDS[@]}"; do tether_ticks=$((tether_ticks + $(ticks "$pid"))); done
tether_ticks=$((tether_ticks - tether_before))
receiver_ticks=$(( $(ticks "$RECEIVER_PID") - receiver_before ))
pg_snapshot >"$WORK/pg-after"
pg_ticks=$(pg_ticks_between "$WORK/pg-before" "$WORK/pg-after")
stats=$(curl -sf "${RECEIVER}/stats")
read -r events pending failed delivered_rows <<<"$(psql -qtA -F' ' "$DB_URL" -c "
  SELECT (SELECT count(*) FROM events),
    count(*) FILTER (WHERE status = 'pending'), count(*) FILTER (WHERE status = 'failed'),
    count(*) FILTER (WHERE status = 'delivered')
  FROM webhook_deliveries")"
stop "${REPLICA_PIDS[@]}"
for i in $(seq 0 $((REPLICAS - 1))); do
  grep -q . "$WORK/replica-$i.log" &&
    { echo "  replica $i said (last 5 lines):"; tail -n 5 "$WORK/replica-$i.log"; } >&2
done
REPLICA_PIDS=()

ms() { awk -v v="$1" 'BEGIN { if (v == "" || v == "null") print "n/a"; else printf "%.0f", v }'; }
line=$(awk -v generated="$GENERATED" -v events="$events" -v rows="$delivered_rows" \
  -v pending="$pending" -v failed="$failed" \
  -v delivered="$(field delivered <<<"$stats")" -v requests="$(field requests <<<"$stats")" \
  -v retried="$(field failed_on_purpose <<<"$stats")" -v dup="$(field duplicates <<<"$stats")" \
  -v order="$(field out_of_order <<<"$stats")" -v bad="$(field bad_signatures <<<"$stats")" \
  -v p50="$(ms "$(field delay_p50_ms <<<"$stats")")" -v p99="$(ms "$(field delay_p99_ms <<<"$stats")")" \
  -v max="$(ms "$(field delay_max_ms <<<"$stats")")" \
  -v ft="$(field first_try <<<"$stats")" \
  -v fp50="$(ms "$(field first_try_delay_p50_ms <<<"$stats")")" \
  -v fp99="$(ms "$(field first_try_delay_p99_ms <<<"$stats")")" \
  -v first="$(field first_at_ms <<<"$stats")" -v last="$(field last_at_ms <<<"$stats")" \
  -v s="$start" -v t="$tether_ticks" -v p="$pg_ticks" -v g="$gen_ticks" -v r="$receiver_ticks" \
  -v hz="$HZ" -v outcome="$outcome" 'BEGIN {
    split(generated, parts, " "); for (i in parts) { split(parts[i], kv, "="); gen[kv[1]] = kv[2] }
    span = (last != "null" && first != "null" && last > first) ? (last - first) / 1000 : 0
    drain = last != "null" ? last / 1000 - s : -1
    printf "EVENTS transitions=%d written_per_s=%s events=%d delivered=%d lost=%d repeats=%d out_of_order=%d bad_signatures=%d first_attempts_failed=%d requests=%d delay_p50_ms=%s delay_p99_ms=%s delay_max_ms=%s first_try=%d first_try_delay_p50_ms=%s first_try_delay_p99_ms=%s deliveries_per_s=%.0f drain_s=%.1f rows_delivered=%d rows_pending=%d rows_failed=%d tether_cpu_s=%.1f pg_cpu_s=%.1f generator_cpu_s=%.1f receiver_cpu_s=%.1f outcome=%s\n",
      gen["count"], gen["per_s"], events, delivered, events - delivered, dup, order, bad, retried,
      requests, p50, p99, max, ft, fp50, fp99, (span > 0 ? delivered / span : 0), drain, rows,
      pending, failed, t / hz, p / hz, g / hz, r / hz, outcome }')
echo "$line"

awk -v total="$TOTAL" -v fail="$FAIL_FIRST" '
  { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
  function check(ok, what) { printf "%s %s\n", ok ? "PASS" : "FAIL", what; if (!ok) bad = 1 }
  END {
    check(v["transitions"] == total && v["events"] == total,
      sprintf("%d transitions wrote %d events (%s)", total, total, v["events"]))
    check(v["delivered"] == v["events"] && v["rows_delivered"] == v["events"],
      sprintf("every event delivered (%s of %s; %s rows delivered)", v["delivered"], v["events"], v["rows_delivered"]))
    check(v["lost"] == 0 && v["rows_pending"] == 0 && v["rows_failed"] == 0,
      sprintf("none lost (%s lost, %s pending, %s failed)", v["lost"], v["rows_pending"], v["rows_failed"]))
    check(v["out_of_order"] == 0, sprintf("each integration in order (%s out of order)", v["out_of_order"]))
    check(v["bad_signatures"] == 0, sprintf("every signature valid (%s bad)", v["bad_signatures"]))
    if (fail) check(v["first_attempts_failed"] > 0, sprintf("the receiver failed first attempts (%s)", v["first_attempts_failed"]))
    print bad ? "VERDICT: FAIL" : "VERDICT: PASS"
  }' <<<"$line"
