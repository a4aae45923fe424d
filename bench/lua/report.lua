-- Shared by every scenario script: numbers each wrk thread, and prints one JSON line
-- from done() (the driver reads that line, not wrk's text report).
--   local report = dofile(<this directory> .. "/report.lua")
--   function setup(thread) report.setup(thread) end
--   done = report.done
-- A thread may count failures of its own in the global `failures` (see refresh.lua).
local M = {}
local threads = {}

function M.setup(thread)
  table.insert(threads, thread)
  thread:set("thread_number", #threads)
end

function M.done(summary, latency, requests)
  local failures = 0
  local stopped = 0
  for _, thread in ipairs(threads) do
    failures = failures + (thread:get("failures") or 0)
    if thread:get("stopped") then
      stopped = stopped + 1
    end
  end
  local percentiles = {}
  for _, p in ipairs({ 50, 75, 90, 99, 99.9 }) do
    table.insert(percentiles, string.format('"%s":%d', tostring(p), latency:percentile(p)))
  end
  local errors = summary.errors
  io.write(string.format(
    'AUTHSVC_BENCH_RESULT {"duration_us":%d,"requests":%d,"bytes":%d,' ..
      '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
      '"latency_us":{"mean":%.1f,"stdev":%.1f,"min":%d,"max":%d,"percentiles":{%s}},' ..
      '"script_failures":%d,"threads":%d,"threads_stopped":%d}\n',
    summary.duration, summary.requests, summary.bytes,
    errors.connect, errors.read, errors.write, errors.status, errors.timeout,
    latency.mean, latency.stdev, latency.min, latency.max, table.concat(percentiles, ","),
    failures, #threads, stopped
  ))
end

return M
