-- wrk: every voter fetches a challenge once (as a browser does before solving), which
-- also loads the voter into the server's short-lived voter cache. Args: seed file, round id, number of wrk threads.
local threads = {}
function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end
function init(args)
  path = "/api/v1/voting-rounds/" .. args[2] .. "/challenge"
  tokens = {}
  local n = tonumber(args[3] or "2")
  local seen, i = {}, 0
  for line in io.lines(args[1]) do
    local token = line:match("([^\t]+)")
    if not seen[token] then
      seen[token] = true
      if i % n == tonumber(wrk.thread:get("id")) then table.insert(tokens, token) end
      i = i + 1
    end
  end
  k = 1
end
function request()
  local t = tokens[k] or tokens[1]
  k = k + 1
  return wrk.format("POST", path, { ["Authorization"] = "Bearer " .. t, ["Content-Type"] = "application/json" }, "{}")
end
