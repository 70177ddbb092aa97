-- wrk script of the authentication benchmark (bench/bench.py). The bearer token comes from the
-- environment rather than wrk's command line, where ps would show it. At the end, one line of
-- JSON that bench.py reads: every request counted, and every kind of error, so that a round
-- with any failure is never taken for a result.
local authorization = os.getenv("PGFOLIO_BENCH_AUTHORIZATION")
if authorization and authorization ~= "" then
  wrk.headers["Authorization"] = authorization
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_SUMMARY {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout))
end
