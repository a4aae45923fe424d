-- GET <url> with a bearer token: /users/me, the verify-only route, the ceiling.
-- Environment: AUTHSVC_BENCH_TOKEN, an access token.
local report = dofile(debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") .. "/report.lua")

wrk.method = "GET"
wrk.headers["Authorization"] = "Bearer " .. assert(os.getenv("AUTHSVC_BENCH_TOKEN"))

function setup(thread)
  report.setup(thread)
end

done = report.done
