-- POST /auth/register with a new email every request: a counter per thread, the thread's
-- number, and a nonce per wrk run (AUTHSVC_BENCH_NONCE) so no two requests collide.
local report = dofile(debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") .. "/report.lua")

local nonce = assert(os.getenv("AUTHSVC_BENCH_NONCE"))
local body = '{"email":"r%s-%d-%d@example.com","password":"correct horse battery staple"}'
local headers = { ["Content-Type"] = "application/json" }
local counter = 0

function setup(thread)
  report.setup(thread)
end

function request()
  counter = counter + 1
  return wrk.format("POST", nil, headers, string.format(body, nonce, thread_number, counter))
end

done = report.done
