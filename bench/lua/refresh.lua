-- POST /auth/token, the refresh grant: each thread (run with one connection each) rotates
-- its own session, sending the refresh token the previous response returned. A non-200
-- ends that thread's chain: it is counted in `failures` and the thread stops.
-- Environment: AUTHSVC_BENCH_REFRESH_TOKENS, a file of refresh tokens, one a line,
-- at least as many as threads.
local report = dofile(debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") .. "/report.lua")

local tokens = {} -- used by setup(), in the main Lua state
for line in io.lines(assert(os.getenv("AUTHSVC_BENCH_REFRESH_TOKENS"))) do
  table.insert(tokens, line)
end

local headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }
failures = 0

function setup(thread)
  report.setup(thread)
  local token = assert(tokens[thread:get("thread_number")], "fewer refresh tokens than threads")
  thread:set("refresh_token", token) -- one value: thread:set reads the top two of the stack
end

function request() -- wrk also calls it once at start, to check that it returns a request
  local token = refresh_token or ""
  return wrk.format("POST", nil, headers, "grant_type=refresh_token&refresh_token=" .. token)
end

function response(status, _, body)
  local new = status == 200 and body:match('"refresh_token"%s*:%s*"([^"]+)"')
  if new then
    refresh_token = new
  else
    failures = failures + 1
    stopped = true
    wrk.thread:stop()
  end
end

done = report.done
