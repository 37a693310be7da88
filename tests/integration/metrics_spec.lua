-- /metrics and --log-format json (issue 12, "Operators"): a real node run
-- with JSON logs gets traffic on every surface (curl), RESP commands
-- (redis-cli), app requests that breach each sandbox limit; its /metrics
-- must show the counters moved, and the whole text must pass promtool
-- (Prometheus's own parser and linter). Who may read /metrics is checked
-- from a non-loopback address of this machine. Every line of the JSON log
-- must parse as one JSON object with time, level and message.
local t = require("helpers")
local json = require("dkjson")

-- Starts a node with `run -d` and extra run arguments (helpers.start_node
-- takes none).
local function start(settings, run_args)
  local home = t.tmpdir()
  for _ = 1, 20 do
    local port = t.random_port()
    assert(t.leither("init", "--home", home, "-p", tostring(port)).code == 0)
    local path = home .. "/SystemVars.json"
    local doc = t.decode(t.slurp(path))
    doc.db_port = t.random_port()
    for k, v in pairs(settings or {}) do doc[k] = v end
    t.write(path, json.encode(doc))
    local args = { "run", "-d", "--home", home }
    for _, a in ipairs(run_args or {}) do args[#args + 1] = a end
    local r = t.leither(table.unpack(args))
    if r.code == 0 then
      local status = t.decode(t.leither("status", "--home", home, "--json").out)
      return { home = home, port = port, db_port = doc.db_port, url = "http://127.0.0.1:" .. port,
               id = status.ID, pid = status.Pid }
    end
    assert(r.err:find("already in use", 1, true), r.err)
  end
  error("no free port found")
end

-- The samples of an exposition text: "name{labels}" -> number. Only
-- reads; promtool is the judge of the format.
local function samples(text)
  local out = {}
  for line in text:gmatch("[^\n]+") do
    if not line:find("^#") then
      local key, value = line:match("^(%S+) (%S+)$")
      if not key then key, value = line:match("^(.-}) (%S+)$") end
      assert(key, "not a sample line: " .. line)
      out[key] = tonumber(value) or (value == "+Inf" and math.huge) or value
    end
  end
  return out
end

-- promtool check metrics: exit 0 and nothing to say (no lint problem).
local function promtool_check(text)
  local f = os.tmpname()
  t.write(f, text)
  local r = t.sh("promtool check metrics < " .. t.quote(f))
  os.remove(f)
  return r
end

-- This machine's first address that is not loopback, or nil.
local function outside_address()
  local r = t.sh("hostname -I")
  for a in (r.out or ""):gmatch("%S+") do
    if not a:find(":", 1, true) and not a:find("^127%.") then return a end
  end
end

local app = [==[
app.get("/ok", function() return "ok" end)
app.get("/spin", function() while true do end end)
app.get("/hog", function() local t = {} for i = 1, 1e9 do t[i] = string.rep("x", 1 << 20) .. i end end)
]==]

describe("/metrics", function()
  local node, dir, slow, tight, small, metrics_url

  local function upload(name, limits)
    t.sh("mkdir -p " .. t.quote(dir .. "/" .. name .. "/server"))
    t.write(dir .. "/" .. name .. "/manifest.json", '{"name": "' .. name .. '", "limits": ' .. limits .. '}')
    t.write(dir .. "/" .. name .. "/server/main.lua", app)
    local r = t.leither("lapp", "uploadapp", "-i", name, "-d", dir, "--json", "--home", node.home)
    assert.are.equal(0, r.code, r.err)
    return t.decode(r.out).AppId
  end

  local function scrape()
    local r = t.curl(metrics_url)
    assert.are.equal(200, r.status, r.body)
    return samples(r.body), r.body
  end

  setup(function()
    node = start({ threads = 2 }, { "--log-format", "json" })
    metrics_url = node.url .. "/metrics"
    dir = t.tmpdir()
    -- a wall clock that runs out before a big instruction budget
    slow = upload("slow", '{"instructions": 1000000000, "wall_ms": 200}')
    -- a small instruction budget
    tight = upload("tight", '{"instructions": 100000}')
    -- a small memory limit (and time enough to reach it)
    small = upload("small", '{"memory_mb": 8, "wall_ms": 20000}')
  end)
  teardown(function()
    t.stop_node(node)
    t.rmtree(dir)
  end)

  it("counts requests by surface and status, RESP commands, breaches; promtool accepts the text", function()
    local before = scrape()

    assert.are.equal(200, t.curl(node.url .. "/api/v0/id").status)
    assert.are.equal(200, t.curl(node.url .. "/").status)
    assert.are.equal(200, t.curl(node.url .. "/sdk/leither.js").status)
    local ipfs = t.curl(node.url .. "/ipfs/not-a-cid").status
    local mm = t.curl(node.url .. "/mm/not-a-mimei").status
    assert.are.equal(200, t.curl(node.url .. "/tpt/" .. slow .. "/ok").status)
    assert.are.equal(500, t.curl(node.url .. "/tpt/" .. slow .. "/spin", "--max-time 30").status)
    assert.are.equal(500, t.curl(node.url .. "/tpt/" .. small .. "/hog", "--max-time 30").status)
    assert.are.equal(500, t.curl(node.url .. "/tpt/" .. tight .. "/spin", "--max-time 30").status)

    assert.are.equal("OK", t.redis(node.db_port, "SET", "metrics:k", "v"))
    for _ = 1, 3 do assert.are.equal('"v"', t.redis(node.db_port, "GET", "metrics:k")) end
    assert.matches("unknown command", t.redis(node.db_port, "NOSUCHCOMMAND"))

    -- a request is counted once its answer has gone out, which the client
    -- may see a moment before: wait until all 9 are in
    local function answered(m)
      local n = 0
      for k, v in pairs(m) do
        if k:find("^leither_http_requests_total") and not k:find('surface="metrics"', 1, true) then n = n + v end
      end
      return n
    end
    local after, text
    for _ = 1, 200 do
      after, text = scrape()
      if answered(after) - answered(before) >= 9 then break end
      os.execute("sleep 0.01")
    end
    assert.are.equal(9, answered(after) - answered(before))
    local function delta(key) return (after[key] or 0) - (before[key] or 0) end
    assert.are.equal(1, delta('leither_http_requests_total{surface="api",code="200"}'))
    assert.are.equal(1, delta('leither_http_requests_total{surface="page",code="200"}'))
    assert.are.equal(1, delta('leither_http_requests_total{surface="sdk",code="200"}'))
    assert.are.equal(1, delta('leither_http_requests_total{surface="ipfs",code="' .. ipfs .. '"}'))
    assert.are.equal(1, delta('leither_http_requests_total{surface="mm",code="' .. mm .. '"}'))
    assert.are.equal(1, delta('leither_http_requests_total{surface="apps",code="200"}'))
    assert.are.equal(3, delta('leither_http_requests_total{surface="apps",code="500"}'))
    assert.are.equal(1, delta('leither_lua_limit_breaches_total{limit="wall_ms"}'))
    assert.are.equal(1, delta('leither_lua_limit_breaches_total{limit="memory"}'))
    assert.are.equal(1, delta('leither_lua_limit_breaches_total{limit="instructions"}'))
    assert.are.equal(1, delta('leither_resp_command_duration_seconds_count{command="set"}'))
    assert.are.equal(3, delta('leither_resp_command_duration_seconds_count{command="get"}'))
    assert.are.equal(1, delta('leither_resp_command_duration_seconds_count{command="unknown"}'))
    assert.truthy(delta('leither_resp_command_duration_seconds_sum{command="get"}') > 0)
    -- a histogram's +Inf bucket is its count
    assert.are.equal(after['leither_resp_command_duration_seconds_count{command="get"}'],
      after['leither_resp_command_duration_seconds_bucket{command="get",le="+Inf"}'])
    -- the scrape's own connection is open
    assert.truthy(after.leither_http_connections >= 1)
    assert.truthy(after.leither_lmdb_map_size_bytes > 0)
    assert.truthy(after.leither_lmdb_used_bytes > 0 and after.leither_lmdb_used_bytes <= after.leither_lmdb_map_size_bytes)
    assert.truthy(after.leither_lmdb_file_size_bytes > 0)
    assert.truthy(after.leither_blocks >= 1) -- the apps' files
    assert.truthy(after.leither_blocks_bytes > 0)
    assert.truthy(after.process_resident_memory_bytes > 0)
    local r = promtool_check(text)
    assert.are.same({ 0, "", "" }, { r.code, r.out, r.err }, text)
    assert.truthy(delta('leither_http_requests_total{surface="metrics",code="200"}') >= 1)
  end)

  it("counts blocks as they are added", function()
    local before = scrape()
    local f = dir .. "/blob"
    t.write(f, string.rep("metrics block ", 20000)) -- 280 kB: two chunks and a root
    t.ok(t.leither("ipfs", "add", "-q", f, "--home", node.home))
    local after = scrape()
    assert.are.equal(3, after.leither_blocks - before.leither_blocks)
  end)

  it("shows open RESP connections", function()
    local pidfile = os.tmpname()
    -- a client parked in a blocking pop holds its connection open
    t.sh("redis-cli -p " .. node.db_port .. " BLPOP metrics:never 0 >/dev/null 2>&1 & echo $! > " .. pidfile)
    local open = 0
    for _ = 1, 200 do
      open = scrape().leither_resp_connections
      if open >= 1 then break end
      os.execute("sleep 0.05")
    end
    t.sh("kill " .. t.slurp(pidfile):match("%d+"))
    os.remove(pidfile)
    assert.truthy(open >= 1, "no open RESP connection counted")
    for _ = 1, 200 do
      open = scrape().leither_resp_connections
      if open == 0 then break end
      os.execute("sleep 0.05")
    end
    assert.are.equal(0, open)
  end)

  it("answers clients on this machine only by default", function()
    local address = outside_address()
    if not address then return pending("this machine has no address but loopback") end
    local r = t.curl("http://" .. address .. ":" .. node.port .. "/metrics")
    assert.are.equal(403, r.status)
    assert.matches('set "metrics" to "public"', r.body, 1, true)
    -- the rest of the node answers there
    assert.are.equal(200, t.curl("http://" .. address .. ":" .. node.port .. "/api/v0/id").status)
  end)

  it("answers GET and HEAD at /metrics itself, nothing else", function()
    assert.are.equal(405, t.curl(metrics_url, "-X POST --data x").status)
    assert.are.equal(200, t.curl(metrics_url, "-I").status)
    assert.are.equal(404, t.curl(metrics_url .. "/extra").status)
  end)

  it("writes every log line as one JSON object with time, level and message", function()
    local log = t.slurp(node.home .. "/leither.log")
    local lines, started, breach = 0, false, false
    for line in log:gmatch("[^\n]+") do
      lines = lines + 1
      local doc = json.decode(line)
      assert.are.equal("table", type(doc), "not JSON: " .. line)
      assert.matches("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d%.%d%d%dZ$", doc.time)
      assert.truthy(doc.level == "info" or doc.level == "warn" or doc.level == "error", line)
      assert.are.equal("string", type(doc.message), line)
      if doc.message:find("started", 1, true) and doc.id == node.id then started = true end
      if doc.app == tight and doc.limit == "instructions" then breach = true end
    end
    assert.truthy(lines >= 4, log)
    assert.truthy(started, "no start line with the node's ID:\n" .. log)
    assert.truthy(breach, "no breach line with its app and limit:\n" .. log)
  end)
end)

describe("the metrics setting", function()
  it("public serves anyone, off no one, anything else is refused at start", function()
    local address = outside_address()
    local public = start({ metrics = "public" })
    local ok, err = pcall(function()
      assert.are.equal(200, t.curl(public.url .. "/metrics").status)
      if address then
        assert.are.equal(200, t.curl("http://" .. address .. ":" .. public.port .. "/metrics").status)
      end
    end)
    t.stop_node(public)
    assert(ok, err)

    local off = start({ metrics = "off" })
    local status = t.curl(off.url .. "/metrics").status
    t.stop_node(off)
    assert.are.equal(404, status)

    local home = t.tmpdir()
    t.ok(t.leither("init", "--home", home, "-p", tostring(t.random_port())))
    local doc = t.decode(t.slurp(home .. "/SystemVars.json"))
    doc.metrics = "everyone"
    t.write(home .. "/SystemVars.json", json.encode(doc))
    local r = t.leither("run", "-d", "--home", home)
    t.rmtree(home)
    assert.are.equal(1, r.code)
    assert.matches('"metrics" must be "loopback", "public" or "off"', r.err, 1, true)
  end)

  it("refuses an unknown --log-format", function()
    local r = t.leither("run", "--log-format", "xml", "--home", "/nonexistent")
    assert.are.equal(2, r.code)
    assert.matches("--log-format is text or json, not 'xml'", r.err, 1, true)
  end)
end)
