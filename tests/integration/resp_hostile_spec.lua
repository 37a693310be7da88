-- One hostile client against the Redis protocol endpoint (issue 10): each
-- attack is repeated against a real node with raw sockets (resp_attack.py),
-- and the node must stay up, answer an ordinary client meanwhile (a PING on
-- a second connection, within resp_attack.py's ANSWER_WITHIN seconds), keep
-- its memory bounded, and write nothing where the attacker may not.
local t = require("helpers")
local lines = t.lines
local json = require("dkjson")

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local ATTACK = "python3 " .. t.quote(here .. "resp_attack.py")

local function attack(...)
  local parts = { ATTACK }
  for _, a in ipairs({ ... }) do parts[#parts + 1] = t.quote(tostring(a)) end
  local r = t.sh(table.concat(parts, " "))
  assert(r.code == 0, r.err)
  return json.decode(r.out)
end

-- the bytes of one request in the multibulk form
local function bulk(...)
  local out = { "*" .. select("#", ...) .. "\r\n" }
  for _, a in ipairs({ ... }) do out[#out + 1] = "$" .. #a .. "\r\n" .. a .. "\r\n" end
  return table.concat(out)
end

local function file_of(bytes)
  local f = os.tmpname()
  t.write(f, bytes)
  return f
end

-- Peak memory is compared only without AddressSanitizer: its quarantine
-- keeps freed memory resident on purpose.
local measures_memory = not t.sh("ldd " .. t.quote(t.bin)).out:find("libasan", 1, true)

local function status_kb(pid, field)
  local s = t.slurp("/proc/" .. pid .. "/status")
  return tonumber(s:match(field .. ":%s*(%d+)"))
end

-- grew by less than kb since peak_before (VmHWM, kB), where that can be measured
local function peak_grew_less(pid, peak_before, kb)
  return not measures_memory or status_kb(pid, "VmHWM") - peak_before < kb
end

local function open_fds(pid)
  return tonumber(t.sh("ls /proc/" .. pid .. "/fd | wc -l").out)
end

-- waits (up to secs) for cond() to hold; returns whether it did
local function eventually(cond, secs)
  for _ = 1, (secs or 5) * 10 do
    if cond() then return true end
    t.sh("sleep 0.1")
  end
  return cond()
end

local function token_of(key, ttl)
  local args = { "lpki", "token", "-k", key }
  if ttl then args[#args + 1] = "--ttl"; args[#args + 1] = tostring(ttl) end
  local r = t.leither(table.unpack(args))
  assert(r.code == 0, r.err)
  return (r.out:gsub("\n$", ""))
end

describe("RESP under attack: loopback owner", function()
  local node, dir, stranger
  setup(function()
    -- a guest quota, so that the stranger's key may own a database of its own
    node = t.start_node({ settings = { guest_quota = { per_identity_bytes = 1 << 24, total_bytes = 1 << 26 } } })
    dir = t.tmpdir()
    stranger = dir .. "/stranger.key"
    assert.are.equal(0, t.leither("lpki", "genkey", "-o", stranger).code)
  end)
  teardown(function()
    t.stop_node(node)
    t.rmtree(dir)
  end)

  it("answers a million pipelined PINGs read slowly, and others meanwhile (finding 2)", function()
    local r = attack("pipeline", node.db_port, 1000000)
    assert.are.equal(r.expected, r.reply_bytes)
    assert.are.equal(0, r.other_misses)
    assert.is_true(r.other_pings > 0)
    assert.is_true(t.alive(node.pid))
  end)

  it("reads a connection again after a reply over 1 MiB, and closes it when the client leaves (finding 10a)", function()
    local before = open_fds(node.pid)
    local r = attack("bigget", node.db_port, 1200000)
    assert.are.equal("+OK", r.set)
    assert.are.equal(1200000, r.get_bytes)
    assert.are.equal("+PONG", r.pong)
    assert.is_true(eventually(function() return open_fds(node.pid) <= before end),
      "the node kept the socket of a client that left: " .. open_fds(node.pid) .. " fds, " .. before .. " before")
  end)

  it("matches star-heavy patterns in bounded time (finding 10b)", function()
    -- 20 stars against 40 a's: exponential for a backtracking matcher
    local stars = string.rep("a*", 20) .. "b"
    local f = file_of(bulk("SET", string.rep("a", 40), "1") .. bulk("KEYS", stars)
      .. bulk("SCAN", "0", "MATCH", stars, "COUNT", "100") .. bulk("HSET", "h", string.rep("a", 40), "1")
      .. bulk("HSCAN", "h", "0", "MATCH", stars) .. bulk("PING", "done"))
    local r = attack("busy", node.db_port, f, "^done$") -- the last PING's reply: the others came first
    os.remove(f)
    assert.are.equal("done", r.reply)
    assert.are.equal(0, r.other_misses)
    -- a pattern whose work is quadratic in its length: stopped with an error
    -- at the work budget, not after minutes
    f = file_of(bulk("SET", string.rep("k", 100000), "1") .. bulk("KEYS", "*" .. string.rep("k", 5000) .. "x"))
    r = attack("busy", node.db_port, f, "^[-*]")
    os.remove(f)
    assert.matches("^%-ERR keys stopped", r.reply)
    assert.are.equal(0, r.other_misses)
    t.redis(node.db_port, "FLUSHDB")
  end)

  it("keeps Redis's glob semantics", function()
    local redis = t.start_redis()
    local script = lines("MSET hello 1 hallo 2 hxllo 3 heeello 4 'h*llo' 5 'a?b' 6 'a[b' 7 'x\\y' 8 HELLO 9",
      "KEYS h?llo", "KEYS h*llo", "KEYS h[ae]llo", "KEYS h[^e]llo", "KEYS h[a-b]llo", "KEYS h[b-a]llo",
      "KEYS h\\*llo", "KEYS a\\?b", "KEYS a[[]b", "KEYS *[", "KEYS [", "KEYS x\\\\y", "KEYS *l*o", "KEYS **",
      "KEYS HE*", "KEYS h*l*o*", "KEYS *\\", "HSET hh hello 1 hallo 2 HELLO 3", "HSCAN hh 0 MATCH h[a-z]llo",
      "SADD ss hello hallo", "SSCAN ss 0 MATCH *a*")
    local ours, theirs = t.both(node.db_port, redis.port, script)
    t.stop_redis(redis)
    assert.are.same(t.sorted_lines(theirs), t.sorted_lines(ours))
    t.redis(node.db_port, "FLUSHDB")
  end)

  it("gives a token no write rights through RESET or a SELECT queued in MULTI (finding 3)", function()
    local port = node.db_port
    -- public: the stranger may read it, so only the write rule stands between them
    local owners = t.leither("mimei", "create", "-t", "db", "--public", "--home", node.home).out
      :match("mid= ([%w_%-]+)")
    local theirs = t.leither("mimei", "create", "-t", "db", "--home", node.home, "-k", stranger).out
      :match("mid= ([%w_%-]+)")
    assert.truthy(owners and theirs)
    local token = token_of(stranger)
    local out = t.redis_cli(port, lines("AUTH " .. token, "RESET", "SET stolen 1"))
    assert.matches("^OK\nRESET\n%(error%) NOPERM", out)
    out = t.redis_cli(port, lines("AUTH " .. token, "SELECT " .. theirs, "MULTI", "SELECT " .. owners,
      "SET stolen 1", "EXEC"))
    assert.matches("^OK\nOK\nOK\nQUEUED\nQUEUED\n", out)
    assert.truthy(out:find("NOPERM", 1, true), out)
    -- the owner finds nothing written in either database
    assert.are.equal("(nil)", t.redis(port, "GET", "stolen"))
    assert.are.equal("OK\n(nil)\n", t.redis_cli(port, lines("SELECT " .. owners, "GET stolen")))
    -- AUTH and HELLO AUTH decide the rights on the selected database again
    out = t.redis_cli(port, lines("SELECT " .. owners, "AUTH " .. token, "SET stolen 1"))
    assert.are.equal("OK\nOK\n(error) NOPERM this connection may not write to " .. owners .. "\n", out)
    out = t.redis_cli(port, lines("SELECT " .. theirs, "HELLO 2 AUTH default " .. token, "SET mine 1", "SELECT 0",
      "SET stolen 1"))
    assert.matches("OK\nOK\n%(error%) NOPERM this connection may not write to this database\n$", out)
    assert.are.equal("(nil)", t.redis(port, "GET", "stolen"))
    assert.are.equal("OK\n(nil)\n", t.redis_cli(port, lines("SELECT " .. owners, "GET stolen")))
  end)

  it("leaves CONFIG SET and CLIENT LIST/KILL to the owner (finding 9)", function()
    local port = node.db_port
    local token = token_of(stranger)
    local out = t.redis_cli(port, lines("AUTH " .. token, "CONFIG SET proto-max-bulk-len 1024", "CLIENT LIST",
      "CLIENT KILL ID 1", "CONFIG GET proto-max-bulk-len"))
    -- (redis-cli prints CLIENT LIST's reply raw, errors too)
    assert.matches("^OK\n%(error%) NOPERM[^\n]*config|set[^\n]*\n[^\n]*NOPERM[^\n]*client|list[^\n]*\n"
      .. "%(error%) NOPERM[^\n]*client|kill", out)
    assert.are.equal("proto-max-bulk-len\n536870912\n",
      t.sh("redis-cli -p " .. port .. " CONFIG GET proto-max-bulk-len").out)
    assert.matches("id=%d+", t.redis(port, "CLIENT", "LIST"))
  end)

  it("closes a connection when its token expires", function()
    local r = attack("expire", node.db_port, token_of(stranger, 2), 4)
    assert.are.equal("+OK", r.auth)
    assert.are.equal("+PONG", r.before)
    assert.is_nil(r.after)
  end)

  describe("db/exec", function()
    local key
    local function exec(body)
      local text = json.encode(body)
      local f = file_of(text)
      local h = t.sh(table.concat({ os.getenv("SIGNED_FLOOD"), "-d", t.quote(text), "-H", node.port, t.quote(key), "1",
        "/api/v0/db/exec" }, " "))
      assert(h.code == 0, h.err)
      local r = t.curl(node.url .. "/api/v0/db/exec", "-X POST --data-binary @" .. f
        .. " -H " .. t.quote("Authorization: " .. h.out:gsub("\n$", "")))
      os.remove(f)
      return r
    end
    setup(function()
      key = node.home .. "/keys/node.key"
      local f = os.tmpname()
      local fh = io.open(f, "wb")
      for i = 0, 9999, 500 do
        local args = { "MSET" }
        for j = i, i + 499 do args[#args + 1] = "key:" .. j; args[#args + 1] = "v" end
        fh:write(bulk(table.unpack(args)))
      end
      fh:close()
      t.sh("redis-cli -p " .. node.db_port .. " --pipe < " .. f)
      os.remove(f)
      assert.are.equal("(integer) 10000", t.redis(node.db_port, "DBSIZE"))
    end)

    it("answers an error, not minutes of work, to 200 x KEYS * (finding 9)", function()
      local cmds = {}
      for i = 1, 200 do cmds[i] = { "KEYS", "*" } end
      local peak = status_kb(node.pid, "VmHWM")
      local r = exec({ cmds = cmds })
      assert.are.equal(400, r.status, r.body)
      assert.matches("stopped", r.body)
      assert.is_true(peak_grew_less(node.pid, peak, 100 * 1024), "the node's peak RSS grew by over 100 MB")
      assert.are.equal("PONG", t.redis(node.db_port, "PING"))
      -- a few are fine
      r = exec({ cmds = { { "KEYS", "key:999*" }, { "DBSIZE" } } })
      assert.are.equal(200, r.status, r.body)
      assert.are.equal(10000, json.decode(r.body).replies[2])
    end)

    it("caps commands and reply bytes per call", function()
      local cmds = {}
      for i = 1, 1001 do cmds[i] = { "PING" } end
      local r = exec({ cmds = cmds })
      assert.are.equal(400, r.status)
      assert.matches("more than 1000 commands", r.body)
      local f = file_of(bulk("SET", "mb", string.rep("x", 1 << 20)))
      assert.matches("^%+OK", attack("raw", node.db_port, f, 1).reply)
      os.remove(f)
      cmds = {}
      for i = 1, 20 do cmds[i] = { "GET", "mb" } end
      r = exec({ cmds = cmds })
      assert.are.equal(400, r.status)
      assert.matches("replies would pass", r.body)
    end)
  end)
end)

describe("RESP under attack: before AUTH (db_auth required)", function()
  local node
  setup(function() node = t.start_node({ settings = { db_auth = "required" } }) end)
  teardown(function() t.stop_node(node) end)

  it("answers pipelined PINGs before AUTH with little memory", function()
    local peak = status_kb(node.pid, "VmHWM")
    local r = attack("pipeline", node.db_port, 300000)
    assert.are.equal(r.expected, r.reply_bytes)
    assert.are.equal(0, r.other_misses)
    assert.is_true(peak_grew_less(node.pid, peak, 30 * 1024), "the node's peak RSS grew by over 30 MB")
  end)

  it("closes a connection whose request passes 64 KiB before AUTH, with a one-line error", function()
    local f = file_of(bulk("SET", "k", string.rep("v", 100 * 1024)))
    local r = attack("raw", node.db_port, f)
    os.remove(f)
    assert.matches("^%-ERR Protocol error: request too big for a client that has not authenticated", r.reply)
    assert.is_true(r.closed)
    assert.are.equal("PONG", t.redis(node.db_port, "PING"))
  end)

  it("splits a 60 KB inline command without copying the line per argument (finding 9)", function()
    local peak = status_kb(node.pid, "VmHWM")
    local f = file_of(string.rep("a ", 30000) .. "\r\nPING\r\n")
    local r = attack("raw", node.db_port, f, 2)
    os.remove(f)
    assert.matches("^%-ERR unknown command 'a'", r.reply)
    assert.truthy(r.reply:find("\r\n+PONG\r\n", 1, true), r.reply)
    assert.is_true(peak_grew_less(node.pid, peak, 20 * 1024), "the node's peak RSS grew by over 20 MB")
  end)
end)

-- Opens n connections to port at once, sends PING on each, and prints each
-- first reply line (an error line followed by the close gets " (closed)"),
-- one per line; keeps them open until all answered, then closes them and
-- does it once more with one connection.
local HOLD = [[
import socket, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
def first_line(s):
    s.settimeout(5)
    data = b""
    while not data.endswith(b"\r\n"):
        try:
            chunk = s.recv(256)
        except ConnectionResetError:
            return "reset" + (":" + data.decode() if data else "")
        if not chunk:
            return "closed" + (":" + data.decode() if data else "")
        data += chunk
    line = data.decode().strip()
    if line.startswith("-"):  # an error that ends the connection says so
        try:
            if s.recv(256) == b"":
                line += " (closed)"
        except ConnectionResetError:  # our PING raced the close
            line += " (closed)"
        except socket.timeout:
            pass
    return line
socks = []
for _ in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    socks.append(s)
for s in socks:
    try:
        s.sendall(b"PING\r\n")
    except OSError:
        pass
print("\n".join(first_line(s) for s in socks))
for s in socks:
    s.close()
# the node learns of the closes a moment later: a new client may try again
import time
for _ in range(20):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"PING\r\n")
    line = first_line(s)
    s.close()
    if line == "+PONG":
        break
    time.sleep(0.1)
print(line)
]]

local function hold(port, n)
  local f = os.tmpname()
  t.write(f, HOLD)
  local r = t.sh("python3 " .. f .. " " .. port .. " " .. n)
  os.remove(f)
  assert(r.code == 0, r.err)
  local out = {}
  for line in r.out:gmatch("[^\n]+") do out[#out + 1] = line end
  return out
end

describe("RESP: connections at once (db_max_clients)", function()
  it("turns away a connection past the limit with Redis's error, and takes one again once another left", function()
    local node = t.start_node({ settings = { db_auth = "required", db_max_clients = 3 } })
    local replies = hold(node.db_port, 5)
    t.stop_node(node)
    assert.are.same({ "+PONG", "+PONG", "+PONG" }, { replies[1], replies[2], replies[3] })
    for i = 4, 5 do assert.are.equal("-ERR max number of clients reached (closed)", replies[i]) end
    assert.are.equal("+PONG", replies[6])
  end)

  it("never turns away the loopback owner", function()
    local node = t.start_node({ settings = { db_max_clients = 1 } })
    local replies = hold(node.db_port, 4)
    t.stop_node(node)
    assert.are.same({ "+PONG", "+PONG", "+PONG", "+PONG", "+PONG" }, replies)
  end)
end)
