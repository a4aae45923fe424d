-- POST /auth/token, the password grant, always for the same registered user.
-- Environment: AUTHSVC_BENCH_EMAIL, AUTHSVC_BENCH_PASSWORD (form-encoded already).
local report = dofile(debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") .. "/report.lua")

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = "grant_type=password&username=" .. assert(os.getenv("AUTHSVC_BENCH_EMAIL"))
  .. "&password=" .. assert(os.getenv("AUTHSVC_BENCH_PASSWORD"))

function setup(thread)
  report.setup(thread)
end

done = report.done
