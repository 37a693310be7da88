-- Lists over RESP, checked against a real redis-server 7 as the oracle:
-- every script runs on both (each on an empty database) and the redis-cli
-- outputs must be equal, replies and error texts byte for byte.
local t = require("helpers")
local lines = t.lines


-- A small deterministic generator (independent of math.random's seed).
local function lcg(seed)
  local s = seed
  return function(n)
    s = (s * 1103515245 + 12345) % 2147483648
    return s % n
  end
end

describe("RESP lists", function()
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

  it("pushes at both ends and reads back", function()
    same(lines(
      "rpush l a b c", "lpush l x y z", "llen l", "lrange l 0 -1",
      "rpushx l tail", "lpushx l head", "lrange l 0 -1",
      "lpushx missing a", "rpushx missing a", "exists missing", "llen missing",
      'rpush e "" "a b" "q\\"uote"', "lrange e 0 -1", "lindex e 0", "llen e",
      "type l", "lpush single one", "lrange single 0 -1"))
  end)

  it("pops one or many, with Redis 7's null forms", function()
    same(lines(
      "rpush l a b c d e f g",
      "lpop l", "rpop l", "lpop l 2", "rpop l 2", "lpop l 0", "rpop l 0", "llen l",
      "lpop l 5", "exists l", "lpop l", "lpop l 3", "rpop l", "rpop l 1", "lpop l 0",
      "rpush m x", "rpop m 1", "exists m",
      "rpush n 1 2 3", "lpop n 1", "rpop n 1", "lpop n 9223372036854775807", "exists n",
      "lpop n -1", "lpop n abc", "lpop n 1.5", "rpop n 9223372036854775808",
      "lpop n 1 2", "rpop n 1 2", "lpop", "rpop",
      "set s v", "lpop s", "lpop s 0", "rpop s 2", "lpop s -1"))
  end)

  it("answers the null forms under RESP3 as Redis does", function()
    local script = lines("rpush l a b", "lpop nokey", "lpop nokey 1", "rpop nokey 0", "lpop l 0",
      "rpop l 5", "lindex l 7", "lpos l zz", "lpos l zz count 0", "rpoplpush nokey l", "lpop l")
    t.redis(node.db_port, "FLUSHDB")
    t.redis(redis.port, "FLUSHDB")
    local ours = t.redis_cli(node.db_port, script, "-3")
    local theirs = t.redis_cli(redis.port, script, "-3")
    assert.are.equal(theirs, ours)
    -- and on the wire: a null bulk vs a null array in RESP2, _ in RESP3
    t.redis(node.db_port, "FLUSHDB")
    local r2 = t.sh("printf 'LPOP k\\r\\nLPOP k 1\\r\\n' | redis-cli -p " .. node.db_port .. " --no-raw")
    assert.are.equal("(nil)\n(nil)\n", r2.out)
  end)

  it("reads ranges and single elements", function()
    same(lines(
      "rpush l 0 1 2 3 4 5 6 7 8 9",
      "lrange l 0 -1", "lrange l 2 4", "lrange l -3 -1", "lrange l -100 2", "lrange l 8 100",
      "lrange l 5 2", "lrange l 10 12", "lrange l -1 -2", "lrange l 0 0", "lrange l -10 -10",
      "lrange l -9223372036854775808 9223372036854775807", "lrange l 9223372036854775807 0",
      "lrange missing 0 -1", "lrange l a 1", "lrange l 1 b", "lrange missing a b", "lrange l 1.0 2",
      "lindex l 0", "lindex l 9", "lindex l -1", "lindex l -10", "lindex l 10", "lindex l -11",
      "lindex missing 0", "lindex missing abc", "lindex l abc",
      "lindex l 9223372036854775807", "lindex l -9223372036854775808",
      "lrange l", "lindex l", "lindex l 1 2", "llen", "llen l x",
      "set s v", "lrange s 0 -1", "lindex s 0", "llen s", "lrange s a b"))
  end)

  it("sets elements by index", function()
    same(lines(
      "rpush l a b c",
      "lset l 0 A", "lset l -1 C", "lset l 1 ''", "lrange l 0 -1",
      "lset l 3 x", "lset l -4 x", "lset l abc x", "lset missing 0 x", "lset missing abc x",
      "lset l 0", "set s v", "lset s 0 x",
      "lpush l front", "lset l 0 F", "lset l 3 last", "lrange l 0 -1"))
  end)

  it("inserts before and after a pivot", function()
    same(lines(
      "rpush l a b c d e f g h",
      "linsert l before a x0", "linsert l after h x9", "linsert l before e mid", "linsert l after b b2",
      "linsert l before g g0", "linsert l after x0 x1", "lrange l 0 -1", "llen l",
      "linsert l before nothere x", "linsert l middle a x", "linsert l BEFORE a y", "linsert l After h z",
      "lrange l 0 -1", "lindex l 0", "lindex l -1", "lindex l 7",
      "linsert missing before a x", "exists missing", "linsert missing middle a x",
      "rpush d a a a", "linsert d after a q", "linsert d before a p", "lrange d 0 -1",
      "lpush h 3 2 1", "linsert h after 1 1.5", "rpush h 4", "linsert h before 4 3.5", "lrange h 0 -1",
      "set s v", "linsert s before a x", "linsert s middle a x", "linsert l before a"))
  end)

  it("removes elements by value from either end", function()
    same(lines(
      "rpush l a b a c a d a e a",
      "lrem l 2 a", "lrange l 0 -1", "lrem l -2 a", "lrange l 0 -1", "lrem l 0 a", "lrange l 0 -1",
      "lrem l 0 zz", "lrem l 1 e", "lrange l 0 -1",
      "rpush m x y x y x y x", "lrem m -1 x", "lrange m 0 -1", "lrem m 1 y", "lrange m 0 -1",
      "lrem m -100 y", "lrange m 0 -1", "lrem m 0 x", "exists m", "llen m",
      "rpush n 1 2 3 4 5 6 7 8 9 1", "lrem n 1 1", "lrange n 0 -1", "lrem n -1 9", "lrange n 0 -1",
      "lpush n 0", "lrem n 1 8", "lrange n 0 -1", "lindex n -1", "lindex n 0",
      "rpush e '' a ''", "lrem e 0 ''", "lrange e 0 -1",
      "lrem n -9223372036854775808 2", "lrem n 9223372036854775807 3", "lrange n 0 -1",
      "lrem missing 0 a", "lrem l abc a", "lrem missing abc a", "lrem l 0",
      "set s v", "lrem s 0 a"))
  end)

  it("trims to a range", function()
    same(lines(
      "rpush l 0 1 2 3 4 5 6 7 8 9",
      "ltrim l 1 -2", "lrange l 0 -1", "ltrim l -5 100", "lrange l 0 -1", "ltrim l 0 -1", "lrange l 0 -1",
      "lpush l a", "rpush l z", "ltrim l 1 1", "lrange l 0 -1", "ltrim l 5 3", "exists l",
      "rpush m 1 2 3", "ltrim m 3 10", "exists m", "rpush m 1 2 3", "ltrim m -100 -3", "lrange m 0 -1",
      "rpush n 1 2 3", "ltrim n 0 -4", "exists n",
      "rpush o 1 2 3", "ltrim o -9223372036854775808 9223372036854775807", "lrange o 0 -1",
      "ltrim missing 0 1", "ltrim o a 1", "ltrim missing x 1", "ltrim o 1",
      "set s v", "ltrim s 0 1", "lpush o x", "lrange o 0 -1"))
  end)

  it("finds positions with RANK, COUNT and MAXLEN", function()
    same(lines(
      "rpush l a b c a b c a b c x",
      "lpos l a", "lpos l c", "lpos l x", "lpos l zz", "lpos l a rank 2", "lpos l a rank -1",
      "lpos l a rank -3", "lpos l a rank 4", "lpos l a rank -4",
      "lpos l a count 0", "lpos l a count 2", "lpos l b count 0 rank -1", "lpos l b count 2 rank 2",
      "lpos l c count 1 rank -2", "lpos l zz count 5", "lpos l a maxlen 1", "lpos l b maxlen 1",
      "lpos l b maxlen 2", "lpos l c count 0 maxlen 6", "lpos l c count 0 rank -1 maxlen 4",
      "lpos l a rank -9223372036854775808", "lpos l a rank -9223372036854775808 count 2",
      "lpos l a rank 9223372036854775807", "lpos l a RANK 1 COUNT 0 MAXLEN 0",
      "lpos l a rank 0", "lpos l a rank abc", "lpos l a rank 1.5", "lpos l a count -1", "lpos l a count x",
      "lpos l a maxlen -1", "lpos l a maxlen x", "lpos l a count", "lpos l a rank", "lpos l a foo 1",
      "lpos l a count 1 maxlen", "lpos l", "lpos missing a", "lpos missing a count 1",
      "lpos missing a rank 0", "lpos missing a bogus",
      "set s v", "lpos s a", "lpos s a count 1", "lpos s a rank 0"))
  end)

  it("moves elements between lists", function()
    same(lines(
      "rpush src a b c d",
      "rpoplpush src dst", "lrange src 0 -1", "lrange dst 0 -1",
      "lmove src dst left right", "lmove src dst LEFT LEFT", "lmove src dst right left",
      "lrange src 0 -1", "lrange dst 0 -1", "exists src", "lmove src dst left left", "rpoplpush src dst",
      "rpush r 1 2 3", "rpoplpush r r", "lrange r 0 -1", "lmove r r left right", "lrange r 0 -1",
      "lmove r r left left", "lmove r r right right", "lrange r 0 -1",
      "rpush one x", "lmove one one left right", "lrange one 0 -1", "rpoplpush one one", "lrange one 0 -1",
      "rpush one2 y", "rpoplpush one2 other", "exists one2", "lrange other 0 -1",
      "set s v", "rpoplpush r s", "lrange r 0 -1", "rpoplpush s r", "lmove r s left left",
      "rpoplpush missing s", "lmove missing s left left",
      "lmove r dst up left", "lmove r dst left down", "lmove missing dst middle left",
      "rpoplpush r", "lmove r dst left", "rpoplpush a b c"))
  end)

  it("answers WRONGTYPE and arity errors for every command", function()
    local script = { "set s v", "set h v" }
    for _, cmd in ipairs({ "lpush s a", "rpush s a", "lpushx s a", "rpushx s a", "lpop s", "rpop s 1",
      "llen s", "lrange s 0 1", "lindex s 0", "lset s 0 a", "linsert s before a b", "lrem s 0 a",
      "ltrim s 0 1", "lpos s a", "rpoplpush s x", "lmove h x left left", "lpush h a", "get s" }) do
      script[#script + 1] = cmd
    end
    for _, cmd in ipairs({ "lpush", "lpush k", "rpush k", "lpushx k", "rpushx k", "lpop", "rpop",
      "llen", "lrange k 0", "lindex k", "lset k 0", "linsert k before a", "lrem k 0", "ltrim k 0",
      "lpos k", "rpoplpush k", "lmove k d left", "lmove k d left right extra" }) do
      script[#script + 1] = cmd
    end
    same(table.concat(script, "\n") .. "\n")
  end)

  for _, seed in ipairs({ 20240607, 7, 99991 }) do
    it("agrees with Redis over a long random sequence of operations (seed " .. seed .. ")", function()
      local rand = lcg(seed)
      local vals = { "a", "b", "c", "''", "'x y'" }
      local keys = { "k1", "k2" }
      local function v() return vals[rand(#vals) + 1] end
      local function k() return keys[rand(#keys) + 1] end
      local function i() return tostring(rand(14) - 7) end
      local script = {}
      for _ = 1, 600 do
        local op = rand(16)
        local cmd
        if op == 0 then cmd = "lpush " .. k() .. " " .. v() .. " " .. v()
        elseif op == 1 then cmd = "rpush " .. k() .. " " .. v() .. " " .. v() .. " " .. v()
        elseif op == 2 then cmd = "lpop " .. k() .. (rand(2) == 0 and "" or " " .. rand(4))
        elseif op == 3 then cmd = "rpop " .. k() .. (rand(2) == 0 and "" or " " .. rand(4))
        elseif op == 4 then cmd = "linsert " .. k() .. (rand(2) == 0 and " before " or " after ") .. v() .. " " .. v()
        elseif op == 5 then cmd = "lrem " .. k() .. " " .. (rand(5) - 2) .. " " .. v()
        elseif op == 6 then cmd = "ltrim " .. k() .. " " .. i() .. " " .. i()
        elseif op == 7 then cmd = "lset " .. k() .. " " .. i() .. " " .. v()
        elseif op == 8 then cmd = "lindex " .. k() .. " " .. i()
        elseif op == 9 then cmd = "lrange " .. k() .. " " .. i() .. " " .. i()
        elseif op == 10 then
          local sides = { "left", "right" }
          cmd = "lmove " .. k() .. " " .. k() .. " " .. sides[rand(2) + 1] .. " " .. sides[rand(2) + 1]
        elseif op == 11 then cmd = "rpoplpush " .. k() .. " " .. k()
        elseif op == 12 then
          cmd = "lpos " .. k() .. " " .. v() .. " rank " .. (rand(2) == 0 and 1 or -2) .. " count " .. rand(3)
            .. " maxlen " .. rand(8)
        elseif op == 13 then cmd = "lpushx " .. k() .. " " .. v()
        elseif op == 14 then cmd = "rpush " .. k() .. " " .. v() .. " " .. v() .. " " .. v() .. " " .. v()
        else cmd = "llen " .. k() end
        script[#script + 1] = cmd
        script[#script + 1] = "lrange " .. k() .. " 0 -1"
      end
      same(table.concat(script, "\n") .. "\n")
    end)
  end

  it("serves ranged reads of a big list correctly", function()
    local script = {}
    for b = 0, 199 do
      local parts = { "rpush big" }
      for j = 1, 100 do parts[#parts + 1] = "e" .. (b * 100 + j) end
      script[#script + 1] = table.concat(parts, " ")
    end
    for j = 1, 50 do script[#script + 1] = "lpush big h" .. j end
    for _, cmd in ipairs({ "llen big", "lrange big 0 9", "lrange big -10 -1", "lrange big 10000 10009",
      "lindex big 0", "lindex big 12345", "lindex big -1", "lindex big -20050", "lindex big 20050",
      "lpos big e19999", "lpos big e5000 rank -1", "lpos big e1 maxlen 10", "lset big 15000 changed",
      "lrange big 14999 15001", "linsert big before e10000 ins", "lrange big 10046 10052", "llen big",
      "linsert big after e19990 ins2", "lrange big -12 -8", "lrem big 0 ins", "lrem big -1 ins2",
      "lrange big 10046 10052", "lrange big -12 -8", "lpop big 3", "rpop big 3", "ltrim big 100 -100",
      "llen big", "lrange big 0 4", "lrange big -5 -1", "lindex big 9000", "rpoplpush big big",
      "lrange big 0 2", "lmove big big left right", "lrange big -2 -1" }) do
      script[#script + 1] = cmd
    end
    same(table.concat(script, "\n") .. "\n")
  end)

  it("clears lists with LCLEAR and LMCLEAR", function()
    local p = node.db_port
    t.redis(p, "FLUSHDB")
    assert.are.equal("(integer) 5", t.redis(p, "RPUSH", "a", "1", "2", "3", "4", "5"))
    assert.are.equal("(integer) 5", t.redis(p, "LCLEAR", "a"))
    assert.are.equal("(integer) 0", t.redis(p, "EXISTS", "a"))
    assert.are.equal("(integer) 0", t.redis(p, "LCLEAR", "a"))
    assert.are.equal("(integer) 1", t.redis(p, "RPUSH", "a", "fresh"))
    assert.are.equal('1) "fresh"', t.redis(p, "LRANGE", "a", "0", "-1"))
    assert.are.equal("(integer) 2", t.redis(p, "RPUSH", "b", "x", "y"))
    assert.are.equal("(integer) 2", t.redis(p, "LMCLEAR", "a", "b", "nokey", "a"))
    assert.are.equal("(integer) 0", t.redis(p, "EXISTS", "a", "b"))
    assert.are.equal("(integer) 0", t.redis(p, "LMCLEAR", "a"))
    t.redis(p, "SET", "s", "v")
    t.redis(p, "RPUSH", "c", "1")
    assert.matches("^%(error%) WRONGTYPE", t.redis(p, "LCLEAR", "s"))
    assert.matches("^%(error%) WRONGTYPE", t.redis(p, "LMCLEAR", "c", "s"))
    assert.are.equal("(integer) 1", t.redis(p, "EXISTS", "c")) -- nothing deleted on error
    assert.matches("^%(error%) ERR wrong number of arguments", t.redis(p, "LCLEAR"))
    assert.matches("^%(error%) ERR wrong number of arguments", t.redis(p, "LCLEAR", "a", "b"))
    assert.matches("^%(error%) ERR wrong number of arguments", t.redis(p, "LMCLEAR"))
  end)
end)
