-- A real node: run, status, swarm, the HTTP server and API, stop.
local t = require("helpers")

describe("a running node", function()
  local node
  -- the DHT off (dht_port 0): its threads (dht_spec's) would blur the count below
  setup(function() node = t.start_node({ settings = { threads = 3, dht_port = 0 } }) end)
  teardown(function() t.stop_node(node) end)

  it("reports itself running with status", function()
    local r = t.leither("status", "--home", node.home)
    assert.are.equal(0, r.code, r.err)
    assert.matches("running%s+pid " .. node.pid, r.out)
    local doc = t.decode(t.leither("status", "--home", node.home, "--json").out)
    assert.is_true(doc.Running)
    assert.are.equal(node.port, doc.Port)
    assert.are.equal(tonumber(t.slurp(node.home .. "/leither.pid")), doc.Pid)
  end)

  it("runs one event loop thread per configured thread", function()
    local doc = t.decode(t.curl(node.url .. "/api/v0/node/status").body)
    assert.are.equal(3, doc.Threads)
    local tasks = t.sh("ls /proc/" .. node.pid .. "/task | wc -l").out
    -- three HTTP loops, the RESP loop, the sync thread (runtime/sync: it runs
    -- with the DHT off too, for `mimei sync -n`), the ledgers' pulse thread
    -- (runtime/ledger) and the main thread
    assert.are.equal(7, tonumber(tasks))
  end)

  it("says so when the DHT is off", function()
    local r = t.leither("swarm", "addrs", "--home", node.home)
    assert.are.equal(1, r.code)
    assert.are.equal("leither: the DHT is off on this node (dht_port 0) (HTTP 503)\n", r.err)
    -- and no UDP port is bound where the DHT would be by default
    assert.falsy(t.slurp("/proc/net/udp"):find(string.format(":%04X ", node.port + 2), 1, true))
  end)

  it("prints the Leither ID and the libp2p peer ID", function()
    local r = t.leither("swarm", "id", "--home", node.home)
    assert.are.equal(0, r.code, r.err)
    local id, peer = r.out:match("^([%w_%-]+)\n(%w+)\n$")
    assert.are.equal(27, #id)
    assert.are.equal(node.id, id)
    assert.matches("^12D3KooW", peer)
    local doc = t.decode(t.leither("swarm", "id", "--home", node.home, "--json").out)
    assert.are.equal(id, doc.ID)
    assert.are.equal(peer, doc.PeerID)
    -- the same key, as the lpki tools read it
    local show = t.decode(t.leither("lpki", "show", node.home .. "/keys/node.key", "--json").out)
    assert.are.equal(id, show.ID)
    assert.are.equal(peer, show.PeerID)
  end)

  it("lists its addresses as multiaddrs, IPv4 and IPv6", function()
    local r = t.leither("swarm", "local", "--home", node.home)
    assert.are.equal(0, r.code, r.err)
    assert.truthy(r.out:find("/ip4/127.0.0.1/tcp/" .. node.port .. "\n", 1, true))
    assert.truthy(r.out:find("/ip6/::1/tcp/" .. node.port .. "\n", 1, true))
    for line in r.out:gmatch("[^\n]+") do
      assert.matches("^/ip[46]/[%x%.:]+/tcp/" .. node.port .. "$", line)
    end
    local doc = t.decode(t.leither("swarm", "local", "--home", node.home, "--json").out)
    assert.are.equal(select(2, r.out:gsub("\n", "")), #doc.Addresses)
  end)

  it("answers on IPv6 loopback too", function()
    local res = t.curl("http://[::1]:" .. node.port .. "/api/v0/version")
    assert.are.equal(200, res.status)
  end)

  it("serves a node page at /", function()
    local res = t.curl(node.url .. "/")
    assert.are.equal(200, res.status)
    assert.truthy(res.body:find('<code id="node-id">' .. node.id .. "</code>", 1, true))
    assert.matches("<!doctype html>", res.body)
    assert.are.equal(404, t.curl(node.url .. "/nothing-here").status)
  end)

  it("serves the JSON API: id and version", function()
    local res = t.curl(node.url .. "/api/v0/id")
    assert.are.equal(200, res.status)
    local doc = t.decode(res.body)
    assert.are.equal(node.id, doc.ID)
    assert.matches("^12D3KooW", doc.PeerID)
    assert.are.equal(43, #doc.PublicKey)
    assert.truthy(#doc.Addresses >= 2)
    local v = t.decode(t.curl(node.url .. "/api/v0/version", "-X POST").body)
    assert.are.equal(t.decode(t.leither("version", "--json").out).Version, v.Version)
    res = t.curl(node.url .. "/api/v0/nope")
    assert.are.equal(404, res.status)
    assert.matches("no API command", t.decode(res.body).Message)
  end)

  it("refuses a second run on the same home and names the pid", function()
    local r = t.leither("run", "--home", node.home)
    assert.are.equal(1, r.code)
    assert.are.equal("leither: a node is already running in " .. node.home .. " (pid " .. node.pid .. ")\n", r.err)
    r = t.leither("run", "-d", "--home", node.home)
    assert.are.equal(1, r.code)
    assert.are.equal(node.pid, t.decode(t.leither("status", "--home", node.home, "--json").out).Pid)
  end)

  it("refuses a port in use by another node, naming the port", function()
    local other = t.tmpdir()
    assert.are.equal(0, t.leither("init", "--home", other, "-p", tostring(node.port)).code)
    -- its db_port free, whatever else runs on this machine: the HTTP port is what clashes
    local settings = t.decode(t.slurp(other .. "/SystemVars.json"))
    settings.db_port = t.random_port()
    t.write(other .. "/SystemVars.json", require("dkjson").encode(settings))
    local r = t.leither("run", "-d", "--home", other)
    assert.are.equal(1, r.code)
    assert.matches("^leither: port " .. node.port .. " is already in use", r.err)
    assert.are.equal(1, select(2, r.err:gsub("\n", "")))
    assert.are.equal(3, t.leither("status", "--home", other).code)
    t.rmtree(other)
    assert.are.equal(200, t.curl(node.url .. "/api/v0/id").status)
  end)

  it("answers malformed and oversized requests with 4xx and keeps serving", function()
    local big = os.tmpname()
    t.write(big, string.rep("x", 9 * 1024 * 1024))
    local res = t.curl(node.url .. "/api/v0/shutdown", "-X POST --data-binary @" .. big)
    os.remove(big)
    assert.are.equal(413, res.status)
    -- a request line that is not HTTP, and headers beyond h2o's limit
    local r = t.sh("printf 'GARBAGE\\r\\n\\r\\n' | curl -s --max-time 2 telnet://127.0.0.1:" .. node.port)
    assert.matches("^HTTP/1%.1 400", r.out)
    local hdr = os.tmpname()
    t.write(hdr, "X-Big: " .. string.rep("a", 600000) .. "\n")
    res = t.curl(node.url .. "/", "-H @" .. hdr)
    os.remove(hdr)
    assert.are.equal(400, res.status)
    res = t.curl(node.url .. "/api/v0/id", "-H 'Transfer-Encoding: chunked' -X POST --data-binary zz")
    assert.is_true(res.status >= 200) -- well-formed chunked: served
    assert.are.equal(200, t.curl(node.url .. "/api/v0/id").status)
  end)
end)

describe("stopping a node", function()
  it("stop waits until the node is gone and frees the port", function()
    local node = t.start_node()
    local r = t.leither("stop", "--home", node.home)
    assert.are.equal(0, r.code, r.err)
    assert.matches("stopped the node", r.out)
    assert.is_false(t.alive(node.pid))
    assert.is_false(t.exists(node.home .. "/leither.pid"))
    assert.are.equal(3, t.leither("status", "--home", node.home).code)
    assert.are.equal(0, t.curl(node.url .. "/api/v0/id").status) -- nobody listens
    r = t.leither("stop", "--home", node.home)
    assert.are.equal(1, r.code)
    assert.matches("no node is running", r.err)
    assert.matches("stopping", t.slurp(node.home .. "/leither.log"))
    t.assert_clean_log(node.home)
    t.rmtree(node.home)
  end)

  it("a foreground node prints its ID and URLs and stops on Ctrl-C", function()
    local home = t.tmpdir()
    local port = t.random_port()
    assert.are.equal(0, t.leither("init", "--home", home, "-p", tostring(port)).code)
    local settings = t.decode(t.slurp(home .. "/SystemVars.json"))
    settings.db_port = t.random_port() -- never a fixed port: another node may hold it
    t.write(home .. "/SystemVars.json", require("dkjson").encode(settings))
    local out = home .. "/out"
    os.execute(t.quote(t.bin) .. " run --home " .. t.quote(home) .. " >" .. out .. " 2>&1 & echo $! >" .. home .. "/fg.pid")
    local pid = tonumber(t.slurp(home .. "/fg.pid"))
    for _ = 1, 100 do
      if t.curl("http://127.0.0.1:" .. port .. "/api/v0/id").status == 200 then break end
      os.execute("sleep 0.02")
    end
    local text = t.slurp(out)
    local id = t.decode(t.leither("swarm", "id", "--home", home, "--json").out).ID
    assert.truthy(text:find("node " .. id, 1, true), text)
    assert.truthy(text:find("http://127.0.0.1:" .. port .. "/", 1, true), text)
    os.execute("kill -INT " .. pid)
    for _ = 1, 100 do
      if not t.alive(pid) then break end
      os.execute("sleep 0.02")
    end
    assert.is_false(t.alive(pid))
    assert.matches("leither: stopped\n$", t.slurp(out)) -- and no sanitizer report after it
    assert.is_false(t.exists(home .. "/leither.pid"))
    t.rmtree(home)
  end)
end)
