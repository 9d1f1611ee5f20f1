-- wrk script for bench/token-read.sh: GET /api/v1/integrations/{id}/token with a service key,
-- spreading requests over the seeded integration ids (BENCH_IDS_FILE) and reporting
-- percentiles in one parseable line.

local ids = {}
local next_id = 1
local auth = "Bearer " .. os.getenv("BENCH_API_KEY")

function init(args)
  for line in io.lines(os.getenv("BENCH_IDS_FILE")) do
    if #line > 0 then ids[#ids + 1] = line end
  end
  -- Each thread starts at a different place in the list.
  next_id = (math.random(#ids) % #ids) + 1
end

function request()
  local id = ids[next_id]
  next_id = (next_id % #ids) + 1
  return wrk.format("GET", "/api/v1/integrations/" .. id .. "/token", { ["Authorization"] = auth })
end

function done(summary, latency, requests)
  local non_2xx = summary.errors.status
  io.write(string.format(
    "BENCH requests=%d duration_s=%.2f rps=%.0f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f non2xx=%d socket_errors=%d\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, non_2xx,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
