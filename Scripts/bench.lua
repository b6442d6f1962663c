-- The wrk script of Scripts/bench (driven by Scripts/bench.py through environment
-- variables, since wrk loads a script before it passes arguments):
--   BENCH_HOST    Host header (the public *.localhost name)
--   BENCH_COOKIE  a Cookie header sent on every request (optional)
--   BENCH_AUTH    an Authorization header sent on every request (optional)
--   BENCH_EXPECT  the status that counts as a success (e.g. 302, 303, 200)
--   BENCH_IN      a file of "COOKIE<TAB>PATH" lines (COOKIE may be "-"): every line is
--                 sent at most once, line i by thread i % BENCH_THREADS; the run ends
--                 when a thread runs out, so a token is never sent twice
--   BENCH_OUT     a file prefix: each thread appends every Location it receives to
--                 BENCH_OUT.<thread>
--   BENCH_RATE    requests per second per thread, paced in delay() (optional)
-- done() prints one line "BENCH {json}" with the counts and latency percentiles.

local ffi = require("ffi")
ffi.cdef([[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clock, bench_timespec *now);
int getpid(void);
int kill(int pid, int sig);
int usleep(unsigned int microseconds);
]])
local now_buffer = ffi.new("bench_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, now_buffer) -- CLOCK_MONOTONIC
  return tonumber(now_buffer.tv_sec) * 1000 + tonumber(now_buffer.tv_nsec) / 1e6
end

local threads = {}
local thread_count = tonumber(os.getenv("BENCH_THREADS") or "2")

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

-- Per-thread state (each wrk thread has its own Lua state).
sent, ok, bad, other_status = 0, 0, 0, 0
local expect = tonumber(os.getenv("BENCH_EXPECT") or "200")
local host = os.getenv("BENCH_HOST")
local cookie = os.getenv("BENCH_COOKIE")
local authorization = os.getenv("BENCH_AUTH")
local rate = tonumber(os.getenv("BENCH_RATE") or "0")
local lines, next_line, out, started_ms = nil, 1, nil, nil
local spare -- sent after a thread stopped, never a token

local function headers_with(extra_cookie)
  local headers = {}
  if host then headers["Host"] = host end
  if authorization then headers["Authorization"] = authorization end
  local cookies = {}
  if cookie and cookie ~= "" then table.insert(cookies, cookie) end
  if extra_cookie and extra_cookie ~= "-" then table.insert(cookies, extra_cookie) end
  if #cookies > 0 then headers["Cookie"] = table.concat(cookies, "; ") end
  return headers
end

function init(args)
  local input = os.getenv("BENCH_IN")
  if input then
    lines = {}
    local index = 0
    for line in io.lines(input) do
      if index % thread_count == id then
        local extra, path = line:match("^([^\t]*)\t(.+)$")
        if path then table.insert(lines, { extra, path }) end
      end
      index = index + 1
    end
  end
  local prefix = os.getenv("BENCH_OUT")
  if prefix then
    out = io.open(prefix .. "." .. id, "w")
    out:setvbuf("line")
  end
  spare = wrk.format("GET", "/healthz", headers_with(nil))
  started_ms = now_ms()
end

-- A thread that ran out ends the whole run: wrk's main thread sleeps for -d whatever
-- its threads do, and SIGINT is what wakes it (its handler stops every thread, and the
-- duration it reports is then the time actually run). A signal sent before the main
-- thread has begun to sleep would be lost, so never in the first second.
local function stop()
  while now_ms() - started_ms < 1000 do ffi.C.usleep(10000) end
  wrk.thread:stop()
  ffi.C.kill(ffi.C.getpid(), 2)
  return spare
end

function request()
  if lines then
    local entry = lines[next_line]
    if entry == nil then return stop() end
    next_line = next_line + 1
    sent = sent + 1
    return wrk.format("GET", entry[2], headers_with(entry[1]))
  end
  sent = sent + 1
  return wrk.format("GET", wrk.path, headers_with(nil))
end

function response(status, headers, body)
  if status == expect then ok = ok + 1 else bad = bad + 1 end
  if out then
    for name, value in pairs(headers) do
      if name:lower() == "location" then out:write(value, "\n") end
    end
  end
end

if rate > 0 then
  -- An open-loop schedule per thread: requests leave every 1/rate s whichever
  -- connection is free; a schedule that fell behind restarts from now (no burst).
  local interval = 1000 / rate
  local next_at = nil
  function delay()
    local now = now_ms()
    if next_at == nil or next_at < now - interval then next_at = now end
    next_at = next_at + interval
    return math.max(0, math.floor(next_at - now))
  end
end

function done(summary, latency, requests)
  local function total(name)
    local sum = 0
    for _, thread in ipairs(threads) do sum = sum + (thread:get(name) or 0) end
    return sum
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,'
      .. '"connect_errors":%d,"read_errors":%d,"write_errors":%d,"status_errors":%d,"timeouts":%d,'
      .. '"sent":%d,"ok":%d,"bad":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, e.connect, e.read, e.write, e.status, e.timeout, total("sent"), total("ok"), total("bad")))
end
