-- Strangers against an app's routes and the leither.* bindings (issue 10,
-- findings 1, 4, 5 and 11's log lines): unsigned requests that crashed the
-- node, leaked hundreds of MB, pinned HTTP workers with a finalizer, or
-- forged log lines. Each attack is repeated over HTTP against a real node;
-- the node must stay up, answer others, keep its memory, and log one
-- escaped line per call.
local t = require("helpers")

local attack = [==[
app.post("/log", function(req) leither.log("note:", req.body) return "logged" end)
app.post("/log_levels", function(req)
  leither.log.info(req.body) leither.log.warn(req.body, 42) leither.log.error(req.body, req.body)
  return "logged"
end)
app.get("/log_flood", function() local s = string.rep("f", 4000) while true do leither.log(s) end end)
app.post("/json", function(req) local v = req:json() return { type = type(v), n = #v } end)
app.post("/decode", function(req) return { ok = pcall(leither.json.decode, req.body) } end)
-- finding 4: the metatable decode attaches, given a finalizer that never ends
app.get("/gc", function()
  local mt = getmetatable(leither.json.decode("{}"))
  mt.__gc = function() while true do end end
  for _ = 1, 100 do leither.json.object() leither.json.decode('{"a": {}}') end
  collectgarbage()
  return "finalizer set"
end)
app.get("/gc_setmetatable", function()
  local mt = {}
  setmetatable(leither.json.object(), mt)
  mt.__gc = function() while true do end end
  return "replaced"
end)
app.get("/metatables", function()
  local ok, err = pcall(setmetatable, leither.json.object(), {})
  return {
    object = getmetatable(leither.json.object()),
    decoded = getmetatable(leither.json.decode("{}")),
    log = getmetatable(leither.log),
    globals = getmetatable(_G),
    os = getmetatable(os),
    set = ok, set_error = tostring(err),
  }
end)
-- encode bombs: shared 2^n times, or containing itself
app.get("/encode_shared", function(req)
  local t = {}
  for _ = 1, tonumber(req.query.n) do t = { t, t, t } end
  return leither.json.encode(t)
end)
app.get("/encode_cycle", function()
  local t = {} t.self = t
  return leither.json.encode(t)
end)
-- errors and the router's log text reach the node log too
app.get("/error_forge", function(req)
  error("boom\nleither: app " .. req.query.id .. " info: forged-by-error\n\27[2J")
end)
local dispatch = app._dispatch
app._dispatch = function(req)
  if req.path == "/dispatch_forge" then
    return 200, {}, "dispatched", "text\nleither: app someone info: forged-by-dispatch"
  end
  if req.path == "/bad_results" then -- headers that are no pairs, a number for a body
    return 201, { "x", 5, { 1, 2 }, { "X-Answer", 42 }, {} }, 12345, 7
  end
  if req.path == "/break_app" then -- the next request finds an `app` whose every field loops
    app = setmetatable({}, { __index = function() while true do end end })
    return 200, {}, "broken"
  end
  return dispatch(req)
end
app.get("/ok", function() return "ok" end)
]==]

-- ASan keeps freed memory in quarantine (256 MB): a bound for its builds too
local function sanitized(pid)
  local maps = t.slurp("/proc/" .. tonumber(pid) .. "/maps") or ""
  return maps:find("libasan", 1, true) ~= nil or maps:find("asan", 1, true) ~= nil
end

local function rss_kb(pid)
  local status = t.slurp("/proc/" .. tonumber(pid) .. "/status")
  return tonumber(status:match("VmRSS:%s*(%d+)"))
end

describe("attacks on an app's routes", function()
  local node, dir, id, body_file

  setup(function()
    -- bodies up to 16 MiB: the JSON size limit is what refuses them
    node = t.start_node({ settings = { threads = 2, max_request_body = 16777216 } })
    dir = t.tmpdir()
    t.sh("mkdir -p " .. t.quote(dir .. "/attack/server"))
    t.write(dir .. "/attack/manifest.json",
      '{"name": "attack", "limits": {"memory_mb": 32, "instructions": 20000000, "wall_ms": 5000}}')
    t.write(dir .. "/attack/server/main.lua", attack)
    local r = t.leither("lapp", "uploadapp", "-i", "attack", "-d", dir, "--json", "--home", node.home)
    assert.are.equal(0, r.code, r.err)
    id = t.decode(r.out).AppId
    body_file = dir .. "/body"
  end)
  teardown(function()
    t.stop_node(node)
    t.rmtree(dir)
  end)

  -- an unsigned POST of body to the app's route
  local function post(route, body, extra)
    t.write(body_file, body)
    return t.curl(node.url .. "/tpt/" .. id .. route,
      "--max-time 60 -H 'Content-Type: application/json' --data-binary @" .. t.quote(body_file) .. " " .. (extra or ""))
  end

  local function post_to(app_id, route, body)
    t.write(body_file, body)
    return t.curl(node.url .. "/tpt/" .. app_id .. route, "--max-time 60 --data-binary @" .. t.quote(body_file))
  end

  -- the node is up and answers another request (the bound only catches a hang)
  local function answers()
    assert.truthy(t.alive(node.pid), "the node died")
    local r = t.curl(node.url .. "/tpt/" .. id .. "/ok", "--max-time 10")
    assert.are.same({ 200, "ok" }, { r.status, r.body })
    assert.are.equal(200, t.curl(node.url .. "/api/v0/id", "--max-time 10").status)
  end

  local function log_lines(pattern)
    local lines = {}
    for line in ((t.slurp(node.home .. "/leither.log") or "") .. "\n"):gmatch("(.-)\n") do
      if line:find(pattern, 1, true) then lines[#lines + 1] = line end
    end
    return lines
  end

  describe("leither.log", function()
    it("logs a 3,000-byte body (it crashed the node with SIGSEGV)", function()
      local body = "first-" .. string.rep("x", 2988) .. "-last"
      for _ = 1, 5 do
        local r = post("/log", body)
        assert.are.same({ 200, "logged" }, { r.status, r.body })
      end
      answers()
      local lines = log_lines("-last")
      assert.are.equal(5, #lines)
      -- the whole argument, not freed memory
      assert.truthy(lines[1]:find("info: note: " .. body, 1, true), lines[1]:sub(1, 200))
    end)

    it("logs a 2 KB argument exactly", function()
      local body = "two-k:" .. string.rep("0123456789abcdef", 128)
      assert.are.equal(200, post("/log", body).status)
      local lines = log_lines("two-k:")
      assert.are.equal(1, #lines)
      assert.are.equal("info: note: " .. body, lines[1]:sub(-#("info: note: " .. body)))
    end)

    it("writes one escaped line per call: an app cannot forge log lines", function()
      local forged = "leither: app " .. id .. " info: forged-line"
      local body = "innocent\n" .. forged .. "\r\n\27[31mred\0nul\\ tab\there \xff\xfe"
      assert.are.equal(200, post("/log", body).status)
      assert.are.equal(200, post("/log_levels", body).status)
      local lines = log_lines("innocent")
      assert.are.equal(4, #lines)
      for _, line in ipairs(lines) do
        assert.truthy(line:find("innocent\\nleither: app " .. id .. " info: forged-line\\r\\n\\x1b[31mred\\x00nul\\\\ tab\\there \\xff\\xfe",
          1, true), line)
      end
      for _, line in ipairs(log_lines("forged-line")) do
        assert.falsy(line:find("^leither: app " .. id:gsub("%p", "%%%0") .. " info: forged%-line"), line)
      end
      assert.matches(" warn: innocent.*here \\xff\\xfe 42$", lines[3])
      assert.matches(" error: innocent.*here \\xff\\xfe innocent", lines[4])
    end)

    it("keeps an error's text and the router's log text from starting lines of their own", function()
      local r = t.curl(node.url .. "/tpt/" .. id .. "/error_forge?id=" .. id)
      assert.are.equal(500, r.status, r.body)
      assert.are.equal(200, t.curl(node.url .. "/tpt/" .. id .. "/dispatch_forge").status)
      local log = t.slurp(node.home .. "/leither.log")
      assert.truthy(log:find("boom\\nleither: app " .. id .. " info: forged-by-error\\n\\x1b[2J\n", 1, true), log)
      assert.truthy(log:find("\nstack traceback:\n\t", 1, true), "the traceback keeps its lines")
      assert.truthy(log:find(": text\\nleither: app someone info: forged-by-dispatch\n", 1, true))
      for line in log:gmatch("[^\n]+") do
        assert.falsy(line:find("^leither: app [^ ]+ info: forged"), line)
        assert.falsy(line:find("\27", 1, true), "an escape sequence reached the log")
      end
    end)

    it("charges log lines to the instruction budget: a logging loop writes a few MB, not GBs", function()
      local before = #(t.slurp(node.home .. "/leither.log"))
      local r = t.curl(node.url .. "/tpt/" .. id .. "/log_flood", "--max-time 60")
      assert.are.equal(500, r.status, r.body)
      assert.are.equal("instructions", t.decode(r.body).Limit, r.body)
      local grown = #(t.slurp(node.home .. "/leither.log")) - before
      -- 20 million instructions at 4 per byte: about 5 MB
      assert.truthy(grown < 8000000, "the log grew by " .. grown .. " bytes")
      answers()
    end)

    it("caps a line at 4 KiB: 7 MB per call write one short line", function()
      local body = "huge:" .. string.rep("y", 7000000)
      local before = #(t.slurp(node.home .. "/leither.log"))
      for _ = 1, 3 do assert.are.equal(200, post("/log", body).status) end
      answers()
      local lines = log_lines("huge:")
      assert.are.equal(3, #lines)
      for _, line in ipairs(lines) do
        assert.truthy(#line < 4096 + 200, "line of " .. #line .. " bytes")
        assert.matches("%.%.%. %[%d+ more bytes not logged%]$", line)
      end
      assert.truthy(#(t.slurp(node.home .. "/leither.log")) - before < 3 * 4400, "the log grew by 3 short lines")
    end)
  end)

  describe("leither.json", function()
    -- 6 MB of [[],[],...]: 2 million tables, far over the app's 32 MB
    local bomb = "[" .. string.rep("[],", 2000000) .. "[]]"

    it("stops a decode bomb at the memory limit without leaking (265 MB per request leaked)", function()
      -- the first few fill each worker's malloc arena (about 90 MB in all): then it stays
      for _ = 1, 4 do
        local first = post("/json", bomb)
        assert.are.equal(500, first.status, first.body)
        assert.are.equal("memory", t.decode(first.body).Limit, first.body)
      end
      answers()
      local before = rss_kb(node.pid)
      for _ = 1, 8 do
        local r = post("/json", bomb)
        assert.are.equal(500, r.status)
        assert.are.equal("memory", t.decode(r.body).Limit, r.body)
      end
      answers()
      local grown = rss_kb(node.pid) - before
      -- leaking, 8 requests would add about 2 GB; the bound allows noise
      local bound = sanitized(node.pid) and 512 * 1024 or 64 * 1024
      assert.truthy(grown < bound, "RSS grew by " .. grown .. " kB over 8 decode bombs")
    end)

    it("refuses JSON text over a quarter of the app's memory limit, naming the limit", function()
      local r = post("/json", "[" .. string.rep("1,", 4200000) .. "1]")
      assert.are.equal(400, r.status, r.body)
      assert.matches("over the limit of 8388608 bytes %(a quarter of the app's memory limit%)", t.decode(r.body).Message)
      answers()
    end)

    it("refuses nesting deeper than 200 levels with a 400", function()
      for _, text in ipairs({ string.rep("[", 100000), string.rep('{"a":', 100000), string.rep("[", 201) .. string.rep("]", 201) }) do
        local r = post("/json", text)
        assert.are.equal(400, r.status, r.body)
        assert.matches("nested too deeply %(more than 200 levels%)", t.decode(r.body).Message)
      end
      local ok = post("/json", string.rep("[", 200) .. string.rep("]", 200))
      assert.are.same({ 200, { type = "table", n = 1 } }, { ok.status, t.decode(ok.body) })
      answers()
    end)

    it("stops encode bombs: shared tables, and a table that contains itself", function()
      local shared = t.curl(node.url .. "/tpt/" .. id .. "/encode_shared?n=40", "--max-time 60")
      assert.are.equal(500, shared.status, shared.body)
      local doc = t.decode(shared.body)
      assert.truthy(doc.Limit or doc.Message:find("over the limit", 1, true), shared.body)
      local cycle = t.curl(node.url .. "/tpt/" .. id .. "/encode_cycle", "--max-time 60")
      assert.are.equal(500, cycle.status)
      assert.matches("nested too deeply", t.decode(cycle.body).Message)
      answers()
    end)
  end)

  describe("listings and database replies at the memory limit", function()
    local lister

    -- a second app with a small memory limit, so that each request fills it fast
    setup(function()
      t.sh("mkdir -p " .. t.quote(dir .. "/lister/server"))
      t.write(dir .. "/lister/manifest.json", '{"name": "lister", "database": true, "limits": {"memory_mb": 2}}')
      t.write(dir .. "/lister/server/main.lua", [[
local db = leither.db()
app.post("/seed", function()
  local v, args = string.rep("v", 100), {}
  for i = 1, 20000 do args[i] = v end
  return { n = db:rpush("big", table.unpack(args)) }
end)
app.get("/lrange", function() return { n = #db:lrange("big", 0, -1) } end)
app.get("/fill", function(req)
  local keep = {}
  while true do keep[#keep + 1] = leither.mimei.list(req.query.mid, "") end
end)
app.get("/list", function(req) return { n = #leither.mimei.list(req.query.mid, "") } end)
]])
      local r = t.leither("lapp", "uploadapp", "-i", "lister", "-d", dir, "--json", "--home", node.home)
      assert.are.equal(0, r.code, r.err)
      lister = t.decode(r.out).AppId
    end)

    it("leak no LMDB reader: the node still reads after 150 breaches inside mimei.list", function()
      -- LMDB has 126 reader slots: each breach inside a listing held one for good
      for i = 1, 150 do
        local fill = t.curl(node.url .. "/tpt/" .. lister .. "/fill?mid=" .. id, "--max-time 20")
        assert.are.equal(500, fill.status, fill.body)
        assert.are.equal("memory", t.decode(fill.body).Limit, "request " .. i .. ": " .. fill.body)
      end
      local list = t.curl(node.url .. "/tpt/" .. lister .. "/list?mid=" .. id, "--max-time 20")
      assert.are.same({ 200, { n = 2 } }, { list.status, t.decode(list.body) })
      answers()
    end)

    it("refuse a body over the app's memory limit with the app's 500 (it aborted the node)", function()
      for _ = 1, 3 do
        local r = post_to(lister, "/list", string.rep("z", 3000000))
        assert.are.equal(500, r.status, r.body)
        assert.are.equal("memory", t.decode(r.body).Limit, r.body)
      end
      answers()
    end)

    it("free a database reply too big for the memory limit", function()
      local seed = t.curl(node.url .. "/tpt/" .. lister .. "/seed", "--max-time 20 -X POST")
      assert.are.same({ 200, { n = 20000 } }, { seed.status, t.decode(seed.body) })
      -- 20,000 strings of 100 bytes do not fit in 2 MB: each request breaches
      -- while the reply goes into Lua (its C copy, ~3 MB, leaked before)
      local function breach()
        local r = t.curl(node.url .. "/tpt/" .. lister .. "/lrange", "--max-time 20")
        assert.are.equal(500, r.status, r.body)
      end
      for _ = 1, 4 do breach() end
      local before = rss_kb(node.pid)
      for _ = 1, 40 do breach() end
      answers()
      local grown = rss_kb(node.pid) - before
      local bound = sanitized(node.pid) and 512 * 1024 or 64 * 1024
      assert.truthy(grown < bound, "RSS grew by " .. grown .. " kB over 40 replies")
    end)
  end)

  describe("the router's results and the global app", function()
    it("keeps only {name, value} pairs of headers and turns a number body into text", function()
      local r = t.curl(node.url .. "/tpt/" .. id .. "/bad_results", "-i")
      assert.are.equal(201, r.status, r.body)
      assert.matches("\r\n[Xx]%-[Aa]nswer: 42\r\n", r.body)
      assert.matches("\r\n\r\n12345$", r.body)
      answers()
    end)

    it("stops an app whose global app loops on every field, and serves the next state", function()
      -- one connection, so one worker and its state of the app: broken, then asked
      local base = node.url .. "/tpt/" .. id
      local r = t.sh("curl -s --noproxy '*' --max-time 30 " .. t.quote(base .. "/break_app") .. " " .. t.quote(base .. "/ok"))
      assert.matches('^broken{"Message":"instruction budget of 20000000 exceeded","Code":0,"Type":"error","Limit":"instructions"}\n?$', r.out)
      for _ = 1, 6 do
        assert.are.same({ 200, "ok" }, { t.curl(base .. "/ok").status, t.curl(base .. "/ok").body })
      end
      answers() -- the spent state was dropped: a fresh one answers
    end)
  end)

  describe("metatables", function()
    it("hands app code no metatable the C side made", function()
      local r = t.curl(node.url .. "/tpt/" .. id .. "/metatables")
      assert.are.equal(200, r.status, r.body)
      local doc = t.decode(r.body)
      assert.are.equal("leither.json.object", doc.object)
      assert.are.equal("leither.json.object", doc.decoded)
      assert.are.same({ false, false, false, false }, { doc.log, doc.globals, doc.os, doc.set })
      assert.matches("protected metatable", doc.set_error)
    end)

    it("gives a finalizer no way in: the workers keep serving and SIGTERM stops the node", function()
      for _ = 1, 6 do -- three times the workers: each would have been pinned for good
        local r = t.curl(node.url .. "/tpt/" .. id .. "/gc", "--max-time 20")
        assert.are.equal(500, r.status, r.body)
        assert.matches("attempt to index a string value", t.decode(r.body).Message)
        local s = t.curl(node.url .. "/tpt/" .. id .. "/gc_setmetatable", "--max-time 20")
        assert.are.equal(500, s.status, s.body)
        assert.matches("protected metatable", t.decode(s.body).Message)
      end
      answers()
      local stop = t.leither("stop", "--home", node.home)
      assert.are.equal(0, stop.code, stop.err)
      assert.falsy(t.alive(node.pid), "the node did not stop")
    end)
  end)
end)
