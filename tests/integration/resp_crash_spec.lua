-- The crash test: writers get acknowledgements from a node, the node is
-- killed with SIGKILL in the middle of the load, restarted on the same home,
-- and every acknowledged write must be there.
--
-- The writers are crash_writer (built next to leither; CRASH_WRITER names
-- it): one line on stdout per acknowledged write, so its output is exactly
-- what the node promised to keep. Under db_sync "always" a reply is sent
-- only after its transaction is committed, so nothing acknowledged may be
-- missing. Under "everysec" the test only reports what was lost and checks
-- that what is there is consistent.
local t = require("helpers")

local WRITER = os.getenv("CRASH_WRITER") or "../../build/tests/crash_writer"
local COUNT = 1000000000 -- more than a writer gets through before the kill
local LOAD_SECONDS = 1
local CHUNK = 500 -- keys per MGET

-- The writers of each round: name (with the round's number, the key
-- prefix), --mixed, --window, and the pipeline depth (how far the node may
-- be ahead of the replies). The "window" writers keep two commands in flight, sent one by one, so
-- that a connection often has a new command in while its previous reply is
-- still being written: a reply sent before its commit shows up there.
local WRITERS = {
  { name = "plain", mixed = false, pipeline = 1 },
  { name = "window", mixed = false, pipeline = 2, window = true },
  { name = "windowb", mixed = false, pipeline = 2, window = true },
  { name = "piped", mixed = false, pipeline = 16 },
  { name = "mixed", mixed = true, pipeline = 1 },
}

local function sleep(s)
  os.execute("sleep " .. s)
end

-- Starts a writer in the background; its stdout, stderr, pid and exit code
-- go to files in dir.
local function start_writer(dir, port, w)
  local base = dir .. "/" .. w.name
  local cmd = t.quote(WRITER) .. (w.mixed and " --mixed" or "") .. (w.window and " --window" or "")
    .. " 127.0.0.1 " .. tonumber(port) .. " " .. w.name .. " " .. COUNT .. " " .. w.pipeline
  local script = cmd .. " >" .. t.quote(base .. ".out") .. " 2>" .. t.quote(base .. ".err") .. " </dev/null & "
    .. "echo $! >" .. t.quote(base .. ".pid") .. "; wait $!; echo $? >" .. t.quote(base .. ".rc~")
    .. "; mv " .. t.quote(base .. ".rc~") .. " " .. t.quote(base .. ".rc") -- whole, once it exists
  assert(os.execute("sh -c " .. t.quote(script) .. " >/dev/null 2>&1 &"))
  w.base = base
end

-- The indexes a writer printed: they must be 0..n-1 (it writes in order);
-- returns n.
local function acknowledged(w)
  local n = 0
  for line in (t.slurp(w.base .. ".out") or ""):gmatch("[^\n]+") do
    assert.are.equal(tostring(n), line, w.name .. ": acknowledgements out of order")
    n = n + 1
  end
  return n
end

