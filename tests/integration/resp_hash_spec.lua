-- Hashes over RESP, checked against a real redis-server 7 as the oracle.
-- Scripts whose output order is fixed must give byte-for-byte the same
-- redis-cli output. Redis answers a small hash (listpack) in insertion order
-- and Leither in byte order, so those scripts insert fields in byte order.
-- Where the order is unspecified (a big hash, HRANDFIELD, HSCAN batches) the
-- replies are compared as sorted lists, or properties are asserted.
local t = require("helpers")
local lines = t.lines
local raw = t.strings
local normalize = t.sorted_lines





-- Sends commands (lists of arguments) through redis-cli --pipe: one
-- pipelined stream, so many writes share a commit.
local function pipe(port, cmds)
  local buf = {}
  for _, cmd in ipairs(cmds) do
    buf[#buf + 1] = "*" .. #cmd .. "\r\n"
    for _, a in ipairs(cmd) do
      a = tostring(a)
      buf[#buf + 1] = "$" .. #a .. "\r\n" .. a .. "\r\n"
    end
  end
  local f = os.tmpname()
  t.write(f, table.concat(buf))
  local r = t.sh("redis-cli -p " .. tonumber(port) .. " --pipe < " .. f)
  os.remove(f)
  assert(r.out:find("errors: 0", 1, true), r.out .. (r.err or ""))
end

-- A whole HSCAN: pairs of every batch (duplicates kept), calls, cursors.
-- between(i, batch) runs after call i.
local function scan_all(port, key, opts, between)
  local cursor, got, calls, cursors, sizes = "0", {}, 0, {}, {}
  repeat
    local args = { "HSCAN", key, cursor }
    for _, o in ipairs(opts or {}) do args[#args + 1] = o end
    local out = raw(port, table.unpack(args))
    assert(#out >= 1 and #out % 2 == 1, "odd HSCAN reply")
    cursor = out[1]
    cursors[#cursors + 1] = cursor
    local batch = {}
    for i = 2, #out, 2 do
      got[#got + 1] = { out[i], out[i + 1] }
      batch[#batch + 1] = out[i]
    end
    sizes[#sizes + 1] = #batch
    calls = calls + 1
    if between then between(calls, batch) end
    assert(calls < 2000, "HSCAN does not end")
  until cursor == "0"
  return got, calls, cursors, sizes
end

local function set_of(list)
  local s = {}
  for _, v in ipairs(list) do s[v] = true end
  return s
end

describe("hashes over RESP", function()
  local node, redis
  setup(function()
    node = t.start_node()
    redis = t.start_redis()
  end)
  teardown(function()
    t.stop_node(node)
    t.stop_redis(redis)
  end)

  local function same(script, extra)
    t.redis(node.db_port, "FLUSHDB")
    t.redis(redis.port, "FLUSHDB")
    local ours = t.redis_cli(node.db_port, script, extra)
    local theirs = t.redis_cli(redis.port, script, extra)
    if ours ~= theirs then -- name the first line that differs
      local a, b = {}, {}
      for l in (ours .. "\n"):gmatch("([^\n]*)\n") do a[#a + 1] = l end
      for l in (theirs .. "\n"):gmatch("([^\n]*)\n") do b[#b + 1] = l end
      for i = 1, math.max(#a, #b) do
        if a[i] ~= b[i] then
          assert.are.equal(theirs, ours, "output line " .. i .. ": Redis " .. tostring(b[i]) .. ", ours " .. tostring(a[i]))
        end
      end
    end
  end

  -- setup runs on both, then each command's reply is compared sorted.
  local function same_sorted(setup_script, ...)
    t.both(node.db_port, redis.port, setup_script)
    for _, cmd in ipairs({ ... }) do
      local ours = t.redis_cli(node.db_port, cmd .. "\n")
      local theirs = t.redis_cli(redis.port, cmd .. "\n")
      assert.are.equal(normalize(theirs), normalize(ours), cmd)
    end
  end

  it("sets, reads and deletes fields as Redis does", function()
    same(lines(
      "hset h a 1 b 2 c 3", "hset h a 10 d 4", "hset h d 4 d 5", "hget h a", "hget h d", "hget h zz", "hget nokey a",
      "hmset h e 5 f 6", "hmget h a b zz f", "hmget nokey a b", "hlen h", "hlen nokey",
      "hexists h a", "hexists h zz", "hexists nokey a",
      "hstrlen h a", "hstrlen h zz", "hstrlen nokey a",
      "hsetnx h a x", "hget h a", "hsetnx h g 7", "hsetnx new f v", "hget new f", "type new",
      "hgetall h", "hkeys h", "hvals h", "hgetall nokey", "hkeys nokey", "hvals nokey",
      "hdel h a zz a", "hdel h zz", "hdel nokey a", "hlen h",
      "hdel new f", "exists new", "type new",
      "hdel h b c d e f g", "exists h", "hgetall h",
      'hset e "" empty', 'hget e ""', 'hstrlen e ""', 'hexists e ""',
      'hset bin "a\\x00b" "v\\x00w" "a" 1', 'hget bin "a\\x00b"', 'hstrlen bin "a\\x00b"', "hlen bin",
      'hset u "\\xff\\xfe" "\\x00"', 'hget u "\\xff\\xfe"', 'hmget u "\\xff\\xfe" x'))
  end)

  it("takes long fields and values as Redis does", function()
    same(lines("hset long " .. string.rep("v", 300) .. " " .. string.rep("x", 100000),
      "hstrlen long " .. string.rep("v", 300), "hset long " .. string.rep("f", 1000) .. " " .. string.rep("v", 5000),
      "hstrlen long " .. string.rep("f", 1000), "hlen long", "hexists long " .. string.rep("f", 1000),
      "hdel long " .. string.rep("f", 1000), "hlen long"))
  end)

  it("keeps the key's TTL when fields change, and forgets expired hashes", function()
    same(lines("hset h a 1", "expire h 100", "hset h b 2", "hdel h a", "hincrby h c 1", "ttl h",
      "hdel h b c", "exists h", "hset h a 1", "ttl h"))
    t.redis(node.db_port, "FLUSHDB")
    t.redis(node.db_port, "HSET", "gone", "a", "1")
    t.redis(node.db_port, "PEXPIRE", "gone", "50")
    os.execute("sleep 0.2")
    assert.are.equal("(nil)", t.redis(node.db_port, "HGET", "gone", "a"))
    assert.are.equal("(integer) 0", t.redis(node.db_port, "HLEN", "gone"))
    assert.are.equal("(integer) 1", t.redis(node.db_port, "HSETNX", "gone", "a", "2"))
    assert.are.equal("(integer) -1", t.redis(node.db_port, "TTL", "gone"))
  end)

  it("answers every error as Redis does", function()
    same(lines(
      "hset", "hset h", "hset h a", "hset h a 1 b", "hmset h a", "hmset h a 1 b", "hsetnx h a", "hsetnx h a 1 2",
      "hget h", "hget h a b", "hmget h", "hgetall", "hgetall h x", "hkeys", "hvals h x", "hlen", "hlen h x",
      "hexists h", "hdel h", "hincrby h a", "hincrby h a 1 2", "hincrbyfloat h a", "hstrlen h",
      "hscan h", "hrandfield", "hset h a 1",
      "set s x",
      "hset s a 1", "hmset s a 1", "hsetnx s a 1", "hget s a", "hmget s a", "hgetall s", "hkeys s", "hvals s",
      "hlen s", "hexists s a", "hdel s a", "hincrby s a 1", "hincrbyfloat s a 1", "hstrlen s a",
      "hscan s 0", "hrandfield s", "hrandfield s 2", "hrandfield s -2 withvalues", "get s",
      "lpush l x", "hget l a", "sadd st x", "hlen st", "zadd z 1 x", "hgetall z",
      "hincrby s a x", "hincrbyfloat s a x", "hrandfield s x", "hscan s x"))
  end)

  it("increments integers and floats exactly as Redis does", function()
    same(lines(
      "hincrby h i 5", "hincrby h i -7", "hincrby h i 0", "hget h i", "hincrby h new 9223372036854775807",
      "hincrby h new 1", "hincrby h new -1", "hset h min -9223372036854775808", "hincrby h min -1", "hincrby h min 1",
      "hincrby h i x", "hincrby h i 1.5", "hincrby h i 9223372036854775808", "hincrby h i ''", "hincrby h i ' 1'",
      "hset h s abc sp ' 1' lead 01 plus +1 e 1e3", "hincrby h s 1", "hincrby h sp 1", "hincrby h lead 1",
      "hincrby h plus 1", "hincrby h e 1", "hincrby h -9223372036854775808 -9223372036854775808",
      "hincrbyfloat f a 0.1", "hincrbyfloat f a 0.2", "hincrbyfloat f a -0.3", "hincrbyfloat f b 1.5",
      "hincrbyfloat f b 1e-30", "hincrbyfloat f c 3.0e3", "hincrbyfloat f c -3000", "hincrbyfloat f d 1e20",
      "hincrbyfloat f d 12345678901234567890", "hincrbyfloat f e 0x1p3", "hincrbyfloat f g 10", "hincrbyfloat f g -5.5",
      "hincrbyfloat f x inf", "hincrbyfloat f x -inf", "hincrbyfloat f x nan", "hincrbyfloat f x abc",
      "hincrbyfloat f x ''", "hincrbyfloat f x ' 1'", "hincrbyfloat f x '1 '", "hincrbyfloat f x 1e5000",
      "hset f s abc v 1. w .5e1 z -0 i 7 huge 1e308", "hincrbyfloat f s 1", "hincrbyfloat f v 1", "hincrbyfloat f w 1",
      "hincrbyfloat f z 0", "hincrbyfloat f i 0.5", "hincrbyfloat f huge 1e308", "hincrbyfloat f huge -1e308",
      "hset f inf inf", "hincrbyfloat f inf 1", "hincrby f a 1", "hincrby f g 1", "hmget f a b c d e g s v w z i huge",
      "hincrbyfloat f m 1.7976931348623157e308", "hincrbyfloat f m 1.7976931348623157e308", "hget f m"))
  end)

  it("answers HGETALL, HKEYS and HVALS with every field in any order", function()
    local setup = { "hset h" }
    for i = 200, 1, -1 do setup[#setup + 1] = " k" .. (i * 7919 % 1000) .. " v" .. i end
    same_sorted(table.concat(setup) .. "\nhset small z 1 y 2 x 3\n",
      "hgetall h", "hkeys h", "hvals h", "hlen h", "hgetall small", "hkeys small", "hvals small")
  end)

  it("speaks RESP3: maps for HGETALL and pairs for HRANDFIELD WITHVALUES", function()
    same(lines("hset h a 1 b 2 c 3", "hgetall h", "hgetall nokey", "hkeys h", "hmget h a zz", "hget h zz",
      "hrandfield h 3 withvalues", "hrandfield h 5 withvalues", "hrandfield h 5", "hrandfield nokey 2 withvalues",
      "hrandfield nokey", "hscan h 0", "hscan nokey 0", "hincrbyfloat h f 1.5", "hset one x y",
      "hrandfield one -3 withvalues", "hrandfield one -2", "hrandfield one 1 withvalues"), "-3")
    t.redis(node.db_port, "HSET", "r3", "a", "1", "b", "2", "c", "3")
    local out = t.redis_cli(node.db_port, "hrandfield r3 -4 withvalues\n", "-3")
    local pairs_seen = 0
    for f, v in out:gmatch('%d%) 1%) "(%a)"\n%s+2%) "(%d)"') do
      assert.are.equal(({ a = "1", b = "2", c = "3" })[f], v)
      pairs_seen = pairs_seen + 1
    end
    assert.are.equal(4, pairs_seen)
  end)

  it("gives random fields as HRANDFIELD does", function()
    same(lines("hset h a 1 b 2 c 3", "hrandfield h 0", "hrandfield h 3", "hrandfield h 10 withvalues",
      "hrandfield h 3 WITHVALUES", "hrandfield nokey", "hrandfield nokey 3", "hrandfield nokey -3 withvalues",
      "hrandfield h 1 withvalues x", "hrandfield h 1 withvaluex", "hrandfield nokey 1 withvalues x",
      "hrandfield h x", "hrandfield h 1.5", "hrandfield h -9223372036854775808",
      "hrandfield h 4611686018427387904 withvalues", "hrandfield h -4611686018427387904 withvalues",
      "hrandfield h 4611686018427387903 withvalues", "hset one f v", "hrandfield one", "hrandfield one -3",
      "hrandfield one -2 withvalues", "hrandfield one 1"))
    local p = node.db_port
    t.redis(p, "FLUSHDB")
    local args = { "HSET", "h" }
    local fields = {}
    for i = 1, 50 do
      args[#args + 1] = "f" .. i
      args[#args + 1] = "v" .. i
      fields["f" .. i] = "v" .. i
    end
    t.redis(p, table.unpack(args))
    for _ = 1, 10 do
      local one = raw(p, "HRANDFIELD", "h")
      assert.are.equal(1, #one)
      assert.truthy(fields[one[1]])
    end
    local some = raw(p, "HRANDFIELD", "h", "20")
    assert.are.equal(20, #some)
    local seen = {}
    for _, f in ipairs(some) do
      assert.truthy(fields[f])
      assert.is_nil(seen[f], "repeated " .. f)
      seen[f] = true
    end
    local many = raw(p, "HRANDFIELD", "h", "-200", "WITHVALUES")
    assert.are.equal(400, #many)
    local distinct = {}
    for i = 1, #many, 2 do
      assert.are.equal(fields[many[i]], many[i + 1])
      distinct[many[i]] = true
    end
    local nd = 0
    for _ in pairs(distinct) do nd = nd + 1 end
    assert.truthy(nd > 20, "200 picks of 50 fields gave only " .. nd)
    local pv = raw(p, "HRANDFIELD", "h", "7", "WITHVALUES")
    assert.are.equal(14, #pv)
    for i = 1, #pv, 2 do assert.are.equal(fields[pv[i]], pv[i + 1]) end
  end)

  it("scans a small hash at once and parses HSCAN's options as Redis does", function()
    same(lines("hset h a 1 ab 4 b 2 c 3", "hscan h 0", "hscan h 0 count 1", "hscan h 0 match a*", "hscan h 0 MATCH *b",
      "hscan h 0 match [ab] count 100", "hscan h 0 match * count 1 count 2", "hscan h 0 match x*", 'hscan h ""',
      "hscan nokey 0", "hscan nokey 7 match a", "hscan nokey 0 foo bar",
      "hscan h x", "hscan h -x", "hscan h ' 1'", "hscan h 18446744073709551616", "hscan nokey x",
      "hscan h 0 count 0", "hscan h 0 count -1", "hscan h 0 count x", "hscan h 0 count 9223372036854775808",
      "hscan h 0 match", "hscan h 0 count", "hscan h 0 foo bar", "hscan h 0 type string", "hscan h 0 novalues",
      "hset q 'a*' 1 'a?' 2 'a[' 3 \"a\\\\\" 4 ab 5", "hscan q 0 match a\\*", "hscan q 0 match a\\?",
      "hscan q 0 match a\\\\\\", "hscan q 0 match a\\",
      "hscan q 0 match a[[]", "hscan q 0 match a[^b]", "hscan q 0 match a[a-c]", "hscan q 0 match a[c-a]"))
  end)

  it("scans a big hash in numeric cursors that resume where they stopped", function()
    local p = node.db_port
    t.redis(p, "FLUSHDB")
    local cmds, want = {}, {}
    for i = 1, 3000 do
      local f = string.format("user:%09d", i * 37 % 3001)
      cmds[#cmds + 1] = { "HSET", "h", f, "v" .. i }
      want[f] = "v" .. i
    end
    -- fields that agree on many bytes after their common prefix, and bytes 0 and 255
    for i = 1, 300 do
      local f = "zz" .. string.rep("q", 40) .. i
      cmds[#cmds + 1] = { "HSET", "h", f, "w" .. i }
      want[f] = "w" .. i
    end
    pipe(p, cmds)
    local n = 0
    for _ in pairs(want) do n = n + 1 end
    assert.are.equal("(integer) " .. n, t.redis(p, "HLEN", "h"))

    local got, calls, cursors, sizes = scan_all(p, "h", { "COUNT", "100" })
    local seen = {}
    for _, kv in ipairs(got) do
      assert.are.equal(want[kv[1]], kv[2])
      assert.is_nil(seen[kv[1]], "returned twice: " .. kv[1])
      seen[kv[1]] = true
    end
    for f in pairs(want) do assert.truthy(seen[f], "missed " .. f) end
    assert.truthy(calls >= 20, "only " .. calls .. " calls")
    for i, c in ipairs(cursors) do
      assert.matches("^%d+$", c)
      assert.truthy(#c <= 20)
      if i < #cursors then assert.are_not.equal("0", c) end
    end
    for i = 1, #sizes - 1 do
      if sizes[i] > 0 and i < #sizes - 1 then assert.truthy(sizes[i] >= 50, "batch " .. i .. ": " .. sizes[i]) end
    end

    -- MATCH filters what is returned, and the scan still ends
    local matched = scan_all(p, "h", { "MATCH", "user:0000001*", "COUNT", "500" })
    local mset = {}
    for _, kv in ipairs(matched) do
      assert.matches("^user:0000001", kv[1])
      mset[kv[1]] = true
    end
    for f in pairs(want) do
      if f:match("^user:0000001") then assert.truthy(mset[f], "MATCH missed " .. f) end
    end

    -- deleting what was returned and adding fields meanwhile loses no field
    -- that was there all along
    local steady = {}
    for f in pairs(want) do steady[f] = true end
    local added = 0
    got = scan_all(p, "h", { "COUNT", "50" }, function(i, batch)
      for _, f in ipairs(batch) do
        if f:sub(-1) ~= "7" then
          t.redis(p, "HDEL", "h", f)
        end
      end
      if i % 5 == 0 then
        added = added + 1
        t.redis(p, "HSET", "h", "new" .. i, "x")
        t.redis(p, "HSET", "h", "user:5" .. i, "x")
      end
    end)
    local all = {}
    for _, kv in ipairs(got) do all[kv[1]] = true end
    for f in pairs(steady) do assert.truthy(all[f], "scan with deletes missed " .. f) end
    assert.truthy(added > 0)
  end)

  it("scans fields of any bytes exactly once, whatever cursor it is given", function()
    local p = node.db_port
    t.redis(p, "FLUSHDB")
    math.randomseed(42)
    local alphabet = { "\0", "\1", "a", "b", "\254", "\255" }
    local cmds, want, n = {}, {}, 0
    while n < 600 do
      local parts = {}
      for _ = 1, math.random(0, 12) do parts[#parts + 1] = alphabet[math.random(#alphabet)] end
      local f = table.concat(parts)
      if not want[f] then
        want[f] = "v" .. n
        n = n + 1
        cmds[#cmds + 1] = { "HSET", "bin", f, want[f] }
      end
    end
    pipe(p, cmds)
    for _, count in ipairs({ "1", "7", "100" }) do
      local got = scan_all(p, "bin", { "COUNT", count })
      local seen = {}
      for _, kv in ipairs(got) do
        assert.are.equal(want[kv[1]], kv[2])
        assert.is_nil(seen[kv[1]], "returned twice")
        seen[kv[1]] = true
      end
      local m = 0
      for _ in pairs(seen) do m = m + 1 end
      assert.are.equal(600, m)
    end
    -- any number is accepted as a cursor; one not made by Leither starts over
    for _, cur in ipairs({ "1", "12345", "18446744073709551615", "-1", "+7" }) do
      local out = raw(p, "HSCAN", "bin", cur, "COUNT", "5")
      assert.truthy(#out >= 3 and #out % 2 == 1)
      assert.matches("^%d+$", out[1])
    end
  end)

  it("reads a big hash without loading it whole", function()
    local p = node.db_port
    t.redis(p, "FLUSHDB")
    t.redis(redis.port, "FLUSHDB")
    local cmds = {}
    for i = 0, 19999 do cmds[#cmds + 1] = { "HSET", "big", string.format("f%05d", i), "v" .. i } end
    pipe(p, cmds)
    pipe(redis.port, cmds)
    local script = lines("hlen big", "hget big f12345", "hget big f20000", "hmget big f00000 f19999 nope f10000",
      "hexists big f07777", "hstrlen big f19999", "hincrby big f00001 1", "hincrby big f99999 5",
      "hsetnx big f00002 x", "hdel big f00003 f00004 nope", "hlen big", "hscan big 0 match f1234* count 20000")
    local ours = t.redis_cli(p, script)
    local theirs = t.redis_cli(redis.port, script)
    -- HSCAN's single batch is unordered in Redis: compare it sorted
    assert.are.equal(normalize(theirs), normalize(ours))
    local head = function(s) return (s:gsub("\n1%) \"0\".*$", "")) end
    assert.are.equal(head(theirs), head(ours))

    -- one batch of a ranged scan, random picks
    local batch = raw(p, "HSCAN", "big", "0", "COUNT", "100")
    assert.are_not.equal("0", batch[1])
    assert.truthy((#batch - 1) / 2 >= 50 and (#batch - 1) / 2 <= 200, "batch of " .. (#batch - 1) / 2)
    for _ = 1, 20 do
      local one = raw(p, "HRANDFIELD", "big")
      assert.are.equal(1, #one)
      assert.matches("^f%d%d%d%d%d$", one[1])
    end
    local ten = raw(p, "HRANDFIELD", "big", "10", "WITHVALUES")
    assert.are.equal(20, #ten)
    local seen = {}
    for i = 1, #ten, 2 do
      assert.is_nil(seen[ten[i]])
      seen[ten[i]] = true
      assert.are.equal(raw(p, "HGET", "big", ten[i])[1], ten[i + 1])
    end
    local neg = raw(p, "HRANDFIELD", "big", "-30")
    assert.are.equal(30, #neg)
    local spread = set_of(neg)
    local nd = 0
    for _ in pairs(spread) do nd = nd + 1 end
    assert.truthy(nd >= 10, "30 picks from 20000 gave " .. nd .. " distinct")
    local lots = raw(p, "HRANDFIELD", "big", "5000")
    assert.are.equal(5000, #lots)
    assert.are.equal(5000, (function() local c = 0 for _ in pairs(set_of(lots)) do c = c + 1 end return c end)())
    local rep = raw(p, "HRANDFIELD", "big", "-3000", "WITHVALUES")
    assert.are.equal(6000, #rep)
    local all = raw(p, "HRANDFIELD", "big", "30000")
    assert.are.equal(19999, #all)
  end)

  it("clears hashes with HCLEAR and HMCLEAR", function()
    local p = node.db_port
    t.redis(p, "FLUSHDB")
    t.redis(p, "HSET", "a", "x", "1", "y", "2", "z", "3")
    t.redis(p, "HSET", "b", "x", "1")
    t.redis(p, "HSET", "c", "x", "1", "y", "2")
    t.redis(p, "SET", "s", "v")
    assert.are.equal("(integer) 3", t.redis(p, "HCLEAR", "a"))
    assert.are.equal("(integer) 0", t.redis(p, "EXISTS", "a"))
    assert.are.equal("(integer) 0", t.redis(p, "HCLEAR", "a"))
    assert.matches("^%(error%) WRONGTYPE", t.redis(p, "HCLEAR", "s"))
    assert.matches("wrong number of arguments", t.redis(p, "HCLEAR"))
    assert.matches("wrong number of arguments", t.redis(p, "HCLEAR", "a", "b"))
    assert.matches("^%(error%) WRONGTYPE", t.redis(p, "HMCLEAR", "b", "s", "c"))
    assert.are.equal("(integer) 1", t.redis(p, "EXISTS", "b"))
    assert.are.equal("(integer) 2", t.redis(p, "HMCLEAR", "b", "nokey", "c", "b"))
    assert.are.equal("(integer) 0", t.redis(p, "EXISTS", "b", "c"))
    assert.are.equal("(integer) 0", t.redis(p, "HMCLEAR", "nokey"))
    assert.matches("wrong number of arguments", t.redis(p, "HMCLEAR"))
    assert.are.equal('"v"', t.redis(p, "GET", "s"))
  end)

  it("runs hash commands inside MULTI as Redis does", function()
    same(lines("multi", "hset h a 1", "hincrby h a 2", "hincrbyfloat h b 0.5", "hget h a", "hmget h a b",
      "hgetall h", "exec", "multi", "hset h", "hget h a", "exec"))
  end)
end)
