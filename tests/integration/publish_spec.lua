-- MiMei between nodes: `mimei publish`, `provide`, `findprovs` and `sync`
-- on real nodes joined through the DHT on loopback. Debian's dhtnode reads
-- a published head and puts forged ones the nodes must refuse.
local h = require("helpers")

local TOOLS = (os.getenv("LEITHER_BIN") and os.getenv("LEITHER_BIN"):gsub("leither$", "") or "../../build/") .. "tests/"
local eventually, dhtnode, unhex = h.eventually, h.dhtnode, h.unhex

describe("MiMei between nodes", function()
  local a, b, c
  local function run(node, ...)
    local args = { ... }
    args[#args + 1] = "--home"
    args[#args + 1] = node.home
    return h.leither(table.unpack(args))
  end
  local function ok(node, ...) return h.ok(run(node, ...)) end
  -- a file MiMei on node with one version; public unless private
  local function file_mimei(node, private)
    local args = { "mimei", "create" }
    if not private then args[#args + 1] = "--public" end
    local mid = ok(node, table.unpack(args)):match("mid= (%S+)")
    local f = os.tmpname()
    h.write(f, "content of " .. mid .. "\n")
    local root = ok(node, "mimei", "add", mid, f):match("^add /ipfs/(%S+)")
    os.remove(f)
    return mid, root
  end
  local function head_of(node, mid)
    local r = h.curl(node.url .. "/api/v0/mimei/head?arg=" .. mid)
    return r.status == 200 and h.decode(r.body) or nil, r
  end

  setup(function()
    local function settings(boot)
      return { listen = "127.0.0.1", threads = 1, bootstrap = boot and { "127.0.0.1:" .. boot.dht_port } or {} }
    end
    a = h.start_node({ settings = settings(nil) })
    b = h.start_node({ settings = settings(a) })
    c = h.start_node({ settings = settings(b) })
    -- the three know each other before anything is put
    eventually(function()
      local o = ok(c, "swarm", "addrs")
      return o:find(a.id, 1, true) and o:find(b.id, 1, true)
    end)
  end)

  teardown(function()
    for _, n in ipairs({ a, b, c }) do
      if n then h.stop_node(n) end
    end
  end)

  it("publishes a public MiMei as the original prints it, and serves its head", function()
    local mid, root = file_mimei(a)
    local rule = string.rep("-", 61)
    assert.falsy(ok(a, "mimei", "show", mid):find("from net", 1, true)) -- no head yet
    assert.are.equal("MiMeiPublish mids= [" .. mid .. "] EOL = 168h\nMiMeiPublish ok\n", ok(a, "mimei", "publish", mid))
    -- mimei show: the original's sections from the head
    local show = ok(a, "mimei", "show", mid)
    local want = "\nfrom net\n" .. rule .. "\n1        " .. root .. "\nlast     1\n\nconflict\n" .. rule
      .. "\nno conflict\n\ncompare version\n" .. rule .. "\nlocal version is same with net\n\nmimei show ok\n"
    assert.are.equal(want, show:sub(-#want))
    local doc = head_of(a, mid)
    assert.truthy(doc, "a serves no head of " .. mid)
    assert.are.equal(mid, doc.Head.MID)
    assert.are.equal(1, doc.Head.Version)
    assert.are.equal(mid, doc.Head.Info.ID)
    assert.are.equal(7 * 24 * 3600, doc.Head.EOL - doc.Head.Time)
    -- a shorter life, as --eol says
    local other = file_mimei(a)
    assert.are.equal("MiMeiPublish mids= [" .. other .. "] EOL = 2h\nMiMeiPublish ok\n",
      ok(a, "mimei", "publish", other, "--eol", "2h"))
    doc = head_of(a, other)
    assert.are.equal(7200, doc.Head.EOL - doc.Head.Time)
    local r = run(a, "mimei", "publish", other, "--eol", "forever")
    assert.are.equal(1, r.code)
    assert.truthy(r.err:find("--eol takes a duration", 1, true), r.err)
  end)

  it("puts the head where Debian's dhtnode reads it, under leither/head/MID", function()
    local mid = file_mimei(a)
    ok(a, "mimei", "publish", mid)
    local out = dhtnode(c.dht_port, { "g leither/head/" .. mid })
    local hex = out:match("data:(%x+)")
    assert.truthy(hex, "dhtnode found no head:\n" .. out)
    local env = h.decode(unhex(hex))
    local rec = h.decode(env.Record)
    assert.are.equal("head", rec.Type)
    assert.are.equal(mid, rec.MID)
    assert.are.equal(1, rec.Version)
    assert.are.equal(a.id, rec.Info.Author)
    assert.truthy(rec.Block:match("^b"), rec.Block) -- the version block, a CIDv1
    assert.are.equal(86, #env.Sig) -- ed25519, base64url
    -- and the provider record under leither/prov/MID
    out = dhtnode(c.dht_port, { "g leither/prov/" .. mid })
    hex = out:match("data:(%x+)")
    assert.truthy(hex, "dhtnode found no provider record:\n" .. out)
    rec = h.decode(h.decode(unhex(hex)).Record)
    assert.are.same({ Type = "provider", MID = mid, ID = a.id, Version = 1 },
      { Type = rec.Type, MID = rec.MID, ID = rec.ID, Version = rec.Version })
    assert.are.same({ "/ip4/127.0.0.1/tcp/" .. a.port }, rec.Addrs)
  end)

  it("lists the publisher on another node (findprovs), with its version and addresses", function()
    local mid = file_mimei(a)
    ok(a, "mimei", "publish", mid)
    local peer_id = h.decode(h.curl(a.url .. "/api/v0/id").body).PeerID
    local want = "findprovs mid= " .. mid .. "\nVersion:1\nPeerID\t: " .. peer_id .. "\nID\t: " .. a.id
      .. "\nAddrs\t:[/ip4/127.0.0.1/tcp/" .. a.port .. "]\n"
    local out = eventually(function()
      local o = ok(c, "mimei", "findprovs", mid)
      return o == want and o
    end)
    assert.are.equal(want, out or ok(c, "mimei", "findprovs", mid))
    local doc = h.decode(ok(c, "mimei", "findprovs", mid, "--json"))
    assert.are.equal("done", doc.State)
    assert.are.equal(a.id, doc.Providers[1].ID)
    -- a MiMei nobody provides: just the first line
    assert.are.equal("findprovs mid= AAAAAAAAAAAAAAAAAAAAAAAAAAA\n",
      ok(c, "mimei", "findprovs", "AAAAAAAAAAAAAAAAAAAAAAAAAAA"))
  end)

  it("never publishes or provides a private MiMei", function()
    local mid = file_mimei(a, true)
    local r = run(a, "mimei", "publish", mid)
    assert.are.equal(1, r.code)
    assert.truthy(r.err:find("^leither: private MiMei are never published: 'mimei chmod " .. mid:gsub("%-", "%%-")
      .. " public' first"), r.err)
    assert.are.equal("", r.out)
    r = run(a, "mimei", "provide", mid)
    assert.are.equal(1, r.code)
    assert.truthy(r.err:find("private MiMei are never provided", 1, true), r.err)
    local _, res = head_of(a, mid)
    assert.are.equal(403, res.status)
    assert.falsy(dhtnode(c.dht_port, { "g leither/head/" .. mid }):find("data:", 1, true))
    -- made private after it was published: its head is no longer served
    local public = file_mimei(a)
    ok(a, "mimei", "publish", public)
    ok(a, "mimei", "chmod", public, "private")
    _, res = head_of(a, public)
    assert.are.equal(403, res.status)
  end)

  it("refuses what is not its to publish, and bad requests, with one line", function()
    local mid = file_mimei(a)
    -- unsigned
    local r = h.curl(a.url .. "/api/v0/mimei/publish?arg=" .. mid, "-X POST")
    assert.are.equal(401, r.status)
    -- a stranger's key
    local dir = h.tmpdir()
    h.ok(h.leither("lpki", "genkey", "-o", dir .. "/stranger.key"))
    r = run(a, "mimei", "publish", mid, "-k", dir .. "/stranger.key")
    assert.are.equal(1, r.code)
    assert.truthy(r.err:find("may not publish MiMei " .. mid, 1, true), r.err)
    h.rmtree(dir)
    -- no such MiMei, a bad ID, no such job
    r = run(a, "mimei", "publish", "AAAAAAAAAAAAAAAAAAAAAAAAAAA")
    assert.truthy(r.err:find("^leither: no MiMei AAAAAAAAAAAAAAAAAAAAAAAAAAA on this node"), r.err)
    r = run(a, "mimei", "publish", "nope")
    assert.are.equal("leither: 'nope' is not a MiMei ID\n", r.err)
    assert.are.equal(404, h.curl(a.url .. "/api/v0/sync/job?id=999999").status)
    assert.are.equal(400, h.curl(a.url .. "/api/v0/sync/job?id=x").status)
    assert.are.equal(404, h.curl(a.url .. "/api/v0/mimei/head?arg=AAAAAAAAAAAAAAAAAAAAAAAAAAA").status)
    assert.are.equal(200, h.curl(a.url .. "/api/v0/id").status)
  end)

  it("publishes another author's MiMei with a head that author's key signs (-k), and checks it", function()
    local dir = h.tmpdir()
    local key = dir .. "/dev.key"
    h.ok(h.leither("lpki", "genkey", "-o", key))
    local dev = h.decode(h.ok(h.leither("lpki", "show", key, "--json"))).ID
    ok(a, "lpki", "grant", dev)
    local mid = ok(a, "mimei", "create", "--public", "-k", key):match("mid= (%S+)")
    local f = dir .. "/f"
    h.write(f, "by dev\n")
    ok(a, "mimei", "add", mid, f, "-k", key)
    -- the node key may not: the MiMei is dev's
    local r = run(a, "mimei", "publish", mid)
    assert.are.equal(1, r.code)
    assert.truthy(r.err:find("may not publish MiMei " .. mid, 1, true), r.err)
    assert.are.equal("MiMeiPublish mids= [" .. mid .. "] EOL = 168h\nMiMeiPublish ok\n",
      ok(a, "mimei", "publish", mid, "-k", key))
    local doc = head_of(a, mid)
    assert.are.equal(dev, doc.Head.Info.Author)
    assert.are.equal(1, doc.Head.Version)
    -- a head dev signed over a version the node does not have: refused
    local info = dir .. "/info.json"
    h.write(info, h.curl(a.url .. "/api/v0/mimei/show?arg=" .. mid).body:match('"Info":%s*(%b{})'))
    local now = os.time()
    local bad = h.ok(h.sh(table.concat({ h.quote(TOOLS .. "head_record"), h.quote(key), h.quote(info), mid, "5",
      tostring(now), tostring(now + 3600) }, " "))):gsub("\n$", "")
    local body = dir .. "/body"
    h.write(body, bad)
    local auth = h.ok(h.leither("lpki", "authorize", "POST", "/api/v0/mimei/publish?arg=" .. mid, body, "-k", key,
      "--home", a.home)):gsub("\n$", "")
    r = h.curl(a.url .. "/api/v0/mimei/publish?arg=" .. mid, "-X POST --data-binary @" .. h.quote(body)
      .. " -H " .. h.quote("Authorization: " .. auth))
    assert.are.equal(200, r.status, r.body)
    local job = h.decode(r.body).Job
    local state = eventually(function()
      local d = h.decode(h.curl(a.url .. "/api/v0/sync/job?id=" .. job).body)
      return d.State ~= "queued" and d.State ~= "running" and d
    end)
    assert.are.equal("failed", state.State)
    assert.truthy(state.Error:find("names version 5", 1, true), state.Error)
    assert.are.equal(1, head_of(a, mid).Head.Version)
    h.rmtree(dir)
  end)

  it("refuses a forged head, one past its EOL and one from the future, logged, changing nothing", function()
    local mid = file_mimei(a)
    ok(a, "mimei", "publish", mid)
    assert.are.equal("MiMeiProvide cids= [" .. mid .. "]\nMiMeiProvide ok\n", ok(b, "mimei", "provide", mid))
    -- b follows mid: it sees a's head
    assert.truthy(eventually(function() return head_of(b, mid) end), "b never saw a's head")
    local info = os.tmpname()
    h.write(info, h.curl(a.url .. "/api/v0/mimei/show?arg=" .. mid).body:match('"Info":%s*(%b{})'))
    local dir = h.tmpdir()
    h.ok(h.leither("lpki", "genkey", "-o", dir .. "/forger.key"))
    local function head(key, version, t, eol)
      return h.ok(h.sh(table.concat({ h.quote(TOOLS .. "head_record"), h.quote(key), h.quote(info), mid,
        tostring(version), tostring(t), tostring(eol) }, " "))):gsub("\n$", "")
    end
    local now = os.time()
    local a_key = a.home .. "/keys/node.key"
    local forged = head(dir .. "/forger.key", 99, now, now + 3600) -- right shape, another key's signature
    local expired = head(a_key, 98, now - 7200, now - 3600)         -- the author's, past its EOL
    local future = head(a_key, 97, now + 3600, now + 7200)          -- the author's, an hour ahead
    dhtnode(c.dht_port, { "p leither/head/" .. mid .. " " .. forged, "p leither/head/" .. mid .. " " .. expired,
      "p leither/head/" .. mid .. " " .. future })
    os.remove(info)
    h.rmtree(dir)
    local wanted = {
      "sync: skipped a head of " .. mid .. " with a bad signature",
      "sync: skipped a head of " .. mid .. " past its EOL",
      "sync: skipped a head of " .. mid .. " from the future",
    }
    local log = eventually(function()
      local l = h.slurp(b.home .. "/leither.log") or ""
      for _, w in ipairs(wanted) do
        if not l:find(w, 1, true) then return nil end
      end
      return l
    end)
    assert.truthy(log, "b's log lacks a refusal:\n" .. tostring(h.slurp(b.home .. "/leither.log")))
    -- nothing changed: b's newest head is a's version 1, b applied nothing
    assert.are.equal(1, head_of(b, mid).Head.Version)
    assert.are.equal(1, head_of(a, mid).Head.Version)
    assert.falsy((h.slurp(b.home .. "/leither.log") or ""):find("version 9[789]"))
    assert.are.equal(200, h.curl(b.url .. "/api/v0/id").status)
  end)

  it("keeps publishing and following after a restart (data/sync.json)", function()
    local mid = file_mimei(a)
    ok(a, "mimei", "publish", mid)
    ok(b, "mimei", "provide", mid)
    local state = h.decode(h.slurp(b.home .. "/data/sync.json"))
    assert.truthy(state.Followed and table.concat(state.Followed, " "):find(mid, 1, true))
    h.ok(h.leither("stop", "--home", a.home))
    h.ok(h.leither("run", "-d", "--home", a.home))
    assert.truthy(eventually(function() return head_of(a, mid) end), "a forgot its head after a restart")
    h.ok(h.leither("stop", "--home", b.home))
    h.ok(h.leither("run", "-d", "--home", b.home))
    -- b follows again: it gets the head once at start
    assert.truthy(eventually(function() return head_of(b, mid) end), "b does not follow after a restart")
    assert.are.equal("MiMeiUnprovide cids= [" .. mid .. "]\nMiMeiUnprovide ok\n", ok(b, "mimei", "unprovide", mid))
    state = h.decode(h.slurp(b.home .. "/data/sync.json"))
    assert.falsy(table.concat(state.Followed or {}, " "):find(mid, 1, true))
  end)

  it("syncs a published version to a node that asks (mimei sync), and to followers by themselves", function()
    local mid = file_mimei(a)
    ok(a, "mimei", "publish", mid)
    assert.are.equal("MiMeiSync mid = " .. mid .. "\nmimei sync ok\n", ok(c, "mimei", "sync", mid))
    assert.are.equal("content of " .. mid .. "\n", ok(c, "mimei", "get", mid))
    ok(b, "mimei", "provide", mid)
    assert.truthy(eventually(function() return run(b, "mimei", "get", mid).out == "content of " .. mid .. "\n" end))
    -- a new version on a: b follows by itself
    local f = os.tmpname()
    h.write(f, "version two\n")
    ok(a, "mimei", "add", mid, f)
    os.remove(f)
    ok(a, "mimei", "publish", mid)
    assert.truthy(eventually(function() return run(b, "mimei", "get", mid).out == "version two\n" end),
      "b did not follow version 2")
    assert.truthy((h.slurp(b.home .. "/leither.log") or ""):find("sync: " .. mid .. " version 2, ", 1, true))
    -- from one named node
    assert.are.equal("MiMeiSync mid = " .. mid .. "\nmimei sync ok\n", ok(c, "mimei", "sync", mid, "-n", a.id))
    assert.are.equal("version two\n", ok(c, "mimei", "get", mid))
    -- a node without the DHT asks one by its address
    local island = h.start_node({ settings = { listen = "127.0.0.1", threads = 1, dht_port = 0 } })
    local r = run(island, "mimei", "sync", mid)
    assert.are.equal(1, r.code)
    assert.truthy(r.err:find("the DHT is off on this node", 1, true), r.err)
    assert.are.equal("MiMeiSync mid = " .. mid .. "\nmimei sync ok\n",
      ok(island, "mimei", "sync", mid, "-n", "127.0.0.1:" .. a.port))
    local got = run(island, "mimei", "get", mid).out
    h.stop_node(island)
    assert.are.equal("version two\n", got)
  end)

  it("syncs a database MiMei: the follower's versions read as the author's", function()
    local mid = ok(a, "mimei", "create", "-t", "db", "--public"):match("mid= (%S+)")
    local script = { "SELECT " .. mid }
    for i = 1, 200 do script[#script + 1] = "SET k" .. i .. " v" .. i end
    script[#script + 1] = "RPUSH l x y z"
    script[#script + 1] = "MM.BACKUP"
    script[#script + 1] = "SET k1 changed"
    script[#script + 1] = "DEL k2"
    script[#script + 1] = "MM.BACKUP"
    h.redis_cli(a.db_port, table.concat(script, "\n") .. "\n")
    ok(a, "mimei", "publish", mid)
    assert.are.equal("MiMeiSync mid = " .. mid .. "\nmimei sync ok\n", ok(c, "mimei", "sync", mid))
    for _, v in ipairs({ "1", "2" }) do
      assert.are.equal(ok(a, "mimei", "grep", mid, "-v", v), ok(c, "mimei", "grep", mid, "-v", v))
    end
    assert.are.equal('"changed"', h.redis_cli(c.db_port, "SELECT " .. mid .. "@2\nGET k1\n"):match('\n(.-)\n$'))
  end)
end)