-- Runs a script (one command a line) through redis-cli --raw; returns the
-- output's lines (a nil reply is an empty line).
local function raw_lines(port, script)
  local f = os.tmpname()
  t.write(f, script)
  local r = t.sh("redis-cli --raw -p " .. tonumber(port) .. " < " .. f)
  os.remove(f)
  assert(r.code == 0, "redis-cli failed: " .. tostring(r.err))
  local out = {}
  for line in (r.out or ""):gmatch("([^\n]*)\n") do out[#out + 1] = line end
  return out
end

-- A SET writer: GET PREFIX:i for i = 0..upto-1 (MGET in chunks). Values
-- must match their keys, the keys present must be 0..k-1 (one connection
-- writes in order, and LMDB commits in order); returns k.
local function check_strings(port, w, upto)
  local script = {}
  for first = 0, upto - 1, CHUNK do
    local keys = {}
    for i = first, math.min(first + CHUNK, upto) - 1 do keys[#keys + 1] = w.name .. ":" .. i end
    script[#script + 1] = "MGET " .. table.concat(keys, " ")
  end
  local values = raw_lines(port, table.concat(script, "\n") .. "\n")
  assert.are.equal(upto, #values, w.name .. ": MGET returned a wrong number of values")
  local present = 0
  for i = 0, upto - 1 do
    local v = values[i + 1]
    if v ~= "" then
      assert.are.equal(tostring(i), v, w.name .. ":" .. i .. " has a wrong value")
      assert.are.equal(i, present, w.name .. ":" .. i .. " is there but " .. w.name .. ":" .. present .. " is not")
      present = present + 1
    end
  end
  return present
end

-- The --mixed writer's four keys: each must hold a consistent prefix of
-- the writes (list 0..L-1 in order, hash f0..fH-1, zset m0..mZ-1 scored
-- 0..Z-1, counter C), and, as each i is acknowledged only after its four
-- writes, the four lengths differ by at most the pipeline depth. Returns
-- the smallest and the largest of C, L, H, Z.
local function check_mixed(port, w)
  local p = w.name
  local counter = raw_lines(port, "GET " .. p .. ":counter\n")[1]
  local C = counter == "" and 0 or tonumber(counter)
  assert(C and C >= 0, p .. ":counter is not a count: " .. tostring(counter))

  local list = raw_lines(port, "LRANGE " .. p .. ":list 0 -1\n")
  if #list == 1 and list[1] == "" then list = {} end
  for i, v in ipairs(list) do
    assert.are.equal(tostring(i - 1), v, p .. ":list element " .. (i - 1) .. " is wrong")
  end
  local L = #list

  local flat = raw_lines(port, "HGETALL " .. p .. ":hash\n")
  if #flat == 1 and flat[1] == "" then flat = {} end
  assert(#flat % 2 == 0, p .. ":hash: odd HGETALL reply")
  local fields, H = {}, 0
  for i = 1, #flat, 2 do
    assert(not fields[flat[i]], p .. ":hash: field " .. flat[i] .. " twice")
    fields[flat[i]] = flat[i + 1]
    H = H + 1
  end
  for i = 0, H - 1 do
    assert.are.equal(tostring(i), fields["f" .. i], p .. ":hash field f" .. i .. " is wrong or missing")
  end

  local z = raw_lines(port, "ZRANGE " .. p .. ":zset 0 -1 WITHSCORES\n")
  if #z == 1 and z[1] == "" then z = {} end
  assert(#z % 2 == 0, p .. ":zset: odd ZRANGE reply")
  local Z = #z // 2
  for i = 0, Z - 1 do
    assert.are.equal("m" .. i, z[2 * i + 1], p .. ":zset member " .. i .. " is wrong")
    assert.are.equal(tostring(i), z[2 * i + 2], p .. ":zset score of m" .. i .. " is wrong")
  end

  local lo, hi = math.min(C, L, H, Z), math.max(C, L, H, Z)
  assert(hi - lo <= w.pipeline, string.format("%s: counter %d, list %d, hash %d, zset %d disagree", p, C, L, H, Z))
  return lo, hi
end

-- Checks a writer's data on the restarted node; returns its result: name,
-- acked (before the kill), kept (of those, after the restart), extra
-- (writes there but never acknowledged), missing (which, in words).
local function check_writer(port, w)
  local n = acknowledged(w)
  local res = { name = w.name, acked = n }
  if w.mixed then
    local lo, hi = check_mixed(port, w)
    res.kept, res.extra = math.min(lo, n), math.max(hi - n, 0)
    res.missing = string.format("index %d to %d of %s:counter/list/hash/zset", res.kept, n - 1, w.name)
  else
    local k = check_strings(port, w, n + w.pipeline + 64)
    res.kept, res.extra = math.min(k, n), math.max(k - n, 0)
    res.missing = string.format("keys %s:%d to %s:%d", w.name, res.kept, w.name, n - 1)
  end
  return res
end

-- One round: the writers (on prefixes of their own) load the node, which
-- is killed with SIGKILL meanwhile, then restarted on the same home.
local function load_and_kill(node, dir, round)
  local writers = {}
  for _, spec in ipairs(WRITERS) do
    local w = { name = spec.name .. round, mixed = spec.mixed, pipeline = spec.pipeline, window = spec.window }
    writers[#writers + 1] = w
    start_writer(dir, node.db_port, w)
  end
  local ok, err = pcall(function()
    sleep(LOAD_SECONDS)
    for _, w in ipairs(writers) do
      assert(not t.exists(w.base .. ".rc"), w.name .. " stopped before the kill: " .. tostring(t.slurp(w.base .. ".err")))
    end
    t.kill_node(node)
    for _, w in ipairs(writers) do
      assert(t.wait_for(function() return t.exists(w.base .. ".rc") end, 20), w.name .. " did not exit")
      local rc = (t.slurp(w.base .. ".rc") or ""):gsub("%s+$", "")
      assert.are.equal("0", rc, w.name .. " exited " .. rc .. ": " .. tostring(t.slurp(w.base .. ".err")))
    end
  end)
  if not ok then
    for _, w in ipairs(writers) do -- none may outlive the test
      local pid = tonumber(t.slurp(w.base .. ".pid") or "")
      if pid and not t.exists(w.base .. ".rc") then os.execute("kill " .. pid .. " 2>/dev/null") end
    end
    error(err, 0)
  end
  t.restart_node(node)
  assert(t.wait_for(function() return t.redis(node.db_port, "PING") == "PONG" end, 10), "no PONG after the restart")
  return writers
end

-- Starts a node with the given db_sync and runs rounds of load_and_kill;
-- after each restart it checks the writers of every round so far (what
-- was there after one restart must survive the next ones). report(round,
-- results) is called after each check, on the results of that round's
-- writers; it may assert.
local function crash_run(sync, rounds, report)
  local node = t.start_node({ settings = { db_sync = sync } })
  local dir = t.tmpdir()
  local ok, err = pcall(function()
    assert.are.equal("PONG", t.redis(node.db_port, "PING"))
    local all, first = {}, {}
    for round = 1, rounds do
      local writers = load_and_kill(node, dir, round)
      local results = {}
      for _, w in ipairs(writers) do
        local res = check_writer(node.db_port, w)
        results[#results + 1] = res
        all[#all + 1] = w
        first[w] = res
      end
      report(round, results)
      for _, w in ipairs(all) do -- the earlier rounds' writes are all still there
        local res = check_writer(node.db_port, w)
        assert(res.kept >= first[w].kept, string.format("%s: %d writes kept after one restart, %d after a later one",
          w.name, first[w].kept, res.kept))
      end
    end
  end)
  t.stop_node(node)
  t.rmtree(dir)
  if not ok then error(err, 0) end
end

local function report(sync, round, results)
  local parts = {}
  for _, r in ipairs(results) do
    parts[#parts + 1] = string.format("%s: %d acknowledged, %d lost, %d more unacknowledged kept",
      r.name, r.acked, r.acked - r.kept, r.extra)
  end
  io.stderr:write("\n[crash " .. sync .. " round " .. round .. "] " .. table.concat(parts, "; ") .. "\n")
end

-- Rounds of kill and restart per test: each gives another chance to catch
-- a reply sent before its commit.
local ROUNDS = tonumber(os.getenv("CRASH_ROUNDS") or "") or 3

describe("RESP after SIGKILL", function()
  it("keeps every acknowledged write under db_sync always", function()
    crash_run("always", ROUNDS, function(round, results)
      report("always", round, results)
      for _, r in ipairs(results) do
        assert(r.acked > 0, r.name .. ": no write was acknowledged before the kill")
        assert(r.kept == r.acked, string.format("%s: acknowledged writes lost: %d of %d kept (missing: %s)",
          r.name, r.kept, r.acked, r.missing))
      end
    end)
  end)

  it("restarts consistent under db_sync everysec", function()
    -- may lose up to about a second of writes: reported, not asserted
    crash_run("everysec", 1, function(round, results) report("everysec", round, results) end)
  end)
end)
