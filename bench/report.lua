-- wrk script: prints the run's results as one JSON line, and counts responses
-- other than 200, so that a run full of redirects or errors cannot pass for a
-- fast one (wrk itself counts a 302 as a success).
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  ok = 0
  not_ok = 0
  not_ok_status = 0
end

function response(status, headers, body)
  if status == 200 then
    ok = ok + 1
  else
    not_ok = not_ok + 1
    not_ok_status = status
  end
end

function done(summary, latency, requests)
  local ok_total, not_ok_total, status = 0, 0, 0
  for _, thread in ipairs(threads) do
    ok_total = ok_total + thread:get("ok")
    not_ok_total = not_ok_total + thread:get("not_ok")
    if thread:get("not_ok_status") ~= 0 then
      status = thread:get("not_ok_status")
    end
  end
  local errors = summary.errors
  io.write(string.format(
    '{"requests": %.0f, "duration_us": %.0f, "bytes": %.0f, "ok": %.0f, ' ..
    '"not_ok": %.0f, "not_ok_status": %.0f, "socket_errors": %.0f, ' ..
    '"latency_us": {"p50": %.0f, "p90": %.0f, "p99": %.0f, "max": %.0f}}\n',
    summary.requests, summary.duration, summary.bytes, ok_total,
    not_ok_total, status,
    errors.connect + errors.read + errors.write + errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max))
end
