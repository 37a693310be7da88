-- lapp: app folders made, checked, uploaded, backed up and shown through the
-- real CLI and a real node; the node's own check of an app's folder.
local t = require("helpers")

describe("lapp", function()
  local node, dir, appid, cid1

  local run = t.cli_in(function() return node.home end)
  local function lapp(...) return run("lapp", ...) end
  -- s as a Lua pattern that matches only itself (IDs hold '-')
  local function lit(s) return (s:gsub("%p", "%%%0")) end
  local ok = t.ok
  -- a failure: exit 1 and one line on stderr
  local function fails(r, pattern)
    assert.are.equal(1, r.code, r.out)
    assert.are.equal(1, select(2, r.err:gsub("\n", "")), r.err)
    if pattern then assert.matches(pattern, r.err) end
    return r.err
  end
  local function upload(...)
    local out = ok(lapp("uploadapp", "-i", "hello", "-d", dir, ...))
    local id, cid = out:match("^appid= (%S+)\ncid= (%S+)\n")
    assert.truthy(id, out)
    assert.matches("MiMeiSetCid ver= cur\nuploadapp ok\n$", out)
    return id, cid, out
  end
  local function showapp(...) return t.decode(ok(lapp("showapp", "-a", "hello", "--json", ...))) end

  setup(function()
    node = t.start_node()
    dir = t.tmpdir()
  end)
  teardown(function()
    t.stop_node(node)
    t.rmtree(dir)
  end)

  it("new makes an app folder to start from, and never over one", function()
    local out = ok(lapp("new", "hello", "-d", dir))
    assert.matches("lapp new ok\n$", out)
    local manifest = t.decode(t.slurp(dir .. "/hello/manifest.json"))
    assert.are.equal("hello", manifest.name)
    assert.matches('app.get("/api/hello"', t.slurp(dir .. "/hello/server/main.lua"), 1, true)
    assert.matches('fetch("api/hello")', t.slurp(dir .. "/hello/index.html"), 1, true)
    fails(lapp("new", "hello", "-d", dir), "hello exists")
    fails(lapp("new", "../x", "-d", dir), "not an app name")
    -- without -d: the home's apps/
    ok(lapp("new", "inhome"))
    assert.truthy(t.exists(node.home .. "/apps/inhome/manifest.json"))
  end)

  it("uploadapp adds the folder as ipfs add -r does and prints the app's ID", function()
    local want = ok(run("ipfs", "add", "-r", "-Q", "-n", dir .. "/hello")):gsub("\n$", "")
    -- spec/ and dotfiles stay home
    t.sh("mkdir -p " .. t.quote(dir .. "/hello/spec"))
    t.write(dir .. "/hello/spec/hello_spec.lua", "this is not even Lua (")
    t.write(dir .. "/hello/.env", "SECRET=1\n")
    local id, cid = upload()
    assert.are.equal(27, #id)
    assert.are.equal(want, cid)
    appid, cid1 = id, cid
    -- the app is a MiMei of type app whose ID follows from author and name
    local show = ok(run("mimei", "show", appid))
    assert.matches("AppType : app\n", show)
    assert.matches("Mark    : lapp:hello\n", show)
    -- the page comes back through the gateway
    local r = t.curl(node.url .. "/ipfs/" .. cid .. "/index.html")
    assert.are.equal(200, r.status)
    assert.are.equal(t.slurp(dir .. "/hello/index.html"), r.body)
    assert.are.equal(404, t.curl(node.url .. "/ipfs/" .. cid .. "/spec/hello_spec.lua").status)
    -- the same name again: the same app; a changed file: a new cur
    local again = upload()
    assert.are.equal(appid, again)
    t.write(dir .. "/hello/index.html", "<h1>changed</h1>\n")
    local id2, cid2 = upload()
    assert.are.equal(appid, id2)
    assert.are_not.equal(cid1, cid2)
    assert.are.equal(cid2, showapp().Cid)
    local doc = t.decode(ok(lapp("uploadapp", "-i", "hello", "-d", dir, "--json")))
    assert.are.equal(appid, doc.AppId)
    assert.are.equal(cid2, doc.Cid)
    assert.are.equal("cur", doc.Ver)
    cid1 = cid2
  end)

  it("refuses Lua that does not compile, naming file and line, and keeps cur", function()
    local good = t.slurp(dir .. "/hello/server/main.lua")
    t.write(dir .. "/hello/server/main.lua", 'app.get("/x", function()\n  return {\nend)\n')
    local err = fails(lapp("uploadapp", "-i", "hello", "-d", dir))
    assert.are.equal("lapp: server/main.lua:3: unexpected symbol near 'end'\n", err)
    -- modules under server/ too
    t.write(dir .. "/hello/server/main.lua", good)
    t.sh("mkdir -p " .. t.quote(dir .. "/hello/server/lib"))
    t.write(dir .. "/hello/server/lib/util.lua", "local x = = 1\n")
    fails(lapp("uploadapp", "-i", "hello", "-d", dir), "^lapp: server/lib/util%.lua:1: .* near '='\n$")
    os.remove(dir .. "/hello/server/lib/util.lua")
    assert.are.equal(cid1, showapp().Cid)

    -- the node checks too: a folder set past the CLI is refused the same way
    local bad = dir .. "/bad"
    t.sh("cp -r " .. t.quote(dir .. "/hello") .. " " .. t.quote(bad) .. " && rm -rf " .. t.quote(bad .. "/spec"))
    t.write(bad .. "/server/main.lua", "return {\n")
    local cid = ok(run("ipfs", "add", "-r", "-Q", bad)):gsub("\n$", "")
    fails(run("mimei", "setcid", appid, cid), "^leither: server/main%.lua:2: unexpected symbol near <eof> %(HTTP 400%)\n$")
    t.write(bad .. "/server/main.lua", good)
    os.remove(bad .. "/manifest.json")
    cid = ok(run("ipfs", "add", "-r", "-Q", bad)):gsub("\n$", "")
    fails(run("mimei", "setcid", appid, cid), "manifest%.json: missing")
    assert.are.equal(cid1, showapp().Cid)
  end)

  it("refuses a folder without a manifest, or with one that does not parse", function()
    ok(lapp("new", "nomani", "-d", dir))
    os.remove(dir .. "/nomani/manifest.json")
    fails(lapp("uploadapp", "-i", "nomani", "-d", dir), "^lapp: manifest%.json: missing")
    t.write(dir .. "/nomani/manifest.json", '{"name": "nomani",\n "description": }\n')
    fails(lapp("uploadapp", "-i", "nomani", "-d", dir), "^lapp: manifest%.json:2: ")
    fails(lapp("uploadapp", "-i", "nosuch", "-d", dir), "no such app folder")
    fails(lapp("uploadapp", "-d", dir), "%-i NAME is missing")
  end)

  it("backup freezes cur as versions 1, 2; showapp shows cur, last and N", function()
    local out = ok(lapp("backup", "-a", "hello"))
    assert.are.equal("MiMeiBackup mid= " .. appid .. "\nMiMeiBackup ver= 1\ncid= " .. cid1 .. "\nlapp backup ok\n", out)
    t.write(dir .. "/hello/index.html", "<h1>two</h1>\n")
    local _, cid2 = upload()
    local doc = t.decode(ok(lapp("backup", "-a", appid, "--json")))      -- by ID as well
    assert.are.equal(2, doc.Ver)
    assert.are.equal(cid2, doc.Cid)

    local show = ok(lapp("showapp", "-a", "hello", "-v", "1"))
    assert.matches("^ShowApp appid= " .. lit(appid) .. "\n", show)
    assert.matches("\nName    : hello\n", show)
    assert.matches("\nVersion : 1\nCid     : " .. cid1 .. "\n", show)
    assert.matches("\n%S+ %d+ index%.html\n", show)
    assert.matches("\n%S+ %d+ server/main%.lua\n", show)
    assert.matches("\n1%s+" .. cid1 .. "\n2%s+" .. cid2 .. "\nlast%s+2\n", show)
    assert.matches("\nlapp showapp ok\n$", show)
    doc = showapp("-v", "last")
    assert.are.equal(cid2, doc.Cid)
    assert.are.equal(2, doc.Last)
    assert.are.equal(2, #doc.Versions)
    local paths = {}
    for _, f in ipairs(doc.Files) do paths[#paths + 1] = f.Path end
    assert.are.same({ "index.html", "manifest.json", "server/main.lua" }, paths)
    assert.are.equal(cid1, showapp("-v", "1").Cid)
    assert.are.equal(cid2, showapp("-v", "cur").Cid)
    fails(lapp("showapp", "-a", "hello", "-v", "9"), "has no version 9")
    fails(lapp("showapp", "-a", "nosuchapp"), "no app %S+ on this node")
  end)

  it("a manifest with a database gets the app a database MiMei", function()
    ok(lapp("new", "withdb", "-d", dir))
    local m = t.decode(t.slurp(dir .. "/withdb/manifest.json"))
    m.database = true
    t.write(dir .. "/withdb/manifest.json", require("dkjson").encode(m))
    local doc = t.decode(ok(lapp("uploadapp", "-i", "withdb", "-d", dir, "--json")))
    assert.are.equal(27, #doc.Db)
    local show = ok(run("mimei", "show", doc.Db))
    assert.matches("AppType : db\n", show)
    assert.matches("Mark    : appdb:" .. lit(doc.AppId) .. "\n", show)
    -- again: the same database
    assert.are.equal(doc.Db, t.decode(ok(lapp("uploadapp", "-i", "withdb", "-d", dir, "--json"))).Db)
  end)

  it("-k uploads as another key: another app", function()
    local key = dir .. "/other.key"
    local id = t.decode(ok(t.leither("lpki", "genkey", "-o", key, "--json"))).ID
    -- the node stores blocks only for keys its owner granted
    fails(lapp("uploadapp", "-i", "hello", "-d", dir, "-k", key), "neither the node owner nor granted")
    ok(run("lpki", "grant", id))
    local other = upload("-k", key)
    assert.are_not.equal(appid, other)
    assert.matches("Author  : " .. lit(id) .. "\n", ok(lapp("showapp", "-a", "hello", "-k", key)))
  end)

  it("-n names the node, by HOST:PORT or ID; an unknown ID or a port without a node is one line of error", function()
    local id = upload("-n", "127.0.0.1:" .. node.port)
    assert.are.equal(appid, id)
    assert.matches("ShowApp appid= " .. lit(appid), ok(lapp("showapp", "-a", appid, "-n", "127.0.0.1:" .. node.port)))
    local free = t.random_port()
    fails(lapp("uploadapp", "-i", "hello", "-d", dir, "-n", "127.0.0.1:" .. free),
      "cannot reach the node at http://127%.0%.0%.1:" .. free)
    -- an ID: the home's node finds it in the DHT (here itself; dht_spec: another)
    assert.matches("ShowApp appid= " .. lit(appid), ok(lapp("showapp", "-a", appid, "-n", node.id)))
    -- one ID in 64 starts with '-': still an ID as -n's value, not flags
    fails(lapp("backup", "-a", "hello", "-n", "-Zb9g0n8L2D6ards-gcHxs_alRk"), "no node of that ID found in the DHT")
    fails(lapp("showapp", "-a", "hello", "-n", "nohostport"), "HOST:PORT")
  end)

  it("mimei create -a names the MiMei's default app", function()
    local mid = ok(run("mimei", "create", "-a", appid)):match("mid= (%S+)")
    assert.matches("App     : " .. lit(appid) .. "\n", ok(run("mimei", "show", mid)))
    assert.are.equal(appid, t.decode(ok(run("mimei", "show", mid, "--json"))).Info.App)
    fails(run("mimei", "create", "-a", "not an id"), "needs an app's ID")
  end)

  it("answers as lapp through its symlink, with usage and --help", function()
    local lapp_bin = t.bin:gsub("leither$", "lapp")
    local r = t.sh(t.quote(lapp_bin) .. " help")
    assert.are.equal(0, r.code, r.err)
    assert.matches("uploadapp", r.out)
    assert.not_matches("ipfs add", r.out)
    r = t.sh(t.quote(lapp_bin) .. " showapp --help")
    assert.matches("^usage: lapp showapp %-a NAME|APPID", r.out)
    assert.matches("lapp", ok(t.leither("help")))
    r = t.sh(t.quote(lapp_bin) .. " ipfs add x")
    assert.are.equal(2, r.code)
  end)
end)
