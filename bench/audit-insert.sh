#!/usr/bin/env bash
# What one audit record costs PostgreSQL (docs/performance.md, "The audit record's cost alone"):
# the `audit_log` table as migration 18 left it (five indexes) against migration 19's (three
# for a token read), in two throwaway databases made by `tether migrate`, written in turns
# by psql with COPY statements as tether's audit writer sends them. It prints PostgreSQL's
# CPU per row for each round, measured from the server's own process times, so the client
# is not counted.
#
# Settings: PGURL (an admin URL, default postgres://postgres@127.0.0.1:5432/postgres),
# BENCH_ROUNDS (3), BENCH_ROWS (400000 per schema per round), BENCH_BATCH (40 rows per COPY),
# BENCH_WRITERS (2 connections writing at once), BENCH_SKIP_BUILD (1 to reuse the release
# binary).
set -euo pipefail

cd "$(dirname "$0")/.."
ADMIN_URL="${PGURL:-postgres://postgres@127.0.0.1:5432/postgres}"
ROUNDS="${BENCH_ROUNDS:-3}"
ROWS="${BENCH_ROWS:-400000}"
BATCH="${BENCH_BATCH:-40}"
WRITERS="${BENCH_WRITERS:-2}"
WORK=$(mktemp -d)
OLD_DB="tether_bench_audit_old_$$"
NEW_DB="tether_bench_audit_new_$$"

cleanup() {
  for db in "$OLD_DB" "$NEW_DB"; do
    psql -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

if [[ "${BENCH_SKIP_BUILD:-0}" != 1 ]]; then
  cargo build --release -q -p tether-server
fi
TETHER="${CARGO_TARGET_DIR:-target}/release/tether"
db_url() { echo "${ADMIN_URL%/*}/$1"; }
schema_url() { # old or new
  if [[ $1 == old ]]; then db_url "$OLD_DB"; else db_url "$NEW_DB"; fi
}
migrate() { # database, arguments
  TETHER_DATABASE_URL="$(db_url "$1")" "$TETHER" migrate "${@:2}" >"$WORK/migrate.log" 2>&1 ||
    { cat "$WORK/migrate.log" >&2; exit 1; }
}

for db in "$OLD_DB" "$NEW_DB"; do
  psql -q "$ADMIN_URL" -c "CREATE DATABASE \"$db\"" >/dev/null
  migrate "$db" up
done
# Migration 19 is the newest when this script was written; take back exactly that one.
migrate "$OLD_DB" down --steps 1
for db in "$OLD_DB" "$NEW_DB"; do
  echo "$db: $(psql -qAt "$(db_url "$db")" -c \
    "SELECT string_agg(indexname, ' ' ORDER BY indexname) FROM pg_indexes WHERE tablename = 'audit_log'")"
done

# A script of COPY statements, as tether's audit writer sends them: BENCH_ROWS rows shaped
# like token reads (a time-ordered id, one of 1,000 integrations and their users, an API key
# as the actor, no scopes and no detail), BENCH_BATCH per COPY, each COPY its own commit.
# $1: the file, $2: which of the writers (ids stay unique across files and runs).
copy_script() {
  local base seconds k
  base=$(date +%s%3N)
  # Each record's created_at (20 a millisecond, as the ids): the seconds it spans, written
  # out by date(1), since awk has no portable time formatting.
  seconds=$(for k in $(seq 0 $((ROWS / WRITERS / 20000 + 1))); do
    date -u -d "@$((base / 1000 + k))" +%Y-%m-%dT%H:%M:%S
  done | paste -sd,)
  awk -v rows="$((ROWS / WRITERS))" -v batch="$BATCH" -v writer="$2" -v base="$base" \
    -v seconds="$seconds" -v seed="$RANDOM" 'BEGIN {
      srand(seed)
      split(seconds, second, ",")
      for (i = 0; i < rows; i++) {
        if (i % batch == 0) {
          if (i > 0) print "\\."
          print "COPY audit_log (id, integration_id, user_id, actor, actor_id, action, provider, " \
            "scopes, ip_address, user_agent, success, error_message, detail, created_at) FROM STDIN;"
        }
        ms = base + int(i / 20)
        # A quarter of the reads are of one busy integration (a backend that polls one calendar,
        # say): its history page is the one an index must serve without sorting.
        n = rand() < 0.25 ? 0 : int(rand() * 1000)
        printf "%08x-%04x-7%03x-8%03x-%012x\t00000000-0000-7000-8000-%012d\tuser-%d\tapi_key\t" \
          "0190a5c4-1d2e-7000-8000-000000000001\ttoken_read\tgoogle\t\\N\t127.0.0.1\tbench/1\t" \
          "t\t\\N\t\\N\t%s.%03d%03dZ\n", int(ms / 65536), ms % 65536, writer, 0, i, n, n,
          second[int(ms / 1000) - int(base / 1000) + 1], ms % 1000, i % 1000
      }
      print "\\."
    }' >"$1"
}
# CPU ticks of the whole cluster: the postmaster's own and its reaped children's, plus
# every live child's (backends, WAL writer, checkpointer).
cluster_ticks() {
  local pm total t
  pm=$(head -1 "$(psql -qAt "$ADMIN_URL" -c 'SHOW data_directory')/postmaster.pid")
  total=$(awk '{print $14 + $15 + $16 + $17}' "/proc/$pm/stat")
  for p in $(pgrep -P "$pm"); do
    t=$(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)
    total=$((total + ${t:-0}))
  done
  echo "$total"
}
HZ=$(getconf CLK_TCK)

