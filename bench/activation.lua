-- wrk script of the activation benchmark (bench/bench_activation.py writes the arguments):
--   wrk ... -s bench/activation.lua <base> -- <targets file> <threads> <api key> <run id>
-- Each request activates cover for one prepared (subscription, item) pair, taken in turn by the
-- threads (thread k takes the k-th, k+threads-th, ... lines), with an Idempotency-Key of its own.
-- A thread that runs out of pairs asks GET /health (not counted as an activation).

local threads = {}

function setup(thread)
  thread:set("thread_index", #threads)
  table.insert(threads, thread)
end

function init(args)
  targets = {}
  for line in io.lines(args[1]) do
    table.insert(targets, line)
  end
  step = tonumber(args[2])
  api_key = args[3]
  run_id = args[4]
  sent = 0
  statuses = {}
  certificates = {}
end

function request()
  local index = thread_index + sent * step + 1
  sent = sent + 1
  local target = targets[index]
  if target == nil then
    return wrk.format("GET", "/health")
  end
  local subscription, item = target:match("([^,]+),([^,]+)")
  local body = '{"object_ref":"' .. item .. '","duration":"PT2H"}'
  local headers = {
    ["Content-Type"] = "application/json",
    ["X-API-Key"] = api_key,
    ["Idempotency-Key"] = run_id .. "-" .. thread_index .. "-" .. sent,
  }
  return wrk.format("POST", "/v1/subscriptions/" .. subscription .. "/windows", headers, body)
end

function response(status, headers, body)
  local key = tostring(status)
  if status ~= 201 then
    local code = body:match('"code":"([^"]+)"')
    if code then key = key .. " " .. code end
  elseif #certificates < 5 then
    table.insert(certificates, body:match('"certificate":"([^"]+)"'))
  end
  statuses[key] = (statuses[key] or 0) + 1
end

function done(summary, latency, requests)
  local parts = {}
  for _, thread in ipairs(threads) do
    for key, count in pairs(thread:get("statuses")) do
      table.insert(parts, string.format('{"%s":%d}', key, count))
    end
  end
  local numbers = {}
  for _, thread in ipairs(threads) do
    for _, number in ipairs(thread:get("certificates")) do
      table.insert(numbers, '"' .. number .. '"')
    end
  end
  io.write(string.format(
    'WRK-RESULT {"requests":%d,"duration_us":%d,"p50_us":%d,"p95_us":%d,"p99_us":%d,' ..
    '"errors":%d,"statuses":[%s],"certificates":[%s]}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99),
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    table.concat(parts, ","), table.concat(numbers, ",")))
end
