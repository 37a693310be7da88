-- Version blocks between two real nodes (runtime/sync/versions.c): the
-- author's node makes them (sync_versions make, beside the running node),
-- its gateway serves them, and the follower applies the chain (with the
-- node stopped: until the sync thread drives it in the node). Then both
-- nodes answer the same for every version, through redis-cli and
-- `leither mimei grep`; the follower's copy is read-only; tampered and
-- skipping chains are refused.
local t = require("helpers")

local tool = os.getenv("SYNC_VERSIONS") or "../../build/tests/sync_versions"

local function lines(...) return table.concat({ ... }, "\n") .. "\n" end

describe("version blocks between two nodes", function()
  local a, b, dir, mid

  local function run_tool(...)
    local parts = { t.quote(tool) }
    for _, x in ipairs({ ... }) do parts[#parts + 1] = t.quote(x) end
    return t.sh(table.concat(parts, " "))
  end
  local function grep(node, ver)
    local r = t.leither("mimei", "grep", mid, "-v", tostring(ver), "--home", node.home)
    assert.are.equal(0, r.code, r.err)
    return r.out
  end
  -- the chain from top down to (not including) version `down_to`, fetched
  -- from a's gateway as a follower would: the files of its blocks
  local function fetch_chain(top, down_to)
    local files, cid = {}, top
    while cid ~= "" do
      local r = t.curl(a.url .. "/ipfs/" .. cid .. "?format=raw")
      assert.are.equal(200, r.status, r.body)
      local v = t.decode(r.body)
      if v.Version <= down_to then break end
      t.write(dir .. "/" .. cid, r.body)
      files[#files + 1] = dir .. "/" .. cid
      for _, j in ipairs(v.Journal or {}) do
        local jr = t.curl(a.url .. "/ipfs/" .. j .. "?format=raw")
        assert.are.equal(200, jr.status)
        t.write(dir .. "/" .. j, jr.body)
        files[#files + 1] = dir .. "/" .. j
      end
      cid = v.Prev
    end
    return files
  end
  -- b stopped, the blocks stored, the chain applied, b started again
  local function apply_on_b(top, files, tamper)
    assert.are.equal(0, t.leither("stop", "--home", b.home).code)
    local r = run_tool("put", b.home .. "/data", table.unpack(files))
    assert.are.equal(0, r.code, r.err)
    if tamper then tamper() end
    r = run_tool("apply", b.home .. "/data", dir .. "/info.json", top)
    assert.are.equal(0, t.leither("run", "-d", "--home", b.home).code)
    return r
  end

  setup(function()
    a, b = t.start_node(), t.start_node()
    dir = t.tmpdir()
    local r = t.leither("mimei", "create", "-t", "db", "--public", "--home", a.home)
    assert.are.equal(0, r.code, r.err)
    mid = r.out:match("mid= ([%w_%-]+)")
    -- 3,000 writes of every type, deletes and expiring keys, in two versions
    math.randomseed(13)
    for version = 1, 2 do
      local script = { "SELECT " .. mid }
      for i = 1, 1500 do
        local k, n = math.random(1, 300), math.random(1, 1000)
        local pick = math.random(1, 8)
        if pick == 1 then script[#script + 1] = ("SET s:%d v%d"):format(k, n)
        elseif pick == 2 then script[#script + 1] = ("HSET h:%d f%d v%d"):format(k % 40, n % 20, n)
        elseif pick == 3 then script[#script + 1] = ("RPUSH l:%d x%d"):format(k % 30, n)
        elseif pick == 4 then script[#script + 1] = ("ZADD z:%d %d m%d"):format(k % 30, n, n % 50)
        elseif pick == 5 then script[#script + 1] = ("SADD t:%d m%d"):format(k % 30, n % 25)
        elseif pick == 6 then script[#script + 1] = ("DEL s:%d"):format(k)
        elseif pick == 7 then script[#script + 1] = ("SET e:%d v%d PX %d"):format(k, n, i % 2 == 0 and 1 or 600000)
        else script[#script + 1] = ("HDEL h:%d f%d"):format(k % 40, n % 20) end
      end
      t.redis_cli(a.db_port, table.concat(script, "\n") .. "\n")
      r = t.leither("mimei", "backup", mid, "--home", a.home)
      assert.are.equal(0, r.code, r.err)
      assert.truthy(r.out:find("ver= " .. version, 1, true), r.out)
    end
    r = run_tool("info", a.home .. "/data", mid)
    assert.are.equal(0, r.code, r.err)
    t.write(dir .. "/info.json", r.out)
  end)
  teardown(function()
    t.stop_node(a)
    t.stop_node(b)
    t.rmtree(dir)
  end)

  local top
  it("the author's node makes one version block per version, once, and serves it", function()
    local r = run_tool("make", a.home .. "/data", mid)
    assert.are.equal(0, r.code, r.err)
    local ver
    top, ver = r.out:match("^(%S+) (%d+)\n$")
    assert.are.equal("2", ver)
    r = run_tool("make", a.home .. "/data", mid)
    assert.are.equal(top .. " 2\n", r.out) -- made once
    local v = t.decode(t.curl(a.url .. "/ipfs/" .. top .. "?format=raw").body)
    assert.are.equal("version", v.Type)
    assert.are.equal(mid, v.MID)
    assert.are.equal(2, v.Version)
    assert.is_true(v.Records > 0 and #v.Journal >= 1)
    local first = t.decode(t.curl(a.url .. "/ipfs/" .. v.Prev .. "?format=raw").body)
    assert.are.equal(1, first.Version)
    assert.are.equal("", first.Prev)
    -- pinned: gc keeps them
    assert.are.equal(0, t.leither("repo", "gc", "--home", a.home).code)
    assert.are.equal(200, t.curl(a.url .. "/ipfs/" .. v.Journal[1] .. "?format=raw").status)
  end)

  it("the follower then reads every version as the author does", function()
    local r = apply_on_b(top, fetch_chain(top, 0))
    assert.are.equal(0, r.code, r.err)
    assert.are.equal("ok 2\n", r.out)
    for ver = 1, 2 do
      local want = grep(a, ver)
      assert.is_true(#want > 2000)
      assert.are.equal(want, grep(b, ver))
      local script = lines("SELECT " .. mid .. "@" .. ver, "DBSIZE", "HGETALL h:7", "LRANGE l:3 0 -1",
        "ZRANGE z:5 0 -1 WITHSCORES", "SMEMBERS t:9", "MM.VERSIONS")
      assert.are.equal(t.redis_cli(a.db_port, script), t.redis_cli(b.db_port, script))
    end
  end)

  it("the follower's copy takes no writes, not even from its owner", function()
    local out = t.redis_cli(b.db_port, lines("SELECT " .. mid, "SET mine 1", "MM.BACKUP",
      "MM.APPLYJOURNAL " .. mid .. " 2 3 0 0 x"))
    assert.truthy(out:find("NOPERM this connection may not write to " .. mid, 1, true), out)
    assert.truthy(out:find("ERR unknown command 'MM.APPLYJOURNAL'", 1, true), out)
    assert.are.equal("(nil)", t.redis_cli(b.db_port, lines("SELECT " .. mid, "GET mine")):match("\n(.-)\n$"))
  end)

  it("a tampered journal block is refused, and nothing of its version applied", function()
    t.redis_cli(a.db_port, lines("SELECT " .. mid, "SET third 3", "HSET h:1 f new", "DEL s:1"))
    assert.are.equal(0, t.leither("mimei", "backup", mid, "--home", a.home).code)
    local r = run_tool("make", a.home .. "/data", mid)
    local top3 = r.out:match("^(%S+) 3\n$")
    assert.truthy(top3, r.out)
    local v3 = t.decode(t.curl(a.url .. "/ipfs/" .. top3 .. "?format=raw").body)
    local files = fetch_chain(top3, 2)
    local function hex_of(cid)
      -- the binary CID of a raw CIDv1: 01 55 12 20 then the digest (its sha-256)
      return "01551220" .. t.sh("sha256sum " .. t.quote(dir .. "/" .. cid)).out:match("^(%x+)")
    end
    r = apply_on_b(top3, files, function()
      local tr = t.sh(t.quote(os.getenv("BLOCK_TAMPER") or "../../build/tests/block_tamper") .. " "
        .. t.quote(b.home .. "/data") .. " " .. hex_of(v3.Journal[1]))
      assert.are.equal(0, tr.code, tr.err)
    end)
    assert.are_not.equal(0, r.code)
    assert.truthy(r.err:find("version 3 of " .. mid .. ": block ", 1, true), r.err) -- a MID may hold pattern characters
    assert.matches("no version 3", t.redis(b.db_port, "SELECT", mid .. "@3"))
    -- the right bytes again: it applies
    r = apply_on_b(top3, files)
    assert.are.equal(0, r.code, r.err)
    assert.are.equal(grep(a, 3), grep(b, 3))
  end)

  it("a chain that skips the follower's version is refused", function()
    -- a version block of version 5 whose journal starts from nothing
    t.redis_cli(a.db_port, lines("SELECT " .. mid, "SET fourth 4"))
    assert.are.equal(0, t.leither("mimei", "backup", mid, "--home", a.home).code)
    local r = run_tool("make", a.home .. "/data", mid)
    local top4 = r.out:match("^(%S+) 4\n$")
    local v4 = t.decode(t.curl(a.url .. "/ipfs/" .. top4 .. "?format=raw").body)
    local files = fetch_chain(top4, 3)
    local forged = ('{"Journal":%s,"MID":"%s","Prev":"","Records":%d,"Time":1,"Type":"version","Version":4}')
      :format(#v4.Journal > 0 and ('["' .. table.concat(v4.Journal, '","') .. '"]') or "[]", mid, v4.Records)
    t.write(dir .. "/forged", forged)
    files[#files + 1] = dir .. "/forged"
    assert.are.equal(0, t.leither("stop", "--home", b.home).code)
    r = run_tool("put", b.home .. "/data", table.unpack(files))
    local forged_cid = r.out:match("(%S+)\n$")
    r = run_tool("apply", b.home .. "/data", dir .. "/info.json", forged_cid)
    assert.are.equal(0, t.leither("run", "-d", "--home", b.home).code)
    assert.are_not.equal(0, r.code)
    assert.matches("skips a version", r.err)
    assert.matches("no version 4", t.redis(b.db_port, "SELECT", mid .. "@4"))
  end)
end)
