-- The Redis protocol endpoint: strings, keyspace, transactions, expiry,
-- blocking pops, versions, AUTH and rights, protocol errors, server commands.
-- Replies are compared with a real redis-server wherever Redis defines them.
local t = require("helpers")
local lines = t.lines


-- Sends raw bytes on one connection (curl's telnet:// keeps it open for
-- `secs`) and returns what came back.
local function raw(port, bytes, secs)
  local f = os.tmpname()
  t.write(f, bytes)
  local r = t.sh("curl -s --max-time " .. (secs or 1) .. " telnet://127.0.0.1:" .. port .. " < " .. f)
  os.remove(f)
  return r.out
end

describe("RESP: strings and keys", function()
  local node, redis
  setup(function()
    node = t.start_node()
    redis = t.start_redis()
  end)
  teardown(function()
    t.stop_node(node)
    t.stop_redis(redis)
  end)

  local function same(script)
    local ours, theirs = t.both(node.db_port, redis.port, script)
    assert.are.equal(theirs, ours)
  end

  it("answers string commands as Redis does", function()
    same(lines("SET k v", "GET k", "GET nope", "SET k v2 GET", "SET k v3 NX", "SET k v4 XX GET", "GET k",
      "SET n 10", "INCR n", "INCRBY n -30", "DECR n", "DECRBY n 5", "INCRBYFLOAT n 1.5", "INCRBYFLOAT n 1e3",
      "INCRBYFLOAT n abc", "INCR k", "SET big 9223372036854775807", "INCR big", "DECRBY n -9223372036854775808",
      "APPEND s hello", "APPEND s ' world'", "STRLEN s", "STRLEN nope", "GETRANGE s 0 4", "GETRANGE s -5 -1",
      "GETRANGE s 5 2", "GETRANGE nope 0 1", "SETRANGE s 6 WORLD", "GET s", "SETRANGE pad 5 x", "GET pad",
      "SETRANGE s -1 x", "MSET a 1 b 2 c 3", "MGET a b nope c", "MSETNX a 9 z 9", "MSETNX y 1 z 2", "MGET y z",
      "GETSET a 10", "GETDEL b", "GETDEL b", "SETNX a 5", "SETNX fresh 5", "SUBSTR s 0 2"))
  end)

  it("answers wrong types, bad arguments and arity as Redis does", function()
    same(lines("RPUSH l x", "GET l", "APPEND l x", "INCR l", "SET l x GET", "STRLEN l", "GETRANGE l 0 1",
      "SET k v EX 0", "SET k v EX -1", "SET k v EX abc", "SET k v PX 10 EX 10", "SET k v NX XX",
      "SET k v KEEPTTL EX 5", "SET k v BOGUS", "SETEX k 0 v", "SETEX k x v", "PSETEX k -5 v", "GETEX k BOGUS",
      "MSET a", "MSET a 1 b", "GET", "GET a b", "SET k", "INCRBY k 1.5", "NOSUCHCOMMAND a b",
      "TYPE l", "TYPE nope", "EXISTS l nope l", "DEL l nope", "EXISTS l"))
  end)

  it("renames, deletes and lists keys as Redis does", function()
    same(lines("SET a 1", "RPUSH l x y", "RENAME a b", "GET a", "GET b", "RENAME nope x", "RENAMENX b l",
      "RENAMENX b c", "RENAME l l", "LRANGE l 0 -1", "DBSIZE", "KEYS [bc]", "KEYS l?", "KEYS nothing*", "UNLINK c l",
      "DBSIZE", "FLUSHDB", "DBSIZE", "RANDOMKEY"))
  end)

  it("lists every key with KEYS (in an order of its own)", function()
    t.redis_cli(node.db_port, lines("FLUSHDB", "SET b 1", "SET a 1", "RPUSH c x", "SET ab 1"))
    local out = t.redis(node.db_port, "KEYS", "*")
    local keys = {}
    for k in out:gmatch('"([^"]+)"') do keys[#keys + 1] = k end
    table.sort(keys)
    assert.are.same({ "a", "ab", "b", "c" }, keys)
    assert.are.equal('1) "a"\n2) "ab"', t.redis(node.db_port, "KEYS", "a*"))
  end)

  it("takes keys, fields and members longer than LMDB's keys (511 bytes)", function()
    local k, f = string.rep("k", 3000), string.rep("f", 1000)
    same(lines("SET " .. k .. " v", "GET " .. k, "STRLEN " .. k, "HSET h " .. f .. " x " .. f .. "2 y s z", "HLEN h",
      "HGET h " .. f .. "2", "SADD s " .. f .. " " .. f .. " a", "SCARD s", "SISMEMBER s " .. f,
      "ZADD z 1 " .. f .. " 2 b", "ZSCORE z " .. f, "ZRANGE z 0 0", "HDEL h " .. f, "HLEN h", "DEL " .. k,
      "EXISTS " .. k))
    t.redis(node.db_port, "SET", k, "again")
    local keys = t.strings(node.db_port, "KEYS", "k*")
    assert.are.same({ k }, keys)
  end)

  it("gives scan cursors of every kind that fit in 63 bits, a batch at a time", function()
    local p = node.db_port
    local script = { "FLUSHDB" }
    for i = 1, 600 do
      local m = "member:with:a:long:shared:prefix:" .. i
      script[#script + 1] = "SADD s " .. m .. "\nZADD z " .. i .. " " .. m .. "\nHSET h " .. m .. " v"
    end
    t.redis_cli(p, table.concat(script, "\n") .. "\n")
    for _, cmd in ipairs({ "SSCAN", "ZSCAN", "HSCAN" }) do
      local seen, n, cursor, calls = {}, 0, "0", 0
      repeat
        local out = t.strings(p, cmd, cmd == "SSCAN" and "s" or cmd == "ZSCAN" and "z" or "h", cursor, "COUNT", "20")
        cursor = out[1]
        assert.matches("^%d+$", cursor)
        assert.truthy(#cursor < 19 or (#cursor == 19 and cursor < "9223372036854775808"), cmd .. " " .. cursor)
        local step = cmd == "SSCAN" and 1 or 2
        assert.truthy((#out - 1) / step <= 200, cmd .. " batch of " .. (#out - 1) / step)
        for i = 2, #out, step do
          if not seen[out[i]] then n = n + 1 end
          seen[out[i]] = true
        end
        calls = calls + 1
      until cursor == "0" or calls > 1000
      assert.are.equal(600, n, cmd)
      assert.truthy(calls >= 3, cmd .. " took " .. calls .. " calls")
    end
  end)

  it("scans every key once, with MATCH, COUNT and TYPE", function()
    local script = {}
    for i = 1, 300 do script[#script + 1] = "SET key:" .. i .. " " .. i end
    script[#script + 1] = "RPUSH list:1 a"
    t.redis_cli(node.db_port, table.concat(script, "\n") .. "\n")
    local seen, cursor, calls = {}, "0", 0
    repeat
      local out = t.redis(node.db_port, "SCAN", cursor, "COUNT", "25", "MATCH", "key:*")
      cursor = out:match("^1%) \"(%d+)\"")
      for k in out:gmatch("\"(key:%d+)\"") do
        assert.is_nil(seen[k], k .. " returned twice")
        seen[k] = true
      end
      calls = calls + 1
    until cursor == "0" or calls > 100
    local n = 0
    for _ in pairs(seen) do n = n + 1 end
    assert.are.equal(300, n)
    assert.truthy(calls > 5)
    local lists = t.redis(node.db_port, "SCAN", "0", "COUNT", "1000", "TYPE", "list")
    assert.truthy(lists:find("list:1", 1, true))
    assert.falsy(lists:find("key:1", 1, true))
  end)

  it("expires keys: TTL, PTTL, PERSIST, the options, and keys really go", function()
    same(lines("SET k v", "TTL k", "TTL nope", "EXPIRE k 100", "TTL k", "EXPIRE k 50 GT", "EXPIRE k 500 GT",
      "TTL k", "EXPIRE k 5000 LT", "EXPIRE k 10 NX", "PERSIST k", "PERSIST k", "TTL k", "EXPIRE k 10 XX",
      "EXPIRE k 10 NX XX", "EXPIRE k 10 GT LT", "EXPIRE k abc", "EXPIRE nope 10", "EXPIRE k 10 BOGUS",
      "SET t v EX 100", "SET t w KEEPTTL", "TTL t", "SET t x", "TTL t", "EXPIRE k -1", "EXISTS k",
      "PEXPIREAT t 1", "EXISTS t"))
    assert.are.equal("OK", t.redis(node.db_port, "SET", "short", "v", "PX", "150"))
    assert.are.equal("(integer) 1", t.redis(node.db_port, "EXISTS", "short"))
    os.execute("sleep 0.3")
    assert.are.equal("(integer) 0", t.redis(node.db_port, "EXISTS", "short"))
    -- the expiry cycle removes keys nobody touches
    t.redis(node.db_port, "SET", "gone", "v", "PX", "100")
    os.execute("sleep 0.4")
    local info = t.redis(node.db_port, "INFO", "stats")
    assert.truthy(tonumber(info:match("expired_keys:(%d+)")) >= 1)
  end)

  it("keeps the expiry index right when TTLs change from several connections", function()
    local p = node.db_port
    local function expired()
      return tonumber(t.redis(p, "INFO", "stats"):match("expired_keys:(%d+)"))
    end
    local before = expired()
    t.redis(p, "SET", "e1", "v", "EX", "100")
    t.redis(p, "PEXPIRE", "e1", "200")             -- moved earlier, from another connection
    t.redis(p, "SET", "e2", "v", "PX", "200")
    t.redis(p, "PEXPIRE", "e2", "100000")          -- moved later
    t.redis(p, "SET", "e3", "v", "PX", "200")
    t.redis(p, "PERSIST", "e3")                    -- no TTL any more
    t.redis(p, "HSET", "e4", "f", "v")
    t.redis(p, "PEXPIRE", "e4", "200")
    t.redis(p, "HSET", "e4", "g", "w")             -- a write keeps the TTL
    os.execute("sleep 0.6")
    -- nobody touched them: only the expiry cycle can have removed e1 and e4
    assert.are.equal(before + 2, expired())
    assert.are.equal("(integer) 2", t.redis(p, "EXISTS", "e2", "e3"))
    assert.are.equal("(integer) -1", t.redis(p, "TTL", "e3"))
  end)
end)

describe("RESP: transactions", function()
  local node, redis
  setup(function()
    node = t.start_node()
    redis = t.start_redis()
  end)
  teardown(function()
    t.stop_node(node)
    t.stop_redis(redis)
  end)

  it("queues, executes, discards and aborts as Redis does", function()
    local ours, theirs = t.both(node.db_port, redis.port, lines("MULTI", "SET a 1", "INCR a", "RPUSH l x",
      "INCR l", "EXEC", "GET a", "MULTI", "SET b 1", "DISCARD", "GET b", "EXEC", "DISCARD", "MULTI", "MULTI",
      "SET c 1", "NOSUCH", "EXEC", "GET c", "MULTI", "SET c", "EXEC", "MULTI", "WATCH a", "EXEC"))
    assert.are.equal(theirs, ours)
  end)

  it("WATCH aborts EXEC when another client changed a key", function()
    local port = node.db_port
    -- a script run through one redis-cli connection, a change from another
    -- in between: a shell pipeline with a pause does it
    local script = "(printf 'SET w 1\\nWATCH w\\nMULTI\\nINCR w\\n'; sleep 0.3; printf 'EXEC\\nGET w\\n') | redis-cli --no-raw -p "
      .. port
    local r = t.sh("(sleep 0.15; redis-cli -p " .. port .. " SET w 100 >/dev/null) & " .. script .. "; wait")
    assert.truthy(r.out:find("(nil)", 1, true), r.out) -- EXEC aborted
    assert.truthy(r.out:find('"100"', 1, true), r.out)
    -- without a change, the transaction runs
    local out = t.redis_cli(port, lines("WATCH w", "MULTI", "INCR w", "EXEC"))
    assert.truthy(out:find("1) (integer) 101", 1, true), out)
  end)
end)

describe("RESP: blocking pops", function()
  local node
  setup(function() node = t.start_node() end)
  teardown(function() t.stop_node(node) end)

  it("BLPOP waits until another client pushes", function()
    local port = node.db_port
    local r = t.sh("(sleep 0.3; redis-cli -p " .. port .. " RPUSH jobs job1 >/dev/null) & "
      .. "redis-cli --no-raw -p " .. port .. " BLPOP jobs 5; wait")
    assert.are.equal('1) "jobs"\n2) "job1"\n', r.out)
    assert.are.equal("(integer) 0", t.redis(port, "LLEN", "jobs"))
  end)

  it("times out with a null, and serves clients in the order they came", function()
    local port = node.db_port
    local t0 = os.time()
    assert.are.equal("(nil)", t.redis(port, "BLPOP", "nothing", "0.2"))
    assert.truthy(os.time() - t0 <= 2)
    assert.matches("timeout is negative", t.redis(port, "BLPOP", "x", "-1"))
    assert.matches("timeout is not a float", t.redis(port, "BLPOP", "x", "abc"))
    local first, second = os.tmpname(), os.tmpname()
    local r = t.sh("redis-cli -p " .. port .. " BRPOP q 5 > " .. first .. " & sleep 0.2; "
      .. "redis-cli -p " .. port .. " BRPOP q 5 > " .. second .. " & sleep 0.2; "
      .. "redis-cli -p " .. port .. " RPUSH q a b > /dev/null; wait; cat " .. first .. " " .. second)
    assert.are.equal("q\nb\nq\na\n", r.out)
    os.remove(first)
    os.remove(second)
  end)

  it("BLMOVE and BZPOPMIN wake up too; INFO counts blocked clients", function()
    local port = node.db_port
    local info = os.tmpname()
    local r = t.sh("(sleep 0.4; redis-cli -p " .. port .. " ZADD z 2 b 1 a >/dev/null) & "
      .. "(sleep 0.2; redis-cli -p " .. port .. " INFO clients > " .. info .. ") & "
      .. "redis-cli --no-raw -p " .. port .. " BZPOPMIN z 5; wait")
    assert.are.equal('1) "z"\n2) "a"\n3) "1"\n', r.out)
    assert.matches("blocked_clients:1", t.slurp(info))
    os.remove(info)
    r = t.sh("(sleep 0.2; redis-cli -p " .. port .. " RPUSH src x >/dev/null) & "
      .. "redis-cli -p " .. port .. " BLMOVE src dst RIGHT LEFT 5; wait")
    assert.are.equal("x\n", r.out)
    assert.are.equal('1) "x"', t.redis(port, "LRANGE", "dst", "0", "-1"))
  end)

  it("does not block inside MULTI", function()
    local out = t.redis_cli(node.db_port, lines("MULTI", "BLPOP empty 10", "EXEC"))
    assert.are.equal("OK\nQUEUED\n1) (nil)\n", out)
  end)
end)

describe("RESP: MiMei databases, versions and rights", function()
  local node, dir, other_key
  setup(function()
    node = t.start_node()
    dir = t.tmpdir()
    other_key = dir .. "/other.key"
    assert.are.equal(0, t.leither("lpki", "genkey", "-o", other_key).code)
  end)
  teardown(function()
    t.stop_node(node)
    t.rmtree(dir)
  end)

  local function create(...)
    local r = t.leither("mimei", "create", "-t", "db", "--home", node.home, ...)
    assert.are.equal(0, r.code, r.err)
    return r.out:match("mid= ([%w_%-]+)")
  end

  it("init made a default database, and mimei create makes more", function()
    local settings = t.decode(t.slurp(node.home .. "/SystemVars.json"))
    assert.are.equal(27, #settings.db_default)
    local mid = create()
    assert.are.equal(27, #mid)
    assert.are.equal("OK", t.redis(node.db_port, "SELECT", mid))
    -- databases are separate
    t.redis_cli(node.db_port, lines("SET where default"))
    t.redis_cli(node.db_port, lines("SELECT " .. mid, "SET where mine"))
    assert.are.equal('"default"', t.redis(node.db_port, "GET", "where"))
    assert.are.equal('"mine"\n', t.redis_cli(node.db_port, lines("SELECT " .. mid, "GET where")):match('\n(.*)$'))
    local show = t.decode(t.leither("mimei", "show", mid, "--home", node.home, "--json").out)
    assert.are.equal("db", show.AppType)
    assert.are.equal(mid, show.ID)
    assert.matches("no database MiMei", t.redis(node.db_port, "SELECT", "AAAAAAAAAAAAAAAAAAAAAAAAAAA"))
  end)

  it("backs up in O(1), reads old versions read-only, and drops them", function()
    local mid = create()
    local port = node.db_port
    local out = t.redis_cli(port, lines("SELECT " .. mid, "SET a 1", "RPUSH l x y", "HSET h f v", "ZADD z 1 m",
      "MM.BACKUP", "SET a 2", "RPUSH l z", "DEL h", "SADD s new", "MM.BACKUP", "SET a 3"))
    assert.are.equal("OK\nOK\n(integer) 2\n(integer) 1\n(integer) 1\n(integer) 1\nOK\n(integer) 3\n(integer) 1\n"
      .. "(integer) 1\n(integer) 2\nOK\n", out)
    local v1 = t.redis_cli(port, lines("SELECT " .. mid .. "@1", "GET a", "LRANGE l 0 -1", "HGET h f", "EXISTS s",
      "SET a 9", "DEL a", "GET a"))
    assert.are.equal('OK\n"1"\n1) "x"\n2) "y"\n"v"\n(integer) 0\n'
      .. "(error) READONLY You can't write against a read only version (SELECT MID@N).\n"
      .. "(error) READONLY You can't write against a read only version (SELECT MID@N).\n\"1\"\n", v1)
    local v2 = t.redis_cli(port, lines("SELECT " .. mid .. "@2", "GET a", "LLEN l", "EXISTS h", "SMEMBERS s"))
    assert.are.equal('OK\n"2"\n(integer) 3\n(integer) 0\n1) "new"\n', v2)
    assert.are.equal('"3"', t.redis_cli(port, lines("SELECT " .. mid, "GET a")):match('\n(.-)\n$'))
    assert.matches("no version 7", t.redis(port, "SELECT", mid .. "@7"))
    -- the CLI's view of the same
    local r = t.leither("mimei", "grep", mid, "-v", "1", "--home", node.home)
    assert.are.equal(0, r.code, r.err)
    assert.truthy(r.out:find("a\tstring\t1\n", 1, true), r.out)
    assert.truthy(r.out:find("h\thash\tmap[f:v]\n", 1, true), r.out)
    r = t.leither("mimei", "backup", mid, "--home", node.home)
    assert.matches("MiMeiBackup ver= 3", r.out)
    local show = t.decode(t.leither("mimei", "show", mid, "--home", node.home, "--json").out)
    assert.are.equal(3, #show.Versions)
    -- dropping version 1 frees the entries only it used; 2 and cur are intact
    local dropped = t.redis_cli(port, lines("SELECT " .. mid, "MM.DROPVERSION 1", "MM.VERSIONS"))
    assert.truthy(tonumber(dropped:match("%(integer%) (%d+)")) >= 3, dropped)
    assert.matches("no version 1", t.redis(port, "SELECT", mid .. "@1"))
    assert.are.equal('OK\n"2"\n(integer) 3\n', t.redis_cli(port, lines("SELECT " .. mid .. "@2", "GET a", "LLEN l")))
  end)

  it("AUTH takes tokens; others' tokens read public MiMei but cannot write them", function()
    local mid = create()
    local port = node.db_port
    t.redis_cli(port, lines("SELECT " .. mid, "SET owned yes"))
    local token = t.leither("lpki", "token", "-k", other_key).out:gsub("\n$", "")
    assert.matches("^LT1%.", token)
    assert.are.equal("(error) WRONGPASS invalid username-password pair or user is disabled.",
      t.redis(port, "AUTH", "not-a-token"))
    local out = t.redis_cli(port, lines("AUTH " .. token, "SELECT " .. mid, "GET owned", "SET owned no", "GET owned"))
    assert.are.equal("OK\nOK\n\"yes\"\n(error) NOPERM this connection may not write to " .. mid .. "\n\"yes\"\n", out)
    -- nor inside MULTI: the write is refused when queued, and EXEC aborts
    out = t.redis_cli(port, lines("AUTH " .. token, "SELECT " .. mid, "MULTI", "SET owned no", "EXEC", "GET owned"))
    assert.are.equal("OK\nOK\nOK\n(error) NOPERM this connection may not write to " .. mid .. "\n"
      .. "(error) EXECABORT Transaction discarded because of previous errors.\n\"yes\"\n", out)
    -- a key nobody granted stores nothing, not even a MiMei of its own
    -- (issue 10: strangers store nothing unless the owner says so) ...
    local r = t.leither("mimei", "create", "-t", "db", "--home", node.home, "-k", other_key)
    assert.are.equal(1, r.code, r.out)
    assert.matches("NOPERM key %S+ is neither the node owner nor granted", r.err)
    -- ... once granted, it writes to its own MiMei
    local other_id = t.decode(t.leither("lpki", "show", other_key, "--json").out).ID
    assert.are.equal(0, t.leither("lpki", "grant", other_id, "--home", node.home).code)
    r = t.leither("mimei", "create", "-t", "db", "--home", node.home, "-k", other_key)
    assert.are.equal(0, r.code, r.err)
    local theirs = r.out:match("mid= ([%w_%-]+)")
    out = t.redis_cli(port, lines("AUTH " .. token, "SELECT " .. theirs, "SET mine yes", "GET mine"))
    assert.are.equal('OK\nOK\nOK\n"yes"\n', out)
  end)

  it("db_auth required: nothing before AUTH", function()
    local other = t.start_node({ settings = { db_auth = "required" } })
    assert.are.equal("(error) NOAUTH Authentication required.", t.redis(other.db_port, "GET", "x"))
    assert.are.equal("PONG", t.redis(other.db_port, "PING"))
    local token = t.leither("lpki", "token", "--home", other.home).out:gsub("\n$", "")
    assert.are.equal('OK\nOK\n"1"\n', t.redis_cli(other.db_port, lines("AUTH " .. token, "SET x 1", "GET x")))
    -- the CLI authenticates by itself
    local r = t.leither("mimei", "create", "-t", "db", "--home", other.home)
    assert.are.equal(0, r.code, r.err)
    t.stop_node(other)
  end)
end)

describe("RESP: bad input and server commands", function()
  local node
  setup(function() node = t.start_node() end)
  teardown(function() t.stop_node(node) end)

  it("answers malformed requests with Redis's protocol errors and closes", function()
    local port = node.db_port
    assert.are.equal("-ERR Protocol error: invalid multibulk length\r\n", raw(port, "*99999999999\r\n"))
    assert.are.equal("-ERR Protocol error: invalid bulk length\r\n", raw(port, "*2\r\n$3\r\nGET\r\n$-5\r\n"))
    assert.are.equal("-ERR Protocol error: expected '$', got ':'\r\n", raw(port, "*2\r\n$3\r\nGET\r\n:1\r\n"))
    assert.are.equal("-ERR Protocol error: unbalanced quotes in request\r\n", raw(port, 'SET "a b\r\n'))
    -- the connection is closed: what follows the error is not run
    assert.are.equal("+PONG\r\n-ERR Protocol error: invalid bulk length\r\n",
      raw(port, "PING\r\n*1\r\n$-2\r\nPING\r\n"))
    assert.are.equal("PONG", t.redis(port, "PING"))
  end)

  it("refuses bulk strings over proto-max-bulk-len before reading them", function()
    local port = node.db_port
    local big = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5000\r\n" .. string.rep("x", 5000) .. "\r\n"
    assert.are.equal("+OK\r\n-ERR Protocol error: invalid bulk length\r\n",
      raw(port, "CONFIG SET proto-max-bulk-len 4096\r\n" .. big))
    assert.are.equal("+OK\r\n+OK\r\n", raw(port, "CONFIG SET proto-max-bulk-len 536870912\r\n" .. big))
  end)

  it("runs inline commands and long pipelines in order", function()
    local port = node.db_port
    assert.are.equal("+PONG\r\n+OK\r\n$3\r\nc d\r\n", raw(port, 'PING\r\nSET "a b" "c d"\r\nGET "a b"\r\n'))
    local script = {}
    for i = 1, 5000 do script[#script + 1] = "INCR counter" end
    local out = t.redis_cli(port, table.concat(script, "\n") .. "\n", "--pipe")
    assert.matches("replies: 5000", out)
    assert.are.equal('"5000"', t.redis(port, "GET", "counter"))
  end)

  it("answers PING ECHO TIME HELLO CLIENT COMMAND INFO CONFIG MEMORY", function()
    local port = node.db_port
    assert.are.equal("PONG", t.redis(port, "PING"))
    assert.are.equal('"hi"', t.redis(port, "PING", "hi"))
    assert.are.equal('"x y"', t.redis(port, "ECHO", "x y"))
    assert.matches('^1%) "%d+"\n2%) "%d+"$', t.redis(port, "TIME"))
    local hello = t.sh("redis-cli -3 -p " .. port .. " HELLO 3").out
    assert.matches("proto 3\n", hello)
    assert.matches("server redis\n", hello)
    assert.matches("NOPROTO", t.redis(port, "HELLO", "4"))
    assert.are.equal('OK\n"worker"\n', t.redis_cli(port, lines("CLIENT SETNAME worker", "CLIENT GETNAME")))
    assert.matches("^%(integer%) %d+$", t.redis(port, "CLIENT", "ID"))
    assert.matches("id=%d+ addr=", t.redis(port, "CLIENT", "LIST"))
    assert.matches("^%(integer%) %d+$", t.redis(port, "COMMAND", "COUNT"))
    assert.matches('"get"', t.redis(port, "COMMAND", "INFO", "get"))
    -- redis-cli shows argument hints as typed (it reads them from COMMAND)
    local session = "leither-test-hints-" .. port
    t.sh("tmux new-session -d -s " .. session .. " -x 120 -y 5 'redis-cli -p " .. port .. "'")
    os.execute("sleep 0.4")
    t.sh("tmux send-keys -t " .. session .. " 'HSET '")
    os.execute("sleep 0.3")
    local screen = t.sh("tmux capture-pane -t " .. session .. " -p").out
    t.sh("tmux kill-session -t " .. session)
    assert.matches("HSET key field value", screen)
    local info = t.redis(port, "INFO")
    for _, section in ipairs({ "# Server", "# Clients", "# Memory", "# Stats", "# Keyspace" }) do
      assert.truthy(info:find(section, 1, true), section)
    end
    assert.matches("connected_clients:%d+", info)
    assert.are.equal('1) "appendfsync"\n2) "always"', t.redis(port, "CONFIG", "GET", "appendfsync"))
    assert.are.equal("OK", t.redis(port, "CONFIG", "SET", "maxmemory-policy", "allkeys-lru"))
    assert.are.equal('1) "maxmemory-policy"\n2) "allkeys-lru"', t.redis(port, "CONFIG", "GET", "maxmemory-policy"))
    t.redis(port, "SET", "m", string.rep("x", 1000))
    assert.truthy(tonumber(t.redis(port, "MEMORY", "USAGE", "m"):match("%d+")) >= 1000)
    assert.are.equal("(nil)", t.redis(port, "MEMORY", "USAGE", "nope"))
  end)

  it("closes a client whose reply passes the output limit and keeps serving", function()
    local port = node.db_port
    local script = {}
    for i = 1, 2000 do script[#script + 1] = "SADD big m" .. i end
    t.redis_cli(port, table.concat(script, "\n") .. "\n")
    local t0 = os.time()
    t.sh("redis-cli -p " .. port .. " SRANDMEMBER big -100000000 > /dev/null")
    assert.truthy(os.time() - t0 < 20)
    assert.are.equal("PONG", t.redis(port, "PING"))
  end)
end)
