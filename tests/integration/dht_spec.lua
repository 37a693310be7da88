-- Nodes finding each other: three real nodes on loopback join one OpenDHT
-- network through each other, list each other (`swarm addrs`), find each
-- other's addresses (`dht findpeer`); Debian's own OpenDHT CLI, dhtnode,
-- joins the same network, reads a node record, and puts forged ones that
-- the nodes must skip.
local h = require("helpers")
local json = require("dkjson")

local RECORD_TOOL = (os.getenv("LEITHER_BIN") and os.getenv("LEITHER_BIN"):gsub("leither$", "") or "../../build/")
  .. "tests/dht_record"

local eventually, dhtnode, unhex = h.eventually, h.dhtnode, h.unhex

describe("the DHT", function()
  local a, b, c
  local function run(node, ...)
    local args = { ... }
    args[#args + 1] = "--home"
    args[#args + 1] = node.home
    return h.leither(table.unpack(args))
  end
  local function block(node) -- a node as `swarm addrs` lists it
    return node.id .. " (1)\n        /ip4/127.0.0.1/tcp/" .. node.port .. "\n"
  end

  setup(function()
    local function settings(boot)
      return { listen = "127.0.0.1", threads = 1, bootstrap = boot and { "127.0.0.1:" .. boot.dht_port } or {} }
    end
    a = h.start_node({ settings = settings(nil) })
    b = h.start_node({ settings = settings(a) })
    c = h.start_node({ settings = settings(b) })
  end)

  teardown(function()
    for _, n in ipairs({ a, b, c }) do
      if n then h.stop_node(n) end
    end
  end)

  it("takes bootstrap nodes as HOST:PORT from init -b, and refuses what is not one", function()
    local home = h.tmpdir()
    local r = h.leither("init", "--home", home, "-p", "4811", "-b", "127.0.0.1:4802,[::1]:4902,dht.example")
    assert.are.equal(0, r.code, r.err)
    assert.are.same({ "127.0.0.1:4802", "[::1]:4902", "dht.example" },
      h.decode(h.slurp(home .. "/SystemVars.json")).bootstrap)
    r = h.leither("init", "--home", home, "-b", "dht.example:http")
    assert.are.equal(1, r.code)
    assert.are.equal('leither: ' .. home .. '/SystemVars.json: "bootstrap": "dht.example:http" is not HOST, '
      .. 'HOST:PORT or [IPV6]:PORT\n', r.err)
    h.rmtree(home)
  end)

  it("binds the DHT's UDP port on the listen address only", function()
    local udp = h.slurp("/proc/net/udp")
    local want = string.format("0100007F:%04X", a.dht_port) -- 127.0.0.1, as the kernel prints it
    assert.truthy(udp:find(want, 1, true), "no UDP socket on 127.0.0.1:" .. a.dht_port)
    assert.falsy(udp:find(string.format("00000000:%04X", a.dht_port), 1, true), "the DHT bound every interface")
  end)

  it("lets three nodes bootstrapped off each other list each other, as the original prints", function()
    for _, pair in ipairs({ { a, b, c }, { b, a, c }, { c, a, b } }) do
      local self, x, y = pair[1], pair[2], pair[3]
      local out = eventually(function()
        local o = h.ok(run(self, "swarm", "addrs"))
        return o:find(block(x), 1, true) and o:find(block(y), 1, true) and o
      end)
      assert.truthy(out, "swarm addrs on " .. self.id .. " lacks a node:\n" .. tostring(h.ok(run(self, "swarm", "addrs"))))
      assert.falsy(out:find(self.id, 1, true), "a node lists itself")
    end
  end)

  it("answers IPFS clients' peer lookups (/routing/v1/peers) with the nodes the DHT verified", function()
    local peer_id = h.decode(h.curl(a.url .. "/api/v0/id").body).PeerID
    local doc = eventually(function()
      local d = h.decode(h.curl(c.url .. "/routing/v1/peers/" .. peer_id).body)
      return d and d.Peers and #d.Peers > 0 and d
    end)
    assert.truthy(doc, "node c does not know node a's peer record")
    assert.are.same({ { Schema = "peer", ID = peer_id, Addrs = { "/ip4/127.0.0.1/tcp/" .. a.port .. "/http" },
      Protocols = { "transport-ipfs-gateway-http" } } }, doc.Peers)
    -- a peer nobody put a record for: none
    local none = h.decode(h.curl(c.url .. "/routing/v1/peers/12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA").body)
    assert.are.same({}, none.Peers)
  end)

  it("finds a node's addresses by its ID, from its signed record", function()
    assert.are.equal("/ip4/127.0.0.1/tcp/" .. a.port .. "\n", h.ok(run(c, "dht", "findpeer", a.id)))
    local doc = h.decode(h.ok(run(c, "dht", "findpeer", c.id, "--json")))
    assert.are.same({ "/ip4/127.0.0.1/tcp/" .. c.db_port }, doc.RespAddrs)
    local r = run(c, "dht", "findpeer", "not-an-id")
    assert.are.equal(1, r.code)
    assert.truthy(r.err:find("not a Leither ID", 1, true), r.err)
  end)

  it("lets lapp talk to a node found by its ID (-n NODE_ID), through the home's node", function()
    local dir = h.tmpdir()
    h.ok(run(c, "lapp", "new", "byid", "-d", dir))
    -- c's home finds a; a's owner key signs
    local out = h.ok(run(c, "lapp", "uploadapp", "-i", "byid", "-d", dir, "-n", a.id, "-k", a.home .. "/keys/node.key"))
    local appid = out:match("^appid= (%S+)\n")
    assert.truthy(appid, out)
    assert.matches("uploadapp ok\n$", out)
    assert.matches("MiMeiBackup ver= 1", h.ok(run(c, "lapp", "backup", "-a", appid, "-n", a.id,
      "-k", a.home .. "/keys/node.key")))
    -- the app is on a, not on c
    local shown = h.decode(h.ok(run(c, "lapp", "showapp", "-a", appid, "-n", a.id, "--json")))
    assert.are.equal(appid, shown.AppId)
    assert.are.equal(1, shown.Last)
    assert.are.equal(1, run(c, "lapp", "showapp", "-a", appid, "--json").code)
    -- an ID no node has: looked up for a while, then one line
    h.ok(h.leither("lpki", "genkey", "-o", dir .. "/nobody.key"))
    local nobody = h.ok(h.leither("lpki", "show", dir .. "/nobody.key")):match("^ID%s+(%S+)")
    local r = run(c, "lapp", "showapp", "-a", appid, "-n", nobody)
    assert.are.equal(1, r.code)
    assert.are.equal("lapp: -n " .. nobody .. ": no node of that ID found in the DHT (node " .. nobody
      .. ": no verified record yet (a lookup is under way) (HTTP 404))\n", r.err)
    h.rmtree(dir)
  end)

  it("joins through a bootstrap node that was down when the node started, once it is up", function()
    local later = h.random_port()
    local d = h.start_node({ settings = { listen = "127.0.0.1", threads = 1, bootstrap = { "127.0.0.1:" .. later } } })
    local e = h.start_node({ settings = { listen = "127.0.0.1", threads = 1, dht_port = later } })
    local met = eventually(function()
      return h.ok(run(e, "swarm", "addrs")):find(block(d), 1, true)
        and h.ok(run(d, "swarm", "addrs")):find(block(e), 1, true)
    end)
    local seen_by_d, seen_by_e = h.ok(run(d, "swarm", "addrs")), h.ok(run(e, "swarm", "addrs"))
    h.stop_node(d)
    h.stop_node(e)
    assert.truthy(met, "the two never met:\n" .. seen_by_d .. "--\n" .. seen_by_e)
  end)

  it("serves a node record that Debian's dhtnode reads, in our network and not in OpenDHT's public one", function()
    local out = dhtnode(c.dht_port, { "g leither/node/" .. a.id })
    local hex = out:match("data:(%x+)")
    assert.truthy(hex, "dhtnode found no value:\n" .. out)
    local env = h.decode(unhex(hex))
    local rec = h.decode(env.Record)
    assert.are.equal(a.id, rec.ID)
    assert.are.same({ "/ip4/127.0.0.1/tcp/" .. a.port }, rec.Addrs)
    assert.are.equal(86, #env.Sig) -- ed25519, base64url
    -- the public OpenDHT network id (0) does not reach our nodes
    out = dhtnode(c.dht_port, { "g leither/node/" .. a.id }, "0")
    assert.falsy(out:find("data:", 1, true), out)
  end)

  it("skips forged, stale and oversize records that dhtnode puts, and keeps a valid one", function()
    local dir = h.tmpdir()
    local tool = function(...)
      local parts = { h.quote(RECORD_TOOL) }
      for _, x in ipairs({ ... }) do parts[#parts + 1] = h.quote(x) end
      return (h.ok(h.sh(table.concat(parts, " "))):gsub("\n$", ""))
    end
    h.ok(h.leither("lpki", "genkey", "-o", dir .. "/other.key"))
    local now = os.time()
    local a_key = a.home .. "/keys/node.key"
    -- a node that is not running but signed its record: a valid record
    local valid = tool(dir .. "/other.key", tostring(now), "/ip4/10.99.99.99/tcp/999")
    local valid_id = h.decode(h.decode(valid).Record).ID
    -- a's record with its address changed after signing
    local real = h.decode(h.ok(run(a, "dht", "findpeer", a.id, "--json")))
    assert.truthy(real.ID)
    local signed = tool(a_key, tostring(now), "/ip4/127.0.0.1/tcp/" .. a.port)
    local tampered = signed:gsub("127%.0%.0%.1", "10.66.66.66")
    -- a's key, an hour old
    local stale = tool(a_key, tostring(now - 3600), "/ip4/10.77.77.77/tcp/777")
    -- another key claiming a's ID
    local claimed = tool(dir .. "/other.key", tostring(now), "/ip4/10.88.88.88/tcp/888", a.id)
    local oversize = '{"Record":"' .. string.rep("x", 5000) .. '","Sig":""}'
    -- a valid record under its node's key only (not in the directory):
    -- findpeer must look it up
    h.ok(h.leither("lpki", "genkey", "-o", dir .. "/hidden.key"))
    local hidden = tool(dir .. "/hidden.key", tostring(now), "/ip4/10.98.98.98/tcp/998")
    local hidden_id = h.decode(h.decode(hidden).Record).ID
    local cmds = { "p leither/node/" .. hidden_id .. " " .. hidden }
    for _, key in ipairs({ "leither/nodes", "leither/node/" .. a.id }) do
      for _, v in ipairs({ tampered, stale, claimed, oversize, valid }) do
        cmds[#cmds + 1] = "p " .. key .. " " .. v
      end
    end
    dhtnode(c.dht_port, cmds)
    h.rmtree(dir)

    local wanted = {
      "skipped a record of " .. a.id .. " with a bad signature",
      "skipped a stale record of " .. a.id,
      "skipped a record of " .. a.id .. " whose public key is not that ID's",
      "skipped a value larger than 4096 bytes",
    }
    local log = eventually(function()
      local l = h.slurp(b.home .. "/leither.log") or ""
      for _, w in ipairs(wanted) do
        if not l:find(w, 1, true) then return nil end
      end
      return l
    end)
    assert.truthy(log, "b's log lacks a skip line:\n" .. tostring(h.slurp(b.home .. "/leither.log")))
    local addrs = eventually(function()
      local o = h.ok(run(b, "swarm", "addrs"))
      return o:find(valid_id .. " (1)\n        /ip4/10.99.99.99/tcp/999\n", 1, true) and o
    end)
    assert.truthy(addrs, "the valid record put by dhtnode is not listed")
    for _, bad in ipairs({ "10.66.66.66", "10.77.77.77", "10.88.88.88" }) do
      assert.falsy(addrs:find(bad, 1, true), bad .. " listed:\n" .. addrs)
    end
    assert.are.equal("/ip4/127.0.0.1/tcp/" .. a.port .. "\n", h.ok(run(b, "dht", "findpeer", a.id)))
    assert.falsy(addrs:find(hidden_id, 1, true), "a record outside the directory is listed before a lookup")
    assert.are.equal("/ip4/10.98.98.98/tcp/998\n", h.ok(run(b, "dht", "findpeer", hidden_id)))
    -- the node keeps serving
    assert.are.equal(200, h.curl(b.url .. "/api/v0/id").status)
  end)
end)
