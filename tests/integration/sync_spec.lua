-- MiMei between nodes, the issue's proof: three real nodes on loopback
-- join one DHT; a file MiMei published on A is provided by B and C, which
-- then serve each new version by themselves; a database MiMei's 10,000
-- writes reach a follower exactly; a tampered block is refused with
-- nothing applied; with A gone, B still serves what it holds to a new
-- node whose `findprovs` names A too.
-- The CLI's lines are the original's (README "Mimei").
local h = require("helpers")

local BLOCK_TAMPER = os.getenv("BLOCK_TAMPER") or "../../build/tests/block_tamper"

-- Polls fn (up to 30 s) until it returns a true value; returns it.
local function eventually(fn) return h.eventually(fn, 30) end

describe("MiMei between nodes", function()
  local a, b, c, dir
  local extra = {}
  local function run(node, ...)
    local args = { ... }
    args[#args + 1] = "--home"
    args[#args + 1] = node.home
    return h.leither(table.unpack(args))
  end
  local function ok(node, ...) return h.ok(run(node, ...)) end
  local function lit(s) return (s:gsub("%p", "%%%0")) end
  local function start(boot)
    return h.start_node({ settings = { listen = "127.0.0.1", threads = 1,
      bootstrap = boot and { "127.0.0.1:" .. boot.dht_port } or {} } })
  end
  -- a version's content as node serves it (nil while it has none)
  local function served(node, mid, ver)
    local r = h.curl(node.url .. "/mm/" .. mid .. "?ver=" .. ver .. "&raw=1")
    return r.status == 200 and r.body or nil
  end
  local function create(node, ...)
    local mid = ok(node, "mimei", "create", "--public", ...):match("mid= (%S+)")
    assert.are.equal(27, #mid)
    return mid
  end
  local function publish(node, mid)
    assert.are.equal("MiMeiPublish mids= [" .. mid .. "] EOL = 168h\nMiMeiPublish ok\n", ok(node, "mimei", "publish", mid))
  end
  local function provide(node, mid)
    assert.are.equal("MiMeiProvide cids= [" .. mid .. "]\nMiMeiProvide ok\n", ok(node, "mimei", "provide", mid))
  end
  local function file(name, text)
    h.write(dir .. "/" .. name, text)
    return dir .. "/" .. name
  end

  setup(function()
    a = start(nil)
    b = start(a)
    c = start(b)
    dir = h.tmpdir()
    -- the three know each other before anything is published
    assert.truthy(eventually(function()
      local o = h.ok(run(c, "swarm", "addrs"))
      return o:find(a.id, 1, true) and o:find(b.id, 1, true)
    end), "the nodes never met")
  end)
  teardown(function()
    for _, n in ipairs({ a, b, c, table.unpack(extra) }) do h.stop_node(n) end
    h.rmtree(dir)
  end)

  local mid -- the file MiMei of the first test, used by the last
  local v2 = string.rep("second version\n", 40000) -- 600 KB: several blocks

  it("publishes a file MiMei on A; B and C provide it and serve each new version with no command on them", function()
    mid = create(a, "-t", "file")
    assert.matches("MiMeiAdd ver= 1\n", ok(a, "mimei", "add", mid, file("v1.txt", "first version\n")))
    publish(a, mid)
    provide(b, mid)
    provide(c, mid)
    for _, n in ipairs({ b, c }) do
      assert.are.equal("first version\n", eventually(function() return served(n, mid, 1) end))
    end
    -- a new version on A only: B and C follow by themselves
    assert.matches("MiMeiAdd ver= 2\n", ok(a, "mimei", "add", mid, file("v2.txt", v2)))
    publish(a, mid)
    for _, n in ipairs({ b, c }) do
      assert.are.equal(v2, eventually(function() return served(n, mid, 2) end))
      assert.are.equal("first version\n", served(n, mid, 1))
      assert.are.equal(v2, served(n, mid, "last"))
    end
    -- the providers, as the original prints them
    local provs = eventually(function()
      local o = ok(c, "mimei", "findprovs", mid)
      return o:find(b.id, 1, true) and o:find(a.id, 1, true) and o
    end)
    assert.truthy(provs, ok(c, "mimei", "findprovs", mid))
    assert.matches("^findprovs mid= " .. lit(mid) .. "\nVersion:[12]\n", provs)
    assert.matches("PeerID%s*: 12D3Koo", provs)
    assert.matches("Addrs%s*:%[/ip4/127%.0%.0%.1/tcp/" .. b.port, provs)
    -- an IPFS client that takes C as its delegated router finds B (and A)
    -- as trustless gateways for version 2's root: the providers C found
    local show = h.decode(h.curl(c.url .. "/api/v0/mimei/show?arg=" .. mid).body)
    local root
    for _, v in ipairs(show.Versions) do if v.Ver == 2 then root = v.Cid end end
    assert.truthy(root)
    local b_peer = h.decode(ok(b, "status", "--json")).PeerID
    local routed = h.curl(c.url .. "/routing/v1/providers/" .. root)
    assert.are.equal(200, routed.status)
    local found = false
    for _, p in ipairs(h.decode(routed.body).Providers) do
      if p.ID == b_peer then
        found = true
        assert.are.equal("transport-ipfs-gateway-http", p.Protocols[1])
        assert.matches("/ip4/127%.0%.0%.1/tcp/" .. b.port .. "/http", p.Addrs[1])
      end
    end
    assert.truthy(found, routed.body)
    -- followers' copies are read-only
    assert.are.equal(1, run(b, "mimei", "add", mid, file("x.txt", "not mine\n")).code)
  end)

  it("copies a database MiMei of 10,000 writes exactly: the follower's grep equals the author's", function()
    local db = create(a, "-t", "db")
    local lines = { "SELECT " .. db }
    for i = 1, 10000 do
      lines[#lines + 1] = (i % 3 == 0 and "HSET h" .. (i % 97) .. " f" .. i .. " v" .. i)
        or (i % 3 == 1 and "SET k" .. i .. " " .. string.rep("x", i % 50))
        or ("RPUSH l" .. (i % 13) .. " " .. i)
    end
    h.redis_cli(a.db_port, table.concat(lines, "\n") .. "\n")
    ok(a, "mimei", "backup", db)
    publish(a, db)
    provide(b, db)
    local want = ok(a, "mimei", "grep", db, "-v", "1")
    assert.is_true(#want > 100000, #want)
    local got = eventually(function()
      local r = run(b, "mimei", "grep", db, "-v", "1")
      return r.code == 0 and r.out == want and r.out
    end)
    assert.are.equal(want, got or run(b, "mimei", "grep", db, "-v", "1").out)
    -- a second version: only its changes move, and both versions stay equal
    h.redis_cli(a.db_port, "SELECT " .. db .. "\nSET k1 changed\nDEL k4\nHSET h0 new field\n")
    ok(a, "mimei", "backup", db)
    publish(a, db)
    local want2 = ok(a, "mimei", "grep", db, "-v", "2")
    assert.truthy(eventually(function() return run(b, "mimei", "grep", db, "-v", "2").out == want2 end))
    assert.are.equal(want, ok(b, "mimei", "grep", db, "-v", "1"))
    local probe = "SELECT " .. db .. "@2\nGET k1\nEXISTS k4\nHGETALL h0\nLRANGE l1 0 -1\nDBSIZE\n"
    local answer = h.redis_cli(a.db_port, probe)
    assert.matches('"changed"', answer)
    assert.are.equal(answer, h.redis_cli(b.db_port, probe))
  end)

  it("refuses a version whose block does not match its CID, applying nothing", function()
    local m = create(a, "-t", "file")
    local body = file("victim.txt", "a block that will not hash\n" .. string.rep("z", 1000))
    local cid = ok(a, "ipfs", "add", "--cid-version", "1", "-Q", body):gsub("%s+$", "") -- one raw block
    ok(a, "mimei", "setcid", m, cid)
    local digest = h.sh("sha256sum " .. h.quote(body)).out:match("^(%x+)")
    local r = h.sh(h.quote(BLOCK_TAMPER) .. " " .. h.quote(a.home .. "/data") .. " 1220" .. digest)
    assert.are.equal(0, r.code, r.err)
    publish(a, m)
    r = run(c, "mimei", "sync", m)
    assert.are.equal(1, r.code, r.out)
    assert.matches("^leither: [^\n]+\n$", r.err)
    assert.is_nil(served(c, m, 1))
    local show = run(c, "mimei", "show", m, "--json")
    assert.is_true(show.code ~= 0 or (h.decode(show.out).Last or 0) == 0, show.out)
  end)

  it("refuses a forged head and a lying provider's blocks (mimei sync -n HOST:PORT), applying nothing", function()
    local m = create(a, "-t", "file")
    ok(a, "mimei", "add", m, file("told.txt", string.rep("the truth\n", 50000)))
    publish(a, m)
    -- blocks with a bit flipped: each refused, the one provider dropped
    local port, pid = h.start_liar(a.url, "tamper-raw")
    local r = run(c, "mimei", "sync", m, "-n", "127.0.0.1:" .. port)
    h.stop_liar(pid)
    assert.are.equal(1, r.code, r.out)
    assert.matches("no provider left", r.err)
    assert.matches("dropped: block %w+: the bytes sent do not hash to it", h.slurp(c.home .. "/leither.log"))
    assert.is_nil(served(c, m, 1))
    -- the head itself altered: its signature no longer holds
    port, pid = h.start_liar(a.url, "tamper")
    r = run(c, "mimei", "sync", m, "-n", "127.0.0.1:" .. port)
    h.stop_liar(pid)
    assert.are.equal(1, r.code, r.out)
    assert.is_nil(served(c, m, 1))
    -- the author's node itself: what was stored is kept, the rest comes
    r = run(c, "mimei", "sync", m, "-n", "127.0.0.1:" .. a.port)
    assert.are.equal(0, r.code, r.err)
    assert.are.equal(string.rep("the truth\n", 50000), served(c, m, 1))
  end)

  it("copies a published app, server code included: the follower runs it as its origin does", function()
    local apps = dir .. "/apps"
    h.sh("mkdir -p " .. h.quote(apps))
    ok(a, "lapp", "new", "follow", "-d", apps)
    local source = 'app.get("/api/where", function(req) return { from = "follow" } end)\n'
    h.write(apps .. "/follow/server/main.lua", source)
    local up = h.decode(ok(a, "lapp", "uploadapp", "-i", "follow", "-d", apps, "--json"))
    ok(a, "lapp", "backup", "-a", up.AppId)
    local code = ok(a, "ipfs", "add", "-n", "-Q", apps .. "/follow/server/main.lua"):gsub("%s+$", "")
    assert.are.equal(200, h.curl(a.url .. "/tpt/" .. up.AppId .. "/api/where").status)
    -- not published yet: its server code reaches no one
    assert.are.equal(404, h.curl(a.url .. "/ipfs/" .. code .. "?format=raw").status)
    publish(a, up.AppId)
    -- published: handed out as raw blocks, never rendered, never in a CAR or through a path,
    -- even once a private app holds the same bytes
    ok(a, "lapp", "new", "twin", "-d", apps)
    h.write(apps .. "/twin/server/main.lua", source)
    h.write(apps .. "/twin/manifest.json", '{"name": "twin", "entry": "server/main.lua", "database": false, "public": false}')
    ok(a, "lapp", "uploadapp", "-i", "twin", "-d", apps)
    local raw = h.curl(a.url .. "/ipfs/" .. code .. "?format=raw")
    assert.are.equal(200, raw.status, raw.body)
    assert.truthy(raw.body:find(source, 1, true))
    assert.are.equal(404, h.curl(a.url .. "/ipfs/" .. code).status)
    assert.are.equal(404, h.curl(a.url .. "/ipfs/" .. up.Cid .. "?format=car").status)
    assert.are.equal(404, h.curl(a.url .. "/ipfs/" .. up.Cid .. "/server/main.lua?format=raw").status)
    provide(b, up.AppId)
    -- once B holds the version, before anything runs the app there (sync_apply
    -- records an app version's server code, as an upload does)
    assert.truthy(eventually(function()
      local show = run(b, "mimei", "show", up.AppId, "--json")
      return show.code == 0 and h.decode(show.out).Last == 1
    end))
    assert.are.equal(404, h.curl(b.url .. "/ipfs/" .. up.Cid .. "/server/main.lua").status)
    local r = eventually(function()
      local x = h.curl(b.url .. "/tpt/" .. up.AppId .. "/api/where")
      return x.status == 200 and x
    end)
    assert.truthy(r, h.curl(b.url .. "/tpt/" .. up.AppId .. "/api/where").body)
    assert.are.same({ from = "follow" }, h.decode(r.body))
    -- B hands it on as A does
    assert.are.equal(200, h.curl(b.url .. "/ipfs/" .. code .. "?format=raw").status)
    for _, n in ipairs({ a, b }) do
      assert.are.equal(404, h.curl(n.url .. "/ipfs/" .. up.Cid .. "/server/main.lua").status)
      assert.are.equal(404, h.curl(n.url .. "/ipfs/" .. code).status)
    end
  end)

  it("a follower that was offline catches up from its last version when it returns", function()
    assert.are.equal(0, run(c, "stop").code)
    local v3 = "third version, published while C was away\n"
    assert.matches("MiMeiAdd ver= 3\n", ok(a, "mimei", "add", mid, file("v3.txt", v3)))
    publish(a, mid)
    assert.are.equal(v3, eventually(function() return served(b, mid, 3) end))
    assert.are.equal(0, run(c, "run", "-d").code)
    -- no command on C: at its start it asks for the heads it follows
    assert.are.equal(v3, eventually(function() return served(c, mid, 3) end))
    assert.are.equal(v2, served(c, mid, 2))
    assert.are.equal("first version\n", served(c, mid, 1))
  end)

  it("with A gone, B still serves a new node that findprovs pointed at A too", function()
    assert.are.equal(0, run(a, "stop").code)
    local d = start(c)
    extra[#extra + 1] = d
    local out = eventually(function()
      local r = run(d, "mimei", "sync", mid)
      return r.code == 0 and r.out
    end)
    assert.truthy(out, run(d, "mimei", "sync", mid).err)
    assert.matches("MiMeiSync mid = " .. lit(mid), out)
    assert.matches("mimei sync ok\n$", out)
    assert.are.equal(v2, served(d, mid, 2))
    assert.are.equal(v2, served(b, mid, 2))
    assert.truthy(served(d, mid, 3))
  end)
end)
