-- wrk: one vote per request, each line of the seed file a distinct (voter, proof of
-- work, Idempotency-Key); counts the 201s per thread so the total can be compared with
-- the rows in the vote log. Args: seed file, round id, delay ms between requests (per
-- connection), number of wrk threads.
local threads = {}
local id, nthreads = 0, 1

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  nthreads = #threads > 0 and #threads or 2
  path = "/api/v1/voting-rounds/" .. args[2] .. "/votes"
  pause = tonumber(args[3] or "0")
  local n = tonumber(args[4] or "2")
  lines = {}
  local i = 0
  for line in io.lines(args[1]) do
    if i % n == tonumber(wrk.thread:get("id")) then
      -- Formatted now, not per request: the load generator shares the machine's cores
      -- with the server and PostgreSQL, so its own cost per vote is kept small.
      local token, entry, pow, key = line:match("([^\t]+)\t([^\t]+)\t([^\t]+)\t([^\t]+)")
      table.insert(lines, wrk.format("POST", path, {
        ["Authorization"] = "Bearer " .. token,
        ["Idempotency-Key"] = key,
        ["Content-Type"] = "application/json",
      }, '{"entry_id":"' .. entry .. '","pow":"' .. pow .. '"}'))
    end
    i = i + 1
  end
  next_line = 1
  idle = wrk.format("GET", "/livez")
  created, others, exhausted = 0, 0, 0
end

function request()
  local req = lines[next_line]
  if req == nil then
    exhausted = exhausted + 1
    return idle
  end
  next_line = next_line + 1
  return req
end

function delay()
  return pause
end

-- Counting each answer's status costs the load generator a Lua call, a headers table and
-- the body's string per request (and their garbage collection). With WRK_TALLY=1 in the
-- environment it does (wrk decides when it loads the script, before init); otherwise
-- the run is counted from wrk's own summary (every vote in the seed is distinct, so a 2xx
-- is a 201, and wrk counts the statuses over 399 itself).
if os.getenv("WRK_TALLY") == "1" then
  function response(status, headers, body)
    if status == 201 then created = created + 1 elseif status ~= 200 then others = others + 1 end
  end
end

function done(summary, latency, requests)
  local c, o, e = 0, 0, 0
  for _, t in ipairs(threads) do
    c = c + tonumber(t:get("created"))
    o = o + tonumber(t:get("others"))
    e = e + tonumber(t:get("exhausted"))
  end
  if c == 0 and o == 0 then
    o = summary.errors.status
    c = summary.requests - o - e
  end
  io.write(string.format("RESULT created=%d refused=%d idle=%d p50_ms=%.2f p99_ms=%.2f requests=%d secs=%.2f\n",
    c, o, e, latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.requests, summary.duration / 1e6))
end
