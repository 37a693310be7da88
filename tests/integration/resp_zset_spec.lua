-- Sorted sets over RESP, checked against a real redis-server 7 as the oracle.
-- Every script must give byte-for-byte the same redis-cli output on both:
-- sorted sets have a defined order, so only ZSCAN of a big set (whose order
-- Redis leaves unspecified) is checked by properties instead.
local t = require("helpers")
local lines = t.lines
local raw = t.strings




-- A whole ZSCAN: member -> score of every batch, the duplicates seen, calls.
local function zscan_all(port, key, opts)
  local cursor, got, dups, calls = "0", {}, 0, 0
  repeat
    local args = { "ZSCAN", key, cursor }
    for _, o in ipairs(opts or {}) do args[#args + 1] = o end
    local out = raw(port, table.unpack(args))
    assert(#out >= 1 and #out % 2 == 1, "bad ZSCAN reply")
    cursor = out[1]
    for i = 2, #out, 2 do
      if got[out[i]] then dups = dups + 1 end
      got[out[i]] = out[i + 1]
    end
    calls = calls + 1
    assert(calls < 100000, "ZSCAN does not end")
  until cursor == "0"
  return got, dups, calls
end

describe("RESP sorted sets", function()
  local node, redis

  setup(function()
    node = t.start_node()
    redis = t.start_redis()
  end)

  teardown(function()
    if redis then t.stop_redis(redis) end
    if node then t.stop_node(node) end
  end)

  local function same(script, extra)
    local ours, theirs
    if extra then
      t.redis(node.db_port, "FLUSHDB")
      t.redis(redis.port, "FLUSHDB")
      ours, theirs = t.redis_cli(node.db_port, script, extra), t.redis_cli(redis.port, script, extra)
    else
      ours, theirs = t.both(node.db_port, redis.port, script)
    end
    assert.are.equal(theirs, ours)
    return ours
  end

  it("ZADD with its options, conflicts and errors", function()
    same(lines(
      "zadd z 1 a 2 b 3 c", "zadd z 1 a", "zadd z 5 a", "zrange z 0 -1 withscores",
      "zadd z 1 x 2 x", "zscore z x", "zadd z ch 3 x 3 x 4 y", "zcard z",
      "zadd z nx 100 a 100 new", "zscore z a", "zscore z new",
      "zadd z xx 100 a 100 nothere", "zscore z a", "zscore z nothere",
      "zadd z xx ch 100 a 7 b", "zadd z gt 50 a 50 b", "zadd z gt ch 500 a 1 b 9 gtnew",
      "zadd z lt ch 1 a 1000 b", "zadd z xx gt ch 2 a 3 a", "zadd z xx lt 1 nope",
      "zrange z 0 -1 withscores",
      "zadd z NX Xx 1 a", "zadd z nx gt 1 a", "zadd z nx lt 1 a", "zadd z gt lt 1 a", "zadd z nx xx gt 1 a",
      "zadd z incr 1 a 2 b", "zadd z 1", "zadd z 1 a 2", "zadd z nx", "zadd z foo 1 a",
      "zadd z x a", "zadd z 1 a x b", "zadd z nan a", "zadd z 1e400 a", 'zadd z " 1" a', 'zadd z "1 " a',
      'zadd z "" a', "zadd z 0x10 a", "zadd z 1.5.5 a",
      "zadd z", "zadd z 1", "zadd",
      "zadd z inf pinf -inf minf +inf pinf2", "zrange z 0 1 withscores", "zrange z -2 -1 withscores",
      "zadd nokey xx 1 a", "exists nokey", "zadd nokey xx incr 1 a", "exists nokey",
      "set str v", "zadd str 1 a", "zadd str x a", "zadd str nx xx 1 a", "get str",
      "zadd dup 1 a 2 a 3 a", "zadd dup ch 1 a 2 a 3 a", "zrange dup 0 -1 withscores"))
  end)

  it("ZADD INCR and ZINCRBY", function()
    same(lines(
      "zadd z incr 1.5 a", "zadd z incr 1.5 a", "zadd z nx incr 1 a", "zadd z xx incr 1 b",
      "zadd z xx incr 1 a", "zadd z gt incr -1 a", "zadd z lt incr -1 a", "zadd z lt incr 1 a",
      "zadd z ch incr 1 a", "zadd z incr inf a", "zadd z incr -inf a", "zscore z a",
      "zincrby z 1 b", "zincrby z 0.1 b", "zincrby z 0.2 b", "zincrby z -inf c", "zincrby z inf c",
      "zincrby z abc b", "zincrby z nx b", "zincrby z incr b", "zincrby z 1", "zincrby z 1 b c",
      "zadd n incr -0 x", "zincrby n -0 x", "zscore n x", "zincrby n 1e308 y", "zincrby n 1e308 y",
      "zincrby n -1e308 y", "zscore n y",
      "set str v", "zincrby str 1 a", "zincrby str x a",
      "zrange z 0 -1 withscores"))
  end)

  it("formats scores as Redis 7.0 does", function()
    same(lines(
      "zadd z 1.1 a 0.1 b 3 c -0 d 1e300 e -1e-300 f 5e-324 g 123456789012345678 h 0.5 i 100 j",
      "zadd z 2.5e-5 k -17 l 1e17 m 1e16 n 3.0000000000000004 o",
      "zrange z 0 -1 withscores", "zscore z a", "zscore z d", "zmscore z a b c d e f g h",
      "zincrby z 0.2 b", "zscan z 0", "zpopmin z 2", "zpopmax z"))
  end)

  it("ZREM, ZCARD, ZSCORE, ZMSCORE and the key's life", function()
    same(lines(
      "zadd z 1 a 2 b 3 c", "zrem z a x", "zrem z a", "zrem z x y", "zrem nokey a", "zcard z", "zcard nokey",
      "zscore z b", "zscore z a", "zscore nokey a", "zmscore z b a c", "zmscore nokey a b", "zmscore z a",
      "type z", "expire z 100", "zadd z 4 d", "ttl z", "zrem z b c d", "exists z", "ttl z", "zcard z",
      'zadd bin 1 "" 2 "a\\x00b" 3 "a\\x00" 4 "a b"', 'zscore bin ""', 'zscore bin "a\\x00"',
      "zrange bin 0 -1 withscores", 'zrem bin ""', "zcard bin",
      "set str v", "zrem str a", "zcard str", "zscore str a", "zmscore str a",
      "zrem z", "zcard", "zcard a b", "zscore z", "zscore z a b", "zmscore z"))
  end)

  it("ZCOUNT and ZLEXCOUNT", function()
    same(lines(
      "zadd z 1 a 2 b 3 c 4 d 5 e -inf mi inf pi 0 zero",
      "zcount z -inf +inf", "zcount z 2 4", "zcount z (2 4", "zcount z 2 (4", "zcount z (2 (4",
      "zcount z 4 2", "zcount z (3 3", "zcount z 3 3", "zcount z (3 (3", "zcount z inf inf",
      "zcount z -inf -inf", "zcount z (-inf (inf", "zcount z -INF +Inf", 'zcount z "" ""',
      'zcount z " 1" 2', "zcount z 0x2 +inf", "zcount z ( (1", "zcount z 1e400 inf",
      "zcount z nan 1", "zcount z 1 x", "zcount z (x 1", "zcount z 1 2x", "zcount nokey 0 1",
      "zadd l 0 a 0 b 0 c 0 d 0 e",
      "zlexcount l - +", "zlexcount l [b [d", "zlexcount l (b (d", "zlexcount l (b [d", "zlexcount l [d [b",
      "zlexcount l + -", "zlexcount l - -", "zlexcount l + +", "zlexcount l [a (a", "zlexcount l [c [c",
      "zlexcount l [bb +", "zlexcount l - (bb", "zlexcount l ( +", "zlexcount l [ +",
      "zlexcount l a +", "zlexcount l - b", "zlexcount l +x -", 'zlexcount l "" +', "zlexcount nokey - +",
      "set str v", "zcount str 0 1", "zcount str x 1", "zlexcount str - +", "zlexcount str x +",
      "zcount z 1", "zlexcount l -"))
  end)

  it("ZRANK and ZREVRANK", function()
    same(lines(
      "zadd z 1 a 2 b 3 c 3 d 0 e", "zrank z e", "zrank z c", "zrank z d", "zrevrank z e", "zrevrank z a",
      "zrank z x", "zrevrank z x", "zrank nokey a", "set str v", "zrank str a", "zrevrank str a",
      "zrank z", "zrank z a b"))
  end)

  it("ZRANGE by rank, ZREVRANGE", function()
    same(lines(
      "zadd z 1 a 2 b 3 c 4 d 5 e",
      "zrange z 0 -1", "zrange z 0 0", "zrange z 1 3 withscores", "zrange z -2 -1", "zrange z -100 100",
      "zrange z 3 1", "zrange z 5 10", "zrange z -1 -2", "zrange z 0 -6", "zrange z 0 -5",
      "zrange z 2 2 rev", "zrange z 0 1 rev withscores", "zrange z 0 -1 REV WITHSCORES withscores",
      "zrevrange z 0 -1", "zrevrange z 0 1 withscores", "zrevrange z -2 -1", "zrevrange z 4 10",
      "zrange z a 1", "zrange z 0 1.5", "zrange z 0 1 foo", "zrange z a b foo", "zrange z 0 1 limit 0 1",
      "zrange z 0 1 limit 0 -1", "zrange z 0 1 limit 5 -1 withscores", "zrange z 0 1 limit 1", "zrange z 0 1 rev rev",
      "zrevrange z 0 1 rev", "zrevrange z 0 1 byscore", "zrevrange z 0 1 limit 0 1",
      "zrange nokey 0 -1", "zrange nokey a b", "set str v", "zrange str 0 -1", "zrevrange str 0 1",
      "zrange str 0 1 foo", "zrange z 0", "zrevrange z 0"))
  end)

  it("ZRANGE BYSCORE, ZRANGEBYSCORE, ZREVRANGEBYSCORE", function()
    same(lines(
      "zadd z 1 a 2 b 3 c 4 d 5 e 3 cc -inf mi inf pi",
      "zrange z 2 4 byscore", "zrange z (2 4 byscore withscores", "zrange z -inf +inf byscore",
      "zrange z 4 2 byscore rev", "zrange z (4 (2 byscore rev withscores", "zrange z 2 4 byscore rev",
      "zrange z -inf inf byscore limit 1 3", "zrange z -inf inf byscore limit 1 -1", "zrange z -inf inf byscore limit 1 0",
      "zrange z -inf inf byscore limit -1 3", "zrange z -inf inf byscore limit 8 1", "zrange z -inf inf byscore limit 7 5",
      "zrange z +inf -inf byscore rev limit 2 2 withscores", "zrange z 0 1 byscore byscore", "zrange z 0 1 bylex byscore",
      "zrange z 0 1 byscore bylex", "zrange z x 1 byscore", "zrange z 1 (x byscore", "zrange z 0 -1 byscore limit x 1",
      "zrange z 0 -1 limit 1 byscore", "zrange z 0 10 byscore limit 0 1 limit 1 1",
      "zrangebyscore z 3 3", "zrangebyscore z (3 3", "zrangebyscore z 3 (3", "zrangebyscore z (1 (5 withscores",
      "zrangebyscore z -inf +inf withscores limit 0 2", "zrangebyscore z -inf +inf limit 0 2 withscores",
      "zrangebyscore z 5 1", "zrangebyscore z 1 5 rev", "zrangebyscore z 1 5 byscore", "zrangebyscore z 1 5 limit 0",
      "zrangebyscore z a 5", "zrangebyscore z 1 5 limit a 1",
      "zrevrangebyscore z 5 1", "zrevrangebyscore z (5 (1 withscores", "zrevrangebyscore z +inf -inf limit 1 2",
      "zrevrangebyscore z 1 5", "zrevrangebyscore z 5 1 rev", "zrevrangebyscore z x 1",
      "zrangebyscore nokey 0 1", "zrangebyscore nokey a b", "set str v", "zrangebyscore str 0 1",
      "zrangebyscore str a 1", "zrevrangebyscore str 1 0", "zrangebyscore z 0", "zrevrangebyscore z 0"))
  end)

  it("ZRANGE BYLEX, ZRANGEBYLEX, ZREVRANGEBYLEX", function()
    same(lines(
      "zadd l 0 a 0 b 0 c 0 d 0 e 0 ee 0 f",
      "zrange l - + bylex", "zrange l [b [e bylex", "zrange l (b (e bylex", "zrange l [e [b bylex",
      "zrange l [e [b bylex rev", "zrange l (ee - bylex rev", "zrange l + - bylex rev limit 1 2",
      "zrange l - + bylex limit 2 3", "zrange l - + bylex limit 2 -1", "zrange l - + bylex limit -1 2",
      "zrange l - + bylex withscores", "zrange l a + bylex", "zrange l - + bylex byscore",
      "zrangebylex l - +", "zrangebylex l [c +", "zrangebylex l (c +", "zrangebylex l [e (f",
      "zrangebylex l - + limit 0 2", "zrangebylex l + -", "zrangebylex l - + withscores",
      "zrangebylex l - + rev", "zrangebylex l x +",
      "zrevrangebylex l + -", "zrevrangebylex l [d -", "zrevrangebylex l (d (a", "zrevrangebylex l + - limit 1 2",
      "zrevrangebylex l - +",
      -- scores that are not all equal: Redis's answer for a small set
      "zadd m 1 b 2 a 3 c 4 aa 5 d", "zrangebylex m - +", "zrangebylex m [a +", "zrangebylex m [b [c",
      "zrangebylex m [a [a", "zrangebylex m [c +", "zrevrangebylex m + [b", "zrevrangebylex m [c -",
      "zlexcount m [b +", "zlexcount m - [c",
      "zrangebylex nokey - +", "zrangebylex nokey a b", "set str v", "zrangebylex str - +",
      "zrangebylex str a b", "zrangebylex l -", "zrevrangebylex l +"))
  end)

  it("ZREMRANGEBYSCORE, ZREMRANGEBYRANK, ZREMRANGEBYLEX", function()
    same(lines(
      "zadd z 1 a 2 b 3 c 4 d 5 e 6 f",
      "zremrangebyscore z (1 2", "zrange z 0 -1", "zremrangebyscore z 5 1", "zremrangebyscore z -inf (4",
      "zrange z 0 -1 withscores", "zremrangebyscore z x 1", "zremrangebyscore z (4 (4",
      "zadd r 1 a 2 b 3 c 4 d 5 e 6 f",
      "zremrangebyrank r 0 0", "zremrangebyrank r -1 -1", "zremrangebyrank r 5 10", "zremrangebyrank r 2 1",
      "zrange r 0 -1", "zremrangebyrank r 1 -2", "zrange r 0 -1", "zremrangebyrank r a 1", "zremrangebyrank r 0 1.0",
      "zremrangebyrank r -100 100", "exists r",
      "zadd l 0 a 0 b 0 c 0 d 0 e",
      "zremrangebylex l [b (d", "zrange l 0 -1", "zremrangebylex l (e +", "zremrangebylex l x +",
      "zremrangebylex l - +", "exists l",
      "zremrangebyscore nokey 0 1", "zremrangebyrank nokey 0 1", "zremrangebylex nokey - +",
      "zremrangebyscore nokey a 1", "set str v", "zremrangebyscore str 0 1", "zremrangebyrank str 0 1",
      "zremrangebylex str - +", "zremrangebyrank str x 1", "zremrangebyscore z 0", "zremrangebyrank z 0 1 2"))
  end)

  it("ZPOPMIN and ZPOPMAX", function()
    same(lines(
      "zadd z 1 a 2 b 3 c 4 d 5 e 2 bb",
      "zpopmin z", "zpopmax z", "zpopmin z 2", "zpopmax z 1", "zpopmin z 0", "zpopmin z 10", "exists z",
      "zpopmin z", "zpopmax z 3", "zpopmin nokey", "zpopmin nokey 0",
      "zadd z 1 a", "zpopmin z -1", "zpopmin z x", "zpopmin z 1.5", "zpopmin z 99999999999999999999",
      "zpopmin z 1 2", "zpopmax z 1 2",
      "set str v", "zpopmin str", "zpopmin str 0", "zpopmin str -1", "zpopmax str 2", "zpopmin"))
  end)

  it("ZUNIONSTORE and ZINTERSTORE", function()
    same(lines(
      "zadd a 1 x 2 y 3 z", "zadd b 10 y 20 z 30 w", "sadd s x w v",
      "zunionstore d 2 a b", "zrange d 0 -1 withscores",
      "zunionstore d 2 a b weights 2 0.5", "zrange d 0 -1 withscores",
      "zunionstore d 2 a b aggregate min", "zrange d 0 -1 withscores",
      "zunionstore d 2 a b AGGREGATE MAX WEIGHTS -1 1", "zrange d 0 -1 withscores",
      "zunionstore d 3 a b s", "zrange d 0 -1 withscores",
      "zunionstore d 3 a nokey s weights 1 1 5", "zrange d 0 -1 withscores",
      "zinterstore d 2 a b", "zrange d 0 -1 withscores",
      "zinterstore d 2 a b weights 2 3 aggregate max", "zrange d 0 -1 withscores",
      "zinterstore d 2 a b aggregate min", "zrange d 0 -1 withscores",
      "zinterstore d 2 a s", "zrange d 0 -1 withscores",
      "zinterstore d 2 a a", "zrange d 0 -1 withscores",
      "zunionstore a 2 a a", "zrange a 0 -1 withscores",
      "zinterstore d 2 a nokey", "exists d",
      "zadd inf 1 x", "zinterstore d 2 a inf weights inf 0", "zrange d 0 -1 withscores",
      "zunionstore d 2 a inf weights inf 0", "zrange d 0 -1 withscores",
      "zunionstore d 2 a inf weights -inf inf aggregate max", "zrange d 0 -1 withscores",
      "zadd p 0.1 m", "zadd q 0.2 m", "zadd r 0.3 m 1 n 2 o", "zunionstore d 3 r q p", "zscore d m",
      "zunionstore d 3 p q r", "zscore d m", "zunionstore d 3 p r q", "zscore d m",
      "set str v", "expire str 100", "zunionstore str 1 a", "type str", "ttl str",
      "set str2 v", "zunionstore d 2 a str2", "zinterstore d 2 str2 a", "zunionstore str2 1 nokey", "exists str2",
      "zunionstore d 2 a str2 weights x 1",
      "zunionstore d 0 a", "zinterstore d 0 a", "zunionstore d -1 a", "zunionstore d x a", "zunionstore d 3 a b",
      "zunionstore d 2 a b weights 1", "zunionstore d 2 a b weights 1 x", "zunionstore d 2 a b weights 1 nan",
      "zunionstore d 2 a b weights 1 2 3", "zunionstore d 2 a b aggregate", "zunionstore d 2 a b aggregate avg",
      "zunionstore d 2 a b withscores", "zinterstore d 2 a b foo", "zunionstore d", "zinterstore d 1"))
  end)

  it("ZSCAN of a small set answers all of it at once, like Redis", function()
    same(lines(
      "zadd z 3 c 1 a 2 b 2.5 ba -inf m 1.1 x", "zscan z 0", "zscan z 0 count 1", "zscan z 0 match b*",
      "zscan z 0 MATCH * COUNT 1000", "zscan z 0 match [a-b]*", "zscan z 0 match ?", "zscan z 7",
      'zscan z ""', "zscan z -1", "zscan z 0 count 0", "zscan z 0 count -1", "zscan z 0 count x",
      "zscan z 0 match", "zscan z 0 foo bar", "zscan z 0 type zset", "zscan z x", "zscan z 1x",
      'zscan z " 1"', "zscan z 99999999999999999999",
      "zscan nokey 0", "zscan nokey 0 count 0", "zscan nokey x",
      "set str v", "zscan str 0", "zscan str 0 count 0", "zscan z", "zscan"))
  end)

  it("ZSCAN of a big set returns every member once", function()
    local p = node.db_port
    t.redis(p, "FLUSHDB")
    local script, want = {}, {}
    for i = 1, 300 do
      -- members sharing long prefixes, to exercise the cursor's prefix
      local m = (i % 3 == 0) and ("sharedprefix" .. i) or ("m" .. i)
      script[#script + 1] = "zadd big " .. i .. " " .. m
      want[m] = tostring(i)
    end
    t.redis_cli(p, table.concat(script, "\n") .. "\n")
    for _, count in ipairs({ "1", "7", "10", "1000" }) do
      local got, dups, calls = zscan_all(p, "big", { "COUNT", count })
      assert.are.same(want, got)
      assert.are.equal(0, dups)
      if count == "1" then assert.is_true(calls > 100) end
    end
    local got = zscan_all(p, "big", { "MATCH", "shared*" })
    local n = 0
    for m, s in pairs(got) do
      n = n + 1
      assert.truthy(m:find("^sharedprefix"))
      assert.are.equal(want[m], s)
    end
    assert.are.equal(100, n)
  end)

  it("answers RESP3 like Redis 7: doubles, nulls and score pairs", function()
    same(lines(
      "zadd z 1 a 2.5 b 3 c",
      "zscore z b", "zscore z x", "zmscore z a x c", "zincrby z 1 a", "zadd z incr 0.5 c", "zadd z nx incr 1 c",
      "zrange z 0 -1 withscores", "zrange z 0 -1", "zrange z 0 -1 rev withscores", "zrangebyscore z 0 10 withscores",
      "zrevrangebyscore z +inf -inf withscores limit 0 2", "zrange z +inf -inf byscore rev withscores",
      "zrevrange z 0 0 withscores", "zrank z a", "zrank z x", "zscan z 0",
      "zpopmin z", "zpopmax z 1", "zpopmin z 5", "zpopmin nokey", "zpopmin nokey 2",
      "zadd z 1 a 2 b", "zunionstore d 1 z weights inf", "zrange d 0 -1 withscores",
      "zadd z -inf m", "zrange z 0 0 withscores"), "-3")
  end)

  it("reads ranges of a big sorted set correctly", function()
    local p, r = node.db_port, redis.port
    t.redis(p, "FLUSHDB")
    t.redis(r, "FLUSHDB")
    local script = {}
    for i = 0, 19999, 100 do
      local parts = { "zadd big" }
      for j = i, i + 99 do parts[#parts + 1] = string.format("%d m%05d", j * 7 % 20000, j) end
      script[#script + 1] = table.concat(parts, " ")
    end
    local lex = {}
    for i = 0, 19999, 100 do
      local parts = { "zadd lex" }
      for j = i, i + 99 do parts[#parts + 1] = string.format("0 k%05d", j) end
      lex[#lex + 1] = table.concat(parts, " ")
    end
    local load = table.concat(script, "\n") .. "\n" .. table.concat(lex, "\n") .. "\n"
    t.redis_cli(p, load)
    t.redis_cli(r, load)
    local checks = lines(
      "zcard big", "zrange big 0 9 withscores", "zrange big -5 -1 withscores", "zrange big 10000 10004",
      "zrange big 19990 30000", "zrevrange big 0 4 withscores", "zrevrange big 100 104", "zrevrange big -3 -1",
      "zrange big 5 9 rev", "zrangebyscore big 1000 1010 withscores", "zrangebyscore big (1000 +inf limit 5 3",
      "zrevrangebyscore big +inf -inf limit 10 3 withscores", "zrange big 15000 0 byscore rev limit 0 4",
      "zcount big -inf +inf", "zcount big 100 19000", "zcount big (5 (10", "zcount big 19990 +inf",
      "zcount big -inf 10", "zrank big m00000", "zrank big m19999", "zrank big m10000", "zrevrank big m10000",
      "zrank big m03000", "zscore big m12345", "zmscore big m00001 m19998 nope",
      "zrangebylex lex [k10000 [k10005", "zrangebylex lex (k19995 +", "zrevrangebylex lex + - limit 0 3",
      "zrangebylex lex - + limit 15000 2", "zlexcount lex - +", "zlexcount lex [k05000 (k15000",
      "zlexcount lex (k19990 +", "zlexcount lex - [k00009",
      "zremrangebyrank big 0 9", "zremrangebyrank big -10 -1", "zcard big", "zrange big 0 1 withscores",
      "zremrangebyscore big 5000 5999", "zcard big", "zcount big 4990 6010",
      "zremrangebylex lex [k00100 (k00200", "zlexcount lex - +",
      "zpopmin big 3", "zpopmax big 2", "zcard big", "zrange big 0 2 withscores", "zrange big -2 -1 withscores")
    local ours, theirs = t.redis_cli(p, checks), t.redis_cli(r, checks)
    assert.are.equal(theirs, ours)
  end)

  it("agrees with Redis on a long run of random commands", function()
    -- a fixed LCG, so a failure can be replayed
    local state = 12345
    local function rnd(n)
      state = (state * 1103515245 + 12345) % 2147483648
      return state % n + 1
    end
    local function pick(list) return list[rnd(#list)] end
    local members = { "a", "b", "c", "aa", "ab", "ba", '""', "x", '"y\\x00z"', "zz" }
    local scores = { "0", "1", "2", "3", "-1", "1.5", "inf", "-inf", "2.5", "10", "-0" }
    local bounds = { "0", "1", "2", "(1", "(2", "-inf", "+inf", "(inf", "1.5", "(-1" }
    local lex = { "-", "+", "[a", "(a", "[b", "(b", "[aa", "[c", "(c", "[", "(", "[zz" }
    local function idx() return tostring(rnd(13) - 7) end
    local gens = {
      function(k)
        local opts = pick({ "", "nx", "xx", "gt", "lt", "ch", "xx ch", "gt ch", "lt xx", "nx ch" })
        local parts = {}
        for _ = 1, rnd(3) do parts[#parts + 1] = pick(scores) .. " " .. pick(members) end
        return "zadd " .. k .. " " .. opts .. " " .. table.concat(parts, " ")
      end,
      function(k) return "zadd " .. k .. " " .. pick({ "", "nx", "xx", "gt", "lt" }) .. " incr " .. pick(scores) .. " " .. pick(members) end,
      function(k) return "zincrby " .. k .. " " .. pick({ "1", "-2", "0.25", "inf" }) .. " " .. pick(members) end,
      function(k) return "zrem " .. k .. " " .. pick(members) .. " " .. pick(members) end,
      function(k) return "zrange " .. k .. " " .. idx() .. " " .. idx() .. pick({ "", " withscores", " rev", " rev withscores" }) end,
      function(k)
        return pick({ "zrangebyscore ", "zrevrangebyscore " }) .. k .. " " .. pick(bounds) .. " " .. pick(bounds)
          .. pick({ "", " withscores", " limit 1 2", " limit 0 -1 withscores", " limit -1 2", " limit 2 0" })
      end,
      function(k)
        return pick({ "zrangebylex ", "zrevrangebylex " }) .. k .. " " .. pick(lex) .. " " .. pick(lex)
          .. pick({ "", " limit 1 2", " limit 2 -1", " limit 0 1" })
      end,
      function(k)
        local by = pick({ "byscore", "bylex", "byscore rev", "bylex rev" })
        local set = by:find("lex") and lex or bounds
        return "zrange " .. k .. " " .. pick(set) .. " " .. pick(set) .. " " .. by .. pick({ "", " limit 1 2", " limit 0 -1" })
      end,
      function(k) return "zcount " .. k .. " " .. pick(bounds) .. " " .. pick(bounds) end,
      function(k) return "zlexcount " .. k .. " " .. pick(lex) .. " " .. pick(lex) end,
      function(k) return pick({ "zrank ", "zrevrank " }) .. k .. " " .. pick(members) end,
      function(k) return "zremrangebyscore " .. k .. " " .. pick(bounds) .. " " .. pick(bounds) end,
      function(k) return "zremrangebyrank " .. k .. " " .. idx() .. " " .. idx() end,
      function(k) return "zremrangebylex " .. k .. " " .. pick(lex) .. " " .. pick(lex) end,
      function(k) return pick({ "zpopmin ", "zpopmax " }) .. k .. pick({ "", "", " 0", " 1", " 2", " 5" }) end,
      function()
        local keys = { "z", "w", "s", "nokey" }
        local n, ks = rnd(3), {}
        for i = 1, n do ks[i] = keys[rnd(#keys)] end
        local cmd = pick({ "zunionstore ", "zinterstore " }) .. pick({ "d", "z", "w" }) .. " " .. n .. " " .. table.concat(ks, " ")
        if rnd(2) == 1 then
          local w = {}
          for i = 1, n do w[i] = pick({ "1", "2", "-1", "0", "inf", "0.5" }) end
          cmd = cmd .. " weights " .. table.concat(w, " ")
        end
        if rnd(2) == 1 then cmd = cmd .. " aggregate " .. pick({ "sum", "min", "max" }) end
        return cmd
      end,
      function() return "sadd s " .. pick(members) .. " " .. pick(members) end,
      function(k) return "zscan " .. k .. " 0" end,
      function(k) return "zmscore " .. k .. " " .. pick(members) .. " " .. pick(members) end,
      function(k) return "zscore " .. k .. " " .. pick(members) end,
      function(k) return "zcard " .. k end,
      function(k) return "zrange " .. k .. " 0 -1 withscores" end,
    }
    local script = {}
    for _ = 1, 600 do
      local k = pick({ "z", "w" })
      script[#script + 1] = gens[rnd(#gens)](k)
    end
    for _, k in ipairs({ "z", "w", "d" }) do script[#script + 1] = "zrange " .. k .. " 0 -1 withscores" end
    same(table.concat(script, "\n") .. "\n")
  end)

  it("ZCLEAR and ZMCLEAR (Leither extras)", function()
    local p = node.db_port
    t.redis(p, "FLUSHDB")
    local out = t.redis_cli(p, lines(
      "zadd a 1 x 2 y 3 z", "zadd b 1 x", "zclear a", "exists a", "zclear a", "zclear nokey",
      "zadd a 1 x 2 y", "zmclear a b nokey", "exists a b", "zmclear nokey",
      "set str v", "zadd c 1 x", "zclear str", "zmclear c str", "exists c", "get str",
      "zclear", "zclear a b", "zmclear"))
    assert.are.equal(lines(
      "(integer) 3", "(integer) 1", "(integer) 3", "(integer) 0", "(integer) 0", "(integer) 0",
      "(integer) 2", "(integer) 2", "(integer) 0", "(integer) 0",
      "OK", "(integer) 1",
      "(error) WRONGTYPE Operation against a key holding the wrong kind of value",
      "(error) WRONGTYPE Operation against a key holding the wrong kind of value",
      "(integer) 1", '"v"',
      "(error) ERR wrong number of arguments for 'zclear' command",
      "(error) ERR wrong number of arguments for 'zclear' command",
      "(error) ERR wrong number of arguments for 'zmclear' command"), out)
  end)
end)
