-- Helpers for the integration suite: run the real `leither` binary, start
-- real nodes in temporary homes on free ports, and talk to them with curl.
local json = require("dkjson")

local M = {}

M.bin = os.getenv("LEITHER_BIN") or "../../build/leither"

local function quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end
M.quote = quote

local function slurp(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end
M.slurp = slurp

function M.write(path, text, mode)
  local f = assert(io.open(path, mode or "wb"))
  f:write(text)
  f:close()
end

-- Runs a shell command line; returns {out=, err=, code=}.
function M.sh(cmdline)
  local out, err = os.tmpname(), os.tmpname()
  local ok, _, code = os.execute("(" .. cmdline .. ") >" .. out .. " 2>" .. err .. " </dev/null")
  local r = { out = slurp(out), err = slurp(err), code = ok and 0 or code }
  os.remove(out)
  os.remove(err)
  return r
end

-- Runs leither with the given arguments (each quoted).
function M.leither(...)
  local parts = { quote(M.bin) }
  for _, a in ipairs({ ... }) do parts[#parts + 1] = quote(a) end
  return M.sh(table.concat(parts, " "))
end

function M.decode(text)
  local doc, _, err = json.decode(text or "")
  assert(doc, "not JSON: " .. tostring(err) .. " in: " .. tostring(text))
  return doc
end

function M.tmpdir()
  local r = M.sh("mktemp -d /tmp/leither-test-XXXXXX")
  return (r.out:gsub("%s+$", ""))
end

function M.rmtree(dir)
  assert(dir:match("^/tmp/leither%-test%-"), "refusing to remove " .. dir)
  os.execute("rm -rf " .. quote(dir))
end

-- A random port in a range nodes of other tests are unlikely to take.
local seeded = false
function M.random_port()
  if not seeded then
    local f = io.open("/dev/urandom", "rb")
    local b = f:read(4)
    f:close()
    math.randomseed(string.unpack("I4", b))
    seeded = true
  end
  -- below Linux's ephemeral range (32768-60999), which outgoing
  -- connections take their local ports from
  return math.random(20000, 32767)
end

-- Creates a home and starts its node as a daemon on free ports (HTTP,
-- RESP, the DHT's UDP port).
-- opts.settings: table merged into SystemVars.json before the start.
-- Returns a node table: home, port, db_port, dht_port, id, url, pid.
function M.start_node(opts)
  opts = opts or {}
  local home = opts.home or M.tmpdir()
  for _ = 1, 20 do
    local port = M.random_port()
    local r = M.leither("init", "--home", home, "-p", tostring(port))
    assert(r.code == 0, r.err)
    local path = home .. "/SystemVars.json"
    local doc = M.decode(slurp(path))
    local db_port = M.random_port()
    doc.db_port = db_port
    -- the DHT on a port of its own, joining no one unless a spec says
    -- (never the default bootstrap nodes on the internet)
    doc.dht_port = M.random_port()
    doc.bootstrap = {}
    for k, v in pairs(opts.settings or {}) do doc[k] = v end
    M.write(path, json.encode(doc))
    r = M.leither("run", "-d", "--home", home)
    if r.code == 0 then
      local node = { home = home, port = port, db_port = db_port, dht_port = doc.dht_port,
        url = "http://127.0.0.1:" .. port }
      local status = M.decode(M.leither("status", "--home", home, "--json").out)
      node.id, node.pid = status.ID, status.Pid
      return node
    end
    assert(r.err:find("already in use", 1, true), r.err)
  end
  error("no free port found")
end

-- Stops the node and removes its home. In a sanitizer build a report goes
-- to the daemon's log, so the log must have none.
function M.stop_node(node)
  if M.leither("status", "--home", node.home).code == 0 then
    M.leither("stop", "--home", node.home)
  end
  M.assert_clean_log(node.home)
  M.rmtree(node.home)
end

function M.assert_clean_log(home)
  local log = slurp(home .. "/leither.log") or ""
  assert(not log:find("Sanitizer") and not log:find("runtime error:"), "sanitizer report in leither.log:\n" .. log)
end

-- curl: returns {status=, body=, headers=}. extra: further curl arguments.
function M.curl(url, extra)
  local body = os.tmpname()
  local r = M.sh("curl -s -g --noproxy '*' -o " .. body .. " -w '%{http_code}' " .. (extra or "") .. " " .. quote(url))
  local b = slurp(body)
  os.remove(body)
  return { status = tonumber(r.out), body = b, code = r.code }
end

-- curl keeping the response headers: {status=, body=, headers={lowercase name = value}};
-- the path goes as written (--path-as-is), so dot segments reach the node.
function M.get(url, extra)
  local body, hdr = os.tmpname(), os.tmpname()
  local r = M.sh("curl -s -g --path-as-is --noproxy '*' -o " .. body .. " -D " .. hdr .. " -w '%{http_code}' "
    .. (extra or "") .. " " .. quote(url))
  local res = { status = tonumber(r.out), body = slurp(body) or "", headers = {} }
  for line in (slurp(hdr) or ""):gmatch("[^\r\n]+") do
    local k, v = line:match("^([^:]+):%s*(.*)$")
    if k then res.headers[k:lower()] = v end
  end
  os.remove(body)
  os.remove(hdr)
  return res
end

-- A runner of the CLI in the home of the node home_of() returns (a spec's
-- node is started in its setup, after the runner is made).
function M.cli_in(home_of)
  return function(...)
    local args = { ... }
    args[#args + 1] = "--home"
    args[#args + 1] = home_of()
    return M.leither(table.unpack(args))
  end
end

-- A CLI result that must have succeeded: its output.
function M.ok(r)
  require("luassert").are.equal(0, r.code, r.err)
  return r.out
end

function M.exists(path)
  local f = io.open(path, "rb")
  if f then f:close() return true end
  return false
end

-- Whether a process is alive: it exists and is not a zombie awaiting its reaper.
function M.alive(pid)
  local stat = slurp("/proc/" .. tonumber(pid) .. "/stat")
  return stat ~= nil and stat:match("%) (%a)") ~= "Z"
end

-- Polls pred every 0.05 s for up to `seconds`; whether it came true.
function M.wait_for(pred, seconds)
  for _ = 1, seconds * 20 do
    if pred() then return true end
    os.execute("sleep 0.05")
  end
  return pred()
end

-- Whether a killed process is gone with all its threads: its leader may
-- show as a zombie while other threads (one in fdatasync, say) still hold
-- the process's files, its listening sockets among them.
local function gone(pid)
  local r = M.sh("ls /proc/" .. tonumber(pid) .. "/task 2>/dev/null | wc -l")
  return not M.alive(pid) and tonumber(r.out) <= 1
end

-- Kills the node with SIGKILL and waits until it is gone.
function M.kill_node(node)
  assert(M.sh("kill -9 " .. tonumber(node.pid)).code == 0, "kill -9 failed")
  assert(M.wait_for(function() return gone(node.pid) end, 10), "the node survived SIGKILL")
end

-- Starts a killed node again on its home; node.pid becomes the new one.
function M.restart_node(node)
  local r
  M.wait_for(function() -- a port may stay taken a moment after the kill
    r = M.leither("run", "-d", "--home", node.home)
    return r.code == 0 or not r.err:find("already in use", 1, true)
  end, 5)
  assert(r.code == 0, "the node did not restart: " .. tostring(r.err))
  node.pid = M.decode(M.leither("status", "--home", node.home, "--json").out).Pid
end

-- RESP: redis-cli against a node's db_port or a real redis-server.

-- Runs a script (one command a line) through redis-cli; returns its output
-- in redis-cli's --no-raw form, e.g. "(integer) 1", "(error) ERR ...".
function M.redis_cli(port, script, extra)
  local f = os.tmpname()
  M.write(f, script)
  local r = M.sh("redis-cli --no-raw -p " .. tonumber(port) .. " " .. (extra or "") .. " < " .. f)
  os.remove(f)
  return r.out
end

-- One command, its arguments quoted for redis-cli's own tokenizer.
function M.redis(port, ...)
  local parts = { "redis-cli", "--no-raw", "-p", tostring(port) }
  for _, a in ipairs({ ... }) do parts[#parts + 1] = quote(a) end
  local r = M.sh(table.concat(parts, " "))
  return (r.out:gsub("\n$", ""))
end

-- A real redis-server on a free port, as the reference for replies.
function M.start_redis()
  for _ = 1, 20 do
    local port = M.random_port()
    local dir = M.tmpdir()
    local r = M.sh("redis-server --port " .. port .. " --bind 127.0.0.1 --save '' --appendonly no --daemonize yes"
      .. " --dir " .. quote(dir) .. " --pidfile " .. quote(dir .. "/redis.pid") .. " --logfile " .. quote(dir .. "/log"))
    if r.code == 0 then
      for _ = 1, 100 do
        if M.redis(port, "PING") == "PONG" then return { port = port, dir = dir } end
        os.execute("sleep 0.02")
      end
    end
    M.rmtree(dir)
  end
  error("could not start redis-server")
end

function M.stop_redis(r)
  M.sh("redis-cli -p " .. r.port .. " shutdown nosave")
  M.rmtree(r.dir)
end

-- A script: one command a line.
function M.lines(...)
  return table.concat({ ... }, "\n") .. "\n"
end

-- Undoes redis-cli's quoting of a string reply ("a\nb", "\xff").
function M.unquote(q)
  local map = { n = "\n", r = "\r", t = "\t", a = "\a", b = "\b" }
  local out, i = {}, 1
  while i <= #q do
    local ch = q:sub(i, i)
    if ch == "\\" then
      local nx = q:sub(i + 1, i + 1)
      if nx == "x" then
        out[#out + 1] = string.char(tonumber(q:sub(i + 2, i + 3), 16))
        i = i + 4
      else
        out[#out + 1] = map[nx] or nx
        i = i + 2
      end
    else
      out[#out + 1] = ch
      i = i + 1
    end
  end
  return table.concat(out)
end

-- One command: the strings of its reply in order (a SCAN's cursor first),
-- from redis-cli --no-raw output.
function M.strings(port, ...)
  local parts = { "redis-cli", "--no-raw", "-p", tostring(port) }
  for _, a in ipairs({ ... }) do parts[#parts + 1] = quote(a) end
  local r = M.sh(table.concat(parts, " "))
  local out = {}
  for l in r.out:gmatch("[^\n]+") do
    local q = l:match('^[%s%d%)]*"(.*)"$')
    if q then out[#out + 1] = M.unquote(q) end
  end
  return out
end

-- redis-cli --no-raw output with "N) " markers stripped and lines sorted:
-- equal for two replies with the same elements in any order.
function M.sorted_lines(out)
  local ls = {}
  for l in out:gmatch("[^\n]+") do
    local prev
    repeat -- nested replies carry one "N) " per level
      prev = l
      l = l:gsub("^%s*%d+%)%s*", ""):gsub("^%d+~%s*", "")
    until l == prev
    ls[#ls + 1] = l
  end
  table.sort(ls)
  return table.concat(ls, "\n")
end

-- Runs the same script on the node and on redis-server (each on an empty
-- database first) and returns both outputs, for assert.are.equal.
function M.both(node_port, redis_port, script)
  M.redis(node_port, "FLUSHDB")
  M.redis(redis_port, "FLUSHDB")
  return M.redis_cli(node_port, script), M.redis_cli(redis_port, script)
end

-- A provider that lies (liar_gateway.py): relays GETs to upstream (a
-- node's URL) and misbehaves as mode says (tamper, tamper-raw, die:N,
-- oversize, slow). Returns its port and its pid (stop it with
-- M.stop_liar).
function M.start_liar(upstream, mode)
  for _ = 1, 20 do
    local port = M.random_port()
    local out = os.tmpname()
    local pid = M.sh("python3 ./liar_gateway.py " .. port .. " " .. quote(upstream) .. " " .. quote(mode) .. " >"
      .. out .. " 2>&1 & echo $!").out:gsub("%s+$", "")
    for _ = 1, 50 do
      if (slurp(out) or ""):find("ready") then break end
      os.execute("sleep 0.05")
    end
    local up = (slurp(out) or ""):find("ready")
    os.remove(out)
    if up then return port, pid end
    M.sh("kill " .. pid)
  end
  error("no liar_gateway.py started")
end

function M.stop_liar(pid)
  M.sh("kill " .. tonumber(pid))
end

-- Polls fn every 0.2 s (up to `seconds`, default 20) until it returns a
-- true value; returns it (or fn's last answer).
function M.eventually(fn, seconds)
  for _ = 1, math.floor((seconds or 20) / 0.2) do
    local v = fn()
    if v then return v end
    os.execute("sleep 0.2")
  end
  return fn()
end

-- Leither's OpenDHT network id (runtime/dht/dht.h DHT_NETWORK_ID)
M.DHT_NETWORK = "0x4c544852"

-- Runs Debian's dhtnode in our network (or `network`), bootstrapped off
-- 127.0.0.1:boot_port, feeding it commands one a line; returns what it
-- printed. It is killed 3 s after its 30 s: it may hang in its shutdown.
function M.dhtnode(boot_port, commands, network)
  local script = os.tmpname()
  M.write(script, table.concat(commands, "\n") .. "\n")
  local r = M.sh("(sleep 1; cat " .. script .. "; sleep 3; echo x) | timeout -k 3 30 dhtnode -n "
    .. (network or M.DHT_NETWORK) .. " -p " .. M.random_port() .. " -b 127.0.0.1:" .. boot_port)
  os.remove(script)
  return r.out .. r.err
end

-- Bytes from hex text (dhtnode prints values in hex).
function M.unhex(text)
  return (text:gsub("%x%x", function(x) return string.char(tonumber(x, 16)) end))
end

return M
