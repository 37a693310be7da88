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
  return math.random(20000, 59999)
end

-- Creates a home and starts its node as a daemon on a free port.
-- opts.settings: table merged into SystemVars.json before the start.
-- Returns a node table: home, port, id, url, pid.
function M.start_node(opts)
  opts = opts or {}
  local home = opts.home or M.tmpdir()
  for _ = 1, 20 do
    local port = M.random_port()
    local r = M.leither("init", "--home", home, "-p", tostring(port))
    assert(r.code == 0, r.err)
    if opts.settings then
      local path = home .. "/SystemVars.json"
      local doc = M.decode(slurp(path))
      for k, v in pairs(opts.settings) do doc[k] = v end
      M.write(path, json.encode(doc))
    end
    r = M.leither("run", "-d", "--home", home)
    if r.code == 0 then
      local node = { home = home, port = port, url = "http://127.0.0.1:" .. port }
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

return M