for round in $(seq "$ROUNDS"); do
  for which in old new; do
    url=$(schema_url "$which")
    for w in $(seq "$WRITERS"); do copy_script "$WORK/copy-$w.sql" "$((round * 16 + w))"; done
    wal_before=$(psql -qAt "$ADMIN_URL" -c "SELECT pg_current_wal_lsn()")
    before=$(cluster_ticks)
    start=$(date +%s.%N)
    for w in $(seq "$WRITERS"); do
      psql -q -v ON_ERROR_STOP=1 -f "$WORK/copy-$w.sql" "$url" >/dev/null &
    done
    wait
    end=$(date +%s.%N)
    after=$(cluster_ticks)
    wal=$(psql -qAt "$ADMIN_URL" -c "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '$wal_before')")
    rows=$(((ROWS / WRITERS) * WRITERS))
    awk -v t=$((after - before)) -v hz="$HZ" -v r="$rows" -v s0="$start" -v s1="$end" \
      -v round="$round" -v which="$which" -v wal="$wal" 'BEGIN {
        printf "AUDIT round=%d schema=%s rows=%d rows_per_s=%d postgres_cpu_us_per_row=%.1f wal_bytes_per_row=%d\n",
          round, which, r, r / (s1 - s0), t / hz * 1e6 / r, wal / r }'
    count=$(psql -qAt "$url" -c "SELECT count(*) FROM audit_log WHERE action = 'token_read'")
    [[ $count == $((rows * round)) ]] || { echo "expected $((rows * round)) rows in $url, found $count" >&2; exit 1; }
  done
done

# What the rows take on disk, and how long the newest page of one integration's history
# takes to read (the repository's query: newest first, 50 rows; the best of 5, so from
# memory), for the busy integration and for an ordinary one.
page() { # schema (old or new), database URL, integration id, label
  local which=$1 best="" ms plan rows
  shift
  rows=$(psql -qAt "$1" -c "SELECT count(*) FROM audit_log WHERE integration_id = '$2'")
  for _ in 1 2 3 4 5; do
    ms=$(psql -qAt "$1" -c "EXPLAIN (ANALYZE, TIMING OFF) SELECT * FROM audit_log \
      WHERE integration_id = '$2' ORDER BY id DESC LIMIT 50" | awk '/Execution Time/ {print $3}')
    best=$(awk -v a="$best" -v b="$ms" 'BEGIN {print (a == "" || b < a) ? b : a}')
  done
  plan=$(psql -qAt "$1" -c "EXPLAIN SELECT * FROM audit_log WHERE integration_id = '$2' \
    ORDER BY id DESC LIMIT 50" | sed 's/ *(cost.*//; s/^ *-> *//' | sed -n '2,3p' | paste -sd'|')
  echo "PAGE schema=$which integration=$3 rows=$rows newest_50_ms=$best plan=\"$plan\""
}
for which in old new; do
  url=$(schema_url "$which")
  psql -q "$url" -c "VACUUM ANALYZE audit_log"
  size=$(psql -qAt "$url" -c "SELECT pg_table_size('audit_log') || ' ' || pg_indexes_size('audit_log') \
    || ' ' || (SELECT count(*) FROM audit_log)")
  read -r table indexes rows <<<"$size"
  echo "SIZE schema=$which rows=$rows table_bytes_per_row=$((table / rows)) index_bytes_per_row=$((indexes / rows))"
  page "$which" "$url" 00000000-0000-7000-8000-000000000000 busy
  page "$which" "$url" 00000000-0000-7000-8000-000000000001 ordinary
done
