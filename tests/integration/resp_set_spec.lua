-- Sets over RESP, checked against a real redis-server 7 as the oracle.
-- Scripts whose output order is fixed must give byte-for-byte the same
-- redis-cli output; where Redis leaves the order of members unspecified
-- (SMEMBERS, SINTER, SUNION, SDIFF, SPOP, SRANDMEMBER, SSCAN) each reply is
-- compared as a sorted list, or properties are asserted.
local t = require("helpers")
local lines = t.lines
local raw = t.strings
local normalize = t.sorted_lines


local function sorted(list)
  local copy = {}
  for i, v in ipairs(list) do copy[i] = v end
  table.sort(copy)
  return copy
end




-- A whole SSCAN: the members of every batch (duplicates kept), the number
-- of calls, and the cursors seen. between(i) runs after call i.
local function scan_all(port, key, opts, between)
  local cursor, got, calls, cursors = "0", {}, 0, {}
  repeat
    local args = { "SSCAN", key, cursor }
    for _, o in ipairs(opts or {}) do args[#args + 1] = o end
    local out = raw(port, table.unpack(args))
    assert(#out >= 1, "no reply to SSCAN")
    cursor = out[1]
    cursors[#cursors + 1] = cursor
    for i = 2, #out do got[#got + 1] = out[i] end
    calls = calls + 1
    assert(calls < 100000, "SSCAN does not end")
    if between then between(calls) end
  until cursor == "0"
  return got, calls, cursors
end

local function as_set(list)
  local s = {}
  for _, v in ipairs(list) do s[v] = (s[v] or 0) + 1 end
  return s
end

local function count_keys(s)
  local n = 0
  for _ in pairs(s) do n = n + 1 end
  return n
end

describe("RESP sets", function()
  local node, redis

  setup(function()
    node = t.start_node()
    redis = t.start_redis()
  end)

  teardown(function()
    if redis then t.stop_redis(redis) end
    if node then t.stop_node(node) end
  end)

  local function same(script)
    local ours, theirs = t.both(node.db_port, redis.port, script)
    assert.are.equal(theirs, ours)
    return ours
  end

  -- Runs the script one command at a time on both (each on an empty
  -- database first) and compares each reply with the members sorted.
  local function same_sorted(script, keep)
    if not keep then
      t.redis(node.db_port, "FLUSHDB")
      t.redis(redis.port, "FLUSHDB")
    end
    for cmd in script:gmatch("[^\n]+") do
      local ours = normalize(t.redis_cli(node.db_port, cmd .. "\n"))
      local theirs = normalize(t.redis_cli(redis.port, cmd .. "\n"))
      assert.are.equal(theirs, ours, "after: " .. cmd)
    end
  end

  local function both_do(script)
    t.redis_cli(node.db_port, script)
    t.redis_cli(redis.port, script)
  end

  it("adds, removes, counts and tests members", function()
    same(lines(
      "sadd s a b c", "sadd s a d", "sadd s e e e", "scard s",
      "sismember s a", "sismember s z", "sismember nokey a",
      "smismember s a z b", "smismember nokey a b", "smismember s a",
      "srem s a z", "srem s a", "srem nokey a", "srem s b b", "scard s", "scard nokey",
      "srem s c d e", "exists s", "scard s", "type s",
      'sadd s ""', 'sismember s ""', "scard s", 'srem s ""', "exists s",
      'sadd bin "a\\x00b" "a\\x00c" "a" "a\\x00"', 'sismember bin "a\\x00b"', 'sismember bin "a\\x00"',
      'sismember bin "a\\x00d"', "scard bin", 'srem bin "a\\x00"', "scard bin",
      "sadd big 1 2 3 100000000000", "sadd big x", "scard big", "sismember big 100000000000",
      "set str x", "sadd str a", "srem str a", "scard str", "sismember str a", "smismember str a",
      "smembers str", "get str",
      "expire s2 100", "sadd s2 a", "expire s2 100", "sadd s2 b", "ttl s2", "srem s2 a", "ttl s2"))
  end)

  it("answers arity errors as Redis does", function()
    same(lines(
      "sadd", "sadd s", "srem s", "scard", "scard a b", "sismember s", "sismember s a b",
      "smismember s", "smembers", "smembers a b", "spop", "srandmember", "smove a b", "smove a b c d",
      "sinter", "sunion", "sdiff", "sinterstore d", "sunionstore d", "sdiffstore d", "sscan s",
      "sintercard", "sintercard 1"))
  end)

  it("lists members (order compared sorted)", function()
    same_sorted(lines(
      "sadd s c a b", "smembers s", "smembers nokey",
      'sadd s "" "with space" "a\\x00b" "\\xff\\xfe"', "smembers s",
      "sadd n 3 1 2 10 -5", "smembers n",
      "set str x", "smembers str"))
    -- ours answer in member byte order
    t.redis(node.db_port, "FLUSHDB")
    t.redis(node.db_port, "SADD", "o", "b", "c", "a", "ab", "")
    assert.are.same({ "", "a", "ab", "b", "c" }, raw(node.db_port, "SMEMBERS", "o"))
  end)

  it("moves members between sets", function()
    same(lines(
      "sadd src a b", "sadd dst c", "expire src 100",
      "smove src dst a", "smove src dst a", "smove src dst z", "sismember dst a", "scard src", "ttl src",
      "smove src dst b", "exists src", "smove src dst b", "scard dst",
      "smove dst dst a", "smove dst dst z", "scard dst",
      "smove dst newdst c", "type newdst", "scard dst", "scard newdst",
      "sadd other c", "smove newdst other c", "scard other", "exists newdst",
      "set str x",
      "smove nokey str a", "smove other str c", "smove other str zzz", "smove str other c",
      "smove str str c", "scard other", "get str"))
  end)

  it("pops and samples: replies that do not depend on chance", function()
    same(lines(
      "spop nokey", "spop nokey 0", "spop nokey 3",
      "srandmember nokey", "srandmember nokey 3", "srandmember nokey -3", "srandmember nokey 0",
      "sadd one x", "spop one 0", "srandmember one", "srandmember one 0", "srandmember one 5",
      "srandmember one -3", "srandmember one 1", "srandmember one -1",
      "spop one 1 2", "srandmember one 1 2", "spop one -1", "spop one abc", "spop one 1.5",
      "spop one 9223372036854775808",
      "srandmember one abc", "srandmember one -9223372036854775808", "srandmember one 9223372036854775808",
      "srandmember one 9223372036854775807", "srandmember one -9223372036854775807x",
      "spop one", "exists one", "spop one",
      "sadd two x", "spop two 5", "exists two",
      "sadd three x", "spop three 1", "exists three",
      "sadd four x", "expire four 100", "spop four 0", "ttl four",
      "set str x", "spop str", "spop str 1", "spop str 0", "spop str -1", "srandmember str",
      "srandmember str 2", "srandmember str abc", "srandmember str 1 2"))
  end)

  it("pops and samples members of the set", function()
    same_sorted(lines(
      "sadd s a b c d e", "srandmember s 5", "srandmember s 10", "spop s 10", "exists s",
      "sadd t a b c", "spop t 3", "exists t"))
    local p = node.db_port
    t.redis(p, "FLUSHDB")
    local members = {}
    for i = 1, 50 do members[i] = "m" .. i end
    t.redis(p, "SADD", "s", table.unpack(members))
    local all = as_set(members)
    -- SRANDMEMBER n: n distinct members; -n: n members, repeats allowed
    for _, n in ipairs({ 1, 7, 17, 49, 50, 60 }) do
      local got = raw(p, "SRANDMEMBER", "s", tostring(n))
      assert.are.equal(math.min(n, 50), #got)
      assert.are.equal(#got, count_keys(as_set(got)))
      for _, m in ipairs(got) do assert.truthy(all[m], m) end
    end
    local rep = raw(p, "SRANDMEMBER", "s", "-500")
    assert.are.equal(500, #rep)
    local seen = as_set(rep)
    for m in pairs(seen) do assert.truthy(all[m], m) end
    assert.is_true(count_keys(seen) > 30) -- 500 draws of 50 leave few out
    assert.is_true(count_keys(seen) < 500)
    -- a small set is sampled uniformly: every one of 3 members about 1/3
    t.redis(p, "SADD", "three", "x", "y", "z")
    local freq = as_set(raw(p, "SRANDMEMBER", "three", "-3000"))
    for _, m in ipairs({ "x", "y", "z" }) do assert.is_true(freq[m] > 800 and freq[m] < 1200, m) end
    -- SPOP removes what it answers
    local popped = raw(p, "SPOP", "s", "20")
    assert.are.equal(20, #popped)
    assert.are.equal(20, count_keys(as_set(popped)))
    assert.are.equal("(integer) 30", t.redis(p, "SCARD", "s"))
    for _, m in ipairs(popped) do
      assert.truthy(all[m])
      assert.are.equal("(integer) 0", t.redis(p, "SISMEMBER", "s", m))
    end
    local one = raw(p, "SPOP", "s")
    assert.are.equal(1, #one)
    assert.truthy(all[one[1]])
    assert.are.equal("(integer) 29", t.redis(p, "SCARD", "s"))
    local rest = raw(p, "SPOP", "s", "29")
    assert.are.equal(29, #rest)
    assert.are.equal("(integer) 0", t.redis(p, "EXISTS", "s"))
    local everything = as_set(popped)
    everything[one[1]] = 1
    for _, m in ipairs(rest) do everything[m] = 1 end
    assert.are.equal(50, count_keys(everything))
  end)

  it("intersects, unites and subtracts (order compared sorted)", function()
    same_sorted(lines(
      "sadd a 1 2 3 4 x", "sadd b 3 4 5 y", "sadd c 4 5 6 x",
      "sinter a b", "sinter a b c", "sinter a", "sinter a nokey", "sinter nokey a", "sinter a a",
      "sinter c b a",
      "sunion a b c", "sunion a nokey", "sunion nokey", "sunion a a", "sunion c b",
      "sdiff a b", "sdiff a b c", "sdiff a a", "sdiff nokey a", "sdiff a nokey", "sdiff b a c", "sdiff a",
      "sinterstore d a b", "smembers d", "type d",
      "sunionstore d a b c", "smembers d",
      "sdiffstore d a c", "smembers d",
      "sunionstore u a", "sinterstore u u b", "smembers u",
      "sdiffstore a a b", "smembers a",
      "set str x",
      "sinter a str", "sinter nokey str", "sinter str nokey", "sunion a str", "sunion nokey str",
      "sdiff nokey str", "sdiff a str", "sdiff str a",
      "sinterstore d a str", "sunionstore d str", "sdiffstore d nokey str", "smembers d",
      "sinterstore str b c", "type str", "smembers str",
      "expire d 100", "sunionstore d b c", "ttl d", "smembers d",
      "sinterstore d a nokey", "exists d",
      "sadd d z", "sunionstore d nokey", "exists d",
      "sadd d z", "sdiffstore d b b", "exists d",
      "sadd d z", "sdiffstore d nokey b", "exists d"))
  end)

  it("counts an intersection with SINTERCARD", function()
    same(lines(
      "sadd a 1 2 3 4", "sadd b 2 3 4 5",
      "sintercard 2 a b", "sintercard 2 a b limit 2", "sintercard 2 a b limit 0", "sintercard 2 a b LIMIT 10",
      "sintercard 1 a", "sintercard 2 a nokey", "sintercard 1 nokey",
      "sintercard 2 a b limit 1 limit 3",
      "sintercard 2 a b limit -1", "sintercard 2 a b limit abc", "sintercard 2 a b limit",
      "sintercard 0 a", "sintercard -1 a", "sintercard abc a", "sintercard 3 a b", "sintercard 2 a b foo",
      "set str x", "sintercard 2 a str", "sintercard 2 nokey str"))
  end)

  it("answers SSCAN errors and small scans as Redis does", function()
    same(lines(
      "sscan nokey 0", "sscan nokey abc", "sscan nokey 0 foo", "sscan nokey 0 count 0",
      "sadd s a",
      "sscan s 0", "sscan s 0 COUNT 1000 MATCH a", "sscan s 0 match b", "sscan s 0 match *",
      "sscan s 0 count 0", "sscan s 0 count -1", "sscan s 0 count abc", "sscan s 0 count 1.5",
      "sscan s 0 match", "sscan s 0 count", "sscan s 0 type string", "sscan s 0 count 1 foo bar",
      "sscan s x1", "sscan s 1x", "sscan s 0x10", "sscan s -", "sscan s ' 1'",
      "set str x", "sscan str 0", "sscan str abc", "sscan str 0 count 0"))
  end)

  it("scans a whole set, with MATCH as Redis", function()
    local members = { "a1", "a2", "b1", "ab", "x[y]", "hello", "hallo", "hxllo", "heello", "", "a*", "A1",
      "a\\b", "?", "h" }
    for i = 1, 200 do members[#members + 1] = "k" .. i end
    for _, port in ipairs({ node.db_port, redis.port }) do
      t.redis(port, "FLUSHDB")
      t.redis(port, "SADD", "s", table.unpack(members))
    end
    for _, opts in ipairs({ {}, { "COUNT", "1" }, { "COUNT", "7" }, { "COUNT", "1000" },
      { "MATCH", "a*" }, { "MATCH", "h?llo" }, { "MATCH", "h[ae]llo" }, { "MATCH", "h[^e]llo" },
      { "MATCH", "*1" }, { "MATCH", "x\\[y\\]" }, { "MATCH", "a\\*" }, { "MATCH", "k1?" }, { "MATCH", "*" },
      { "MATCH", "k[1-3]", "COUNT", "3" }, { "MATCH", "zzz*", "COUNT", "5" } }) do
      local ours = scan_all(node.db_port, "s", opts)
      local theirs = scan_all(redis.port, "s", opts)
      -- no duplicates from ours without changes during the scan
      assert.are.equal(#ours, count_keys(as_set(ours)), table.concat(opts, " "))
      assert.are.same(sorted(theirs), sorted(ours), table.concat(opts, " "))
    end
  end)

  it("SSCAN cursors are decimal, resume exactly and survive changes", function()
    local p = node.db_port
    t.redis(p, "FLUSHDB")
    local members = {}
    for i = 1, 300 do members[i] = string.format("m%03d", i) end
    t.redis(p, "SADD", "s", table.unpack(members))
    local got, calls, cursors = scan_all(p, "s", { "COUNT", "10" })
    assert.are.equal(300, #got)
    assert.are.equal(300, count_keys(as_set(got)))
    assert.is_true(calls >= 30 and calls <= 61, "calls: " .. calls)
    for _, c in ipairs(cursors) do assert.matches("^%d+$", c) end
    -- a cursor can be replayed: the same batch again
    local first = raw(p, "SSCAN", "s", "0", "COUNT", "10")
    local again = raw(p, "SSCAN", "s", first[1], "COUNT", "10")
    assert.are.same(again, raw(p, "SSCAN", "s", first[1], "COUNT", "10"))

    -- members removed and added between calls: every member present all
    -- along is returned
    local removed, kept = {}, {}
    got = scan_all(p, "s", { "COUNT", "10" }, function(i)
      local victim = string.format("m%03d", (i * 37) % 300 + 1)
      t.redis(p, "SREM", "s", victim)
      removed[victim] = true
      t.redis(p, "SADD", "s", "new" .. i, string.format("m%03d-%d", (i * 53) % 300 + 1, i))
    end)
    local seen = as_set(got)
    for _, m in ipairs(members) do
      if not removed[m] then
        kept[#kept + 1] = m
        assert.truthy(seen[m], m .. " missing")
      end
    end
    assert.is_true(#kept > 200)

    -- members sharing long prefixes (beyond what a cursor carries)
    t.redis(p, "FLUSHDB")
    local prefix = string.rep("p", 100)
    local long = {}
    for i = 1, 120 do long[i] = prefix .. string.format("%04d", i) end
    for i = 1, 20 do long[#long + 1] = "q" .. i end
    t.redis(p, "SADD", "l", table.unpack(long))
    got = scan_all(p, "l", { "COUNT", "5" })
    assert.are.same(sorted(long), sorted(got))
  end)

  it("answers in RESP3 as Redis does", function()
    local script = lines(
      "sadd s a", "smembers s", "smembers nokey", "sinter s s", "sinter s nokey", "sunion s nokey",
      "sdiff s nokey", "sismember s a", "smismember s a b", "srandmember s", "srandmember s 5",
      "srandmember s -2", "srandmember s 0", "srandmember nokey", "srandmember nokey 2",
      "spop nokey", "spop nokey 2", "spop s 0", "sscan nokey 0", "sscan s 0", "sintercard 1 s",
      "sadd t b", "spop t 1", "sadd t b", "spop t 5", "sadd t b", "spop t", "spop t")
    for _, port in ipairs({ node.db_port, redis.port }) do t.redis(port, "FLUSHDB") end
    local ours = t.redis_cli(node.db_port, script, "-3")
    local theirs = t.redis_cli(redis.port, script, "-3")
    assert.are.equal(theirs, ours)
  end)

  it("works on a big set without reading it whole", function()
    local chunks = {}
    local all = {}
    for c = 0, 19 do
      local args = { "sadd big" }
      for i = c * 1000, c * 1000 + 999 do
        local m = string.format("m%05d", i)
        args[#args + 1] = m
        all[#all + 1] = m
      end
      chunks[#chunks + 1] = table.concat(args, " ")
    end
    local script = table.concat(chunks, "\n") .. "\n"
    local ours, theirs = t.both(node.db_port, redis.port, script)
    assert.are.equal(theirs, ours)
    local members = as_set(all)
    same_sorted(lines("scard big", "sadd small m00005 m19999 zzz m10000", "sinter big small", "sinter small big",
      "sintercard 2 big small", "sintercard 2 big small limit 2", "sdiff small big", "sismember big m12345",
      "smismember big m00000 m20000 m19999", "sdiffstore d small big", "smembers d",
      "sunionstore u big small", "sinterstore i small big", "smembers i"), true)
    local p = node.db_port
    -- one SSCAN call answers about COUNT members
    local batch = raw(p, "SSCAN", "big", "0", "COUNT", "100")
    assert.is_true(#batch - 1 >= 50 and #batch - 1 <= 100, "batch of " .. (#batch - 1))
    assert.are_not.equal("0", batch[1])
    for i = 2, #batch do assert.are.equal(all[i - 1], batch[i]) end
    local got = scan_all(p, "big", { "COUNT", "500", "MATCH", "m1*" })
    assert.are.equal(10000, #got)
    -- random picks from a big set
    local pick = raw(p, "SRANDMEMBER", "big")
    assert.truthy(members[pick[1]])
    local some = raw(p, "SRANDMEMBER", "big", "10")
    assert.are.equal(10, count_keys(as_set(some)))
    for _, m in ipairs(some) do assert.truthy(members[m], m) end
    local many = raw(p, "SRANDMEMBER", "big", "-2000")
    assert.are.equal(2000, #many)
    for _, m in ipairs(many) do assert.truthy(members[m], m) end
    assert.is_true(count_keys(as_set(many)) > 1000, "too few distinct: " .. count_keys(as_set(many)))
    local lots = raw(p, "SRANDMEMBER", "big", "15000")
    assert.are.equal(15000, count_keys(as_set(lots)))
    local popped = raw(p, "SPOP", "big", "5")
    assert.are.equal(5, count_keys(as_set(popped)))
    assert.are.equal("(integer) 19995", t.redis(p, "SCARD", "big"))
    for _, m in ipairs(popped) do assert.are.equal("(integer) 0", t.redis(p, "SISMEMBER", "big", m)) end
    local one = raw(p, "SPOP", "big")
    assert.truthy(members[one[1]])
    assert.are.equal("(integer) 19994", t.redis(p, "SCARD", "big"))
    got = scan_all(p, "big", { "COUNT", "1000" })
    assert.are.equal(19994, count_keys(as_set(got)))
    assert.are.equal(19994, #got)
  end)

  it("clears sets with SCLEAR and SMCLEAR", function()
    local p = node.db_port
    t.redis(p, "FLUSHDB")
    local out = t.redis_cli(p, lines(
      "sadd a 1 2 3", "sadd b 1", "set str x",
      "sclear a", "exists a", "sclear a", "sclear str", "get str",
      "sadd a 1 2", "smclear a b nokey", "exists a b",
      "sadd a 1", "smclear a str", "exists a", "smclear a a", "exists a",
      "sclear", "sclear a b", "smclear"))
    assert.are.equal(lines(
      "(integer) 3", "(integer) 1", "OK",
      "(integer) 3", "(integer) 0", "(integer) 0",
      "(error) WRONGTYPE Operation against a key holding the wrong kind of value", '"x"',
      "(integer) 2", "(integer) 2", "(integer) 0",
      "(integer) 1", "(error) WRONGTYPE Operation against a key holding the wrong kind of value",
      "(integer) 1", "(integer) 1", "(integer) 0",
      "(error) ERR wrong number of arguments for 'sclear' command",
      "(error) ERR wrong number of arguments for 'sclear' command",
      "(error) ERR wrong number of arguments for 'smclear' command"), out)
  end)
end)
