-- Apps: uploaded with the real lapp, served by a real node at /tpt/APPID/,
-- their Lua routes, databases, static files and renderers driven with curl
-- and redis-cli.
local t = require("helpers")

describe("apps", function()
  local node, dir

  local run = t.cli_in(function() return node.home end)
  local ok = t.ok
  -- writes app NAME (files: path -> text) and uploads it: its ID and db
  local function app(name, files)
    t.sh("rm -rf " .. t.quote(dir .. "/" .. name))
    for path, text in pairs(files) do
      t.sh("mkdir -p " .. t.quote((dir .. "/" .. name .. "/" .. path):match("^(.*)/")))
      t.write(dir .. "/" .. name .. "/" .. path, text)
    end
    local out = t.decode(ok(run("lapp", "uploadapp", "-i", name, "-d", dir, "--json")))
    return out.AppId, out.Db
  end
  local function get(id, path, extra) return t.curl(node.url .. "/tpt/" .. id .. path, extra) end
  local function log() return t.slurp(node.home .. "/leither.log") or "" end

  setup(function()
    node = t.start_node()
    dir = t.tmpdir()
  end)
  teardown(function()
    t.stop_node(node)
    t.rmtree(dir)
  end)

  it("runs Lua routes, then static files, then 404", function()
    local id = app("hello", {
      ["manifest.json"] = '{"name": "hello", "database": false}',
      ["index.html"] = "<h1>hello page</h1>\n",
      ["static.txt"] = "static bytes\n",
      ["a+b c.txt"] = "plus and space\n",
      ["server/main.lua"] = [[
        local greet = require("lib.greet")
        app.get("/hello", function(req, res) return "hello" end)
        app.get("/greet/:name", function(req) return { text = greet(req.params.name), q = req.query.q } end)
        app.post("/echo", function(req, res)
          res:status(201):header("X-Seen", req.headers["x-thing"] or "none")
          res:cookie("visited", "yes", { path = "/", http_only = true })
          return { got = req:json(), method = req.method }
        end)
        app.get("/fail", function() app.fail(418, "short and stout") end)
      ]],
      ["server/lib/greet.lua"] = 'return function(name) return "hi " .. name end',
    })
    local r = get(id, "/hello")
    assert.are.same({ 200, "hello" }, { r.status, r.body })
    r = get(id, "/greet/ada%20l?q=x%26y")
    assert.are.equal(200, r.status)
    assert.are.same({ text = "hi ada l", q = "x&y" }, t.decode(r.body))
    r = get(id, "/echo", "-i -X POST -H 'X-Thing: 42' -H 'Content-Type: application/json' -d '{\"a\": [1, 2]}'")
    assert.are.equal(201, r.status)
    -- curl -i puts the headers before the body
    assert.matches("\r\n[Xx]%-[Ss]een: 42\r\n", r.body)
    assert.matches("\r\n[Ss]et%-[Cc]ookie: visited=yes; Path=/; HttpOnly\r\n", r.body)
    assert.are.same({ got = { a = { 1, 2 } }, method = "POST" }, t.decode(r.body:match("\r\n\r\n(.*)$")))
    r = get(id, "/echo", "-X POST -d 'not json'")
    assert.are.equal(400, r.status)
    r = get(id, "/fail")
    assert.are.same({ 418, { Message = "short and stout", Code = 0, Type = "error" } }, { r.status, t.decode(r.body) })
    -- no route: the static files
    r = get(id, "/static.txt")
    assert.are.same({ 200, "static bytes\n" }, { r.status, r.body })
    r = get(id, "/")
    assert.are.same({ 200, "<h1>hello page</h1>\n" }, { r.status, r.body })
    -- a path's '+' is a plus; escapes decode, bad ones are refused
    assert.are.same({ 200, "plus and space\n" }, { get(id, "/a+b%20c.txt").status, get(id, "/a+b%20c.txt").body })
    assert.are.equal(400, get(id, "/x%zz").status)
    assert.are.equal(400, get(id, "/x%00").status)
    assert.are.equal(301, get(id, "").status)
    assert.are.equal(404, get(id, "/nothing/here").status)
    -- the server's source is not a static file
    assert.are.equal(404, get(id, "/server/main.lua").status)
    assert.are.equal(404, get(id, "/server/lib/greet.lua").status)
    assert.are.equal(404, t.curl(node.url .. "/tpt/" .. string.rep("A", 27) .. "/hello").status)
  end)

  it("gives an app its own database, readable with redis-cli, and transactions", function()
    local id, db = app("counter", {
      ["manifest.json"] = '{"name": "counter", "database": true}',
      ["server/main.lua"] = [[
        local db = leither.db()
        app.post("/items/:id", function(req)
          db:hset("items", req.params.id, req.body)
          return db:hgetall_map("items")
        end)
        app.get("/count", function() return { n = db:incr("n") } end)
        app.post("/swap", function()
          return db:multi(function(tx) tx:set("a", "1"); tx:incr("a"); tx:hset("a", "f", "v") end)
        end)
        app.get("/wrongtype", function() db:set("s", "x"); return db:lpush("s", "y") end)
      ]],
    })
    assert.are.equal(27, #db)
    assert.are.same({ ["7"] = "seven" }, t.decode(get(id, "/items/7", "-X POST -d seven").body))
    assert.are.same({ n = 1 }, t.decode(get(id, "/count").body))
    assert.are.same({ n = 2 }, t.decode(get(id, "/count").body))
    -- the same data over the Redis protocol
    assert.are.equal('OK\n"seven"\n"2"\n', t.redis_cli(node.db_port, t.lines("SELECT " .. db, "HGET items 7", "GET n")))
    -- MULTI/EXEC: each command's reply, errors in place
    local r = get(id, "/swap", "-X POST")
    assert.are.same({ "OK", 2, { err = "WRONGTYPE Operation against a key holding the wrong kind of value" } },
      t.decode(r.body))
    -- a Redis error in a plain call is a Lua error: 500 with Redis's text
    r = get(id, "/wrongtype")
    assert.are.equal(500, r.status)
    assert.matches("WRONGTYPE Operation against a key holding the wrong kind of value", t.decode(r.body).Message)
  end)

  it("keeps apps out of each other's databases", function()
    local _, db = app("owner", {
      ["manifest.json"] = '{"name": "owner", "database": true}',
      ["server/main.lua"] = 'app.get("/set", function() return leither.db():set("k", "mine") end)',
    })
    local other = app("intruder", {
      ["manifest.json"] = '{"name": "intruder", "database": false}',
      ["server/main.lua"] = [[
        app.get("/read/:mid", function(req) return { v = leither.db(req.params.mid):get("k") } end)
        app.get("/write/:mid", function(req) return leither.db(req.params.mid):set("k", "stolen") end)
        app.get("/mine", function() return leither.db():get("k") end)
      ]],
    })
    local owner_id = app("owner", {
      ["manifest.json"] = '{"name": "owner", "database": true}',
      ["server/main.lua"] = 'app.get("/set", function() return leither.db():set("k", "mine") end)',
    })
    assert.are.equal(200, get(owner_id, "/set").status)
    -- the database is public (the default Right): reading is fine, writing is not
    assert.are.same({ v = "mine" }, t.decode(get(other, "/read/" .. db).body))
    local r = get(other, "/write/" .. db)
    assert.are.equal(500, r.status)
    assert.matches("NOPERM", t.decode(r.body).Message)
    r = get(other, "/mine")
    assert.are.equal(500, r.status)
    assert.matches("this app has no database", t.decode(r.body).Message)
    assert.are.equal('"mine"', t.redis(node.db_port, "SELECT", db) and t.redis_cli(node.db_port,
      t.lines("SELECT " .. db, "GET k")):match('\n(.-)\n$'))
  end)

  it("logs a handler's traceback, answers a short 500, and serves the next request", function()
    local id = app("broken", {
      ["manifest.json"] = '{"name": "broken"}',
      ["server/main.lua"] = [[
        local function deep() error("kaboom") end
        app.get("/boom", function() deep() end)
        app.get("/fine", function() return "fine" end)
      ]],
    })
    local r = get(id, "/boom")
    assert.are.equal(500, r.status)
    assert.are.same({ Message = "server/main.lua:1: kaboom", Code = 0, Type = "error" }, t.decode(r.body))
    assert.matches("server/main.lua:1: kaboom\nstack traceback:", log(), 1, true)
    assert.matches("in upvalue 'deep'", log(), 1, true)
    assert.are.same({ 200, "fine" }, { get(id, "/fine").status, get(id, "/fine").body })
  end)

  it("serves a new upload on the next request, without a restart", function()
    local files = {
      ["manifest.json"] = '{"name": "live"}',
      ["server/main.lua"] = 'local n = 0\napp.get("/v", function() n = n + 1; return "one " .. n end)',
    }
    local id = app("live", files)
    assert.are.equal("one 1", get(id, "/v").body)
    files["server/main.lua"] = 'app.get("/v", function() return "two" end)'
    assert.are.equal(id, app("live", files))
    assert.are.equal("two", get(id, "/v").body)
    -- lapp backup freezes it; a broken upload is refused and the app keeps running
    ok(run("lapp", "backup", "-a", "live"))
    t.write(dir .. "/live/server/main.lua", 'app.get("/v", function() return "three" end')
    local r = run("lapp", "uploadapp", "-i", "live", "-d", dir)
    assert.are.equal(1, r.code)
    assert.matches("server/main.lua:1:", r.err)
    assert.are.equal("two", get(id, "/v").body)
  end)

  it("renders a MiMei with its default app, or the one ?app= names", function()
    local viewer = app("viewer", {
      ["manifest.json"] = '{"name": "viewer", "renders": ["text/*"]}',
      ["server/main.lua"] = [[
        app.render(function(mimei, req, res)
          local text = leither.mimei.read(mimei.id, mimei.path, mimei.ver)
          return "<title>" .. mimei.type .. "</title><pre>" .. text:upper() .. "</pre>"
        end)
      ]],
    })
    local plain = app("plain", { ["manifest.json"] = '{"name": "plain"}', ["x.txt"] = "x" })
    local r = run("mimei", "create", "-t", "file", "--public", "-a", viewer) -- /mm/ serves it unsigned
    local mid = ok(r):match("mid= ([%w_%-]+)")
    local notes = dir .. "/notes"
    t.sh("mkdir -p " .. t.quote(notes))
    t.write(notes .. "/a.md", "# shout\n")
    local cid = ok(run("ipfs", "add", "-r", "-Q", notes)):gsub("\n$", "")
    ok(run("mimei", "setcid", mid, cid))
    r = t.curl(node.url .. "/mm/" .. mid .. "/a.md")
    assert.are.same({ 200, "<title>text/markdown</title><pre># SHOUT\n</pre>" }, { r.status, r.body })
    -- ?raw=1: the bytes; ?app= another app, which renders nothing
    assert.are.equal("# shout\n", t.curl(node.url .. "/mm/" .. mid .. "/a.md?raw=1").body)
    r = t.curl(node.url .. "/mm/" .. mid .. "/a.md?app=" .. plain)
    assert.are.equal(400, r.status)
    assert.matches("has no server code", r.body)
  end)

  it("gives Lua the MiMei, JSON and crypto APIs", function()
    local id = app("inspect", {
      ["manifest.json"] = '{"name": "inspect"}',
      ["server/main.lua"] = [[
        local m = leither.mimei
        app.get("/mimei/:mid", function(req)
          local mid = req.params.mid
          return { author = m.info(mid).Author, versions = m.versions(mid), cur = m.cur(mid), last = m.last(mid),
                   list = m.list(mid, "", "cur"), text = m.read(mid, "b.txt", 1), refs = m.refs(mid) }
        end)
        app.post("/crypto", function(req)
          local c = leither.crypto
          return { sha256 = c.hex(c.sha256(req.body)), blake = #c.blake2b(req.body, 20), random = #c.random(16),
                   json = leither.json.encode({ a = { 1, 2 }, e = leither.json.object({}), n = leither.json.null }),
                   back = leither.json.decode('{"x": [true, null]}').x[1] }
        end)
      ]],
    })
    local mid = ok(run("mimei", "create", "-t", "file")):match("mid= ([%w_%-]+)")
    local folder = dir .. "/content"
    t.sh("mkdir -p " .. t.quote(folder))
    t.write(folder .. "/b.txt", "version one\n")
    local cid1 = ok(run("ipfs", "add", "-r", "-Q", folder)):gsub("\n$", "")
    ok(run("mimei", "setcid", mid, cid1))
    t.write(folder .. "/b.txt", "version two\n")
    local cid2 = ok(run("ipfs", "add", "-r", "-Q", folder)):gsub("\n$", "")
    ok(run("mimei", "setcid", mid, cid2))
    local r = get(id, "/mimei/" .. mid)
    assert.are.equal(200, r.status, r.body)
    local doc = t.decode(r.body)
    assert.are.equal(node.id, doc.author)
    assert.are.same({ cid2, cid2 }, { doc.cur, doc.last })
    assert.are.same({ 0, cid2 }, { doc.versions[1].ver, doc.versions[1].cid })
    assert.are.same({ 1, cid1 }, { doc.versions[2].ver, doc.versions[2].cid })
    assert.are.same({ "b.txt", "file", 12 }, { doc.list[1].name, doc.list[1].type, doc.list[1].size })
    assert.are.equal("version one\n", doc.text)
    r = get(id, "/crypto", "-X POST --data-binary abc")
    doc = t.decode(r.body)
    assert.are.equal(t.sh("printf abc | sha256sum").out:match("^%x+"), doc.sha256)
    assert.are.same({ 20, 16, true }, { doc.blake, doc.random, doc.back })
    assert.are.equal('{"a":[1,2],"e":{},"n":null}', doc.json)
    -- a private MiMei of someone else is out of reach
    r = get(id, "/mimei/" .. string.rep("A", 27))
    assert.are.equal(500, r.status)
    assert.matches("no MiMei", t.decode(r.body).Message)
  end)

  it("serves the browser SDK", function()
    local r = t.curl(node.url .. "/sdk/leither.js", "-i")
    assert.are.equal(200, r.status)
    assert.matches("[Cc]ontent%-[Tt]ype: text/javascript", r.body)
    assert.matches("export ", r.body)
  end)
end)

describe("db/exec", function()
  local node
  setup(function() node = t.start_node() end)
  teardown(function() t.stop_node(node) end)

  local function exec(body)
    local r = t.curl(node.url .. "/api/v0/db/exec", "-X POST -d " .. t.quote(body))
    return r.status, t.decode(r.body)
  end

  it("reads for anyone, writes for nobody unsigned, and refuses what needs a connection", function()
    t.redis(node.db_port, "SET", "greeting", "hi")
    -- the owner's default database is private: unsigned reads are refused until the owner makes it public
    local status, out = exec('{"cmds": [["GET", "greeting"]]}')
    assert.are.same({ 200, "NOPERM this connection may not read this database" }, { status, out.replies[1].error })
    local default = t.decode(t.slurp(node.home .. "/SystemVars.json")).db_default
    assert.are.equal(0, t.leither("mimei", "chmod", default, "public", "--home", node.home).code)
    status, out = exec('{"cmds": [["GET", "greeting"], ["STRLEN", "greeting"], ["GET", "none"]]}')
    assert.are.equal(200, status)
    assert.are.same({ replies = { "hi", 2 } }, out) -- a trailing null ends a Lua array
    status, out = exec('{"cmds": [["SET", "greeting", "bye"]]}')
    assert.are.same({ 200, "NOPERM this connection may not write to this database" },
      { status, out.replies[1].error })
    status, out = exec('{"cmds": [["INCR", "n"]], "multi": true}')
    assert.are.equal(403, status)
    assert.matches("NOPERM", out.Message)
    status, out = exec('{"cmds": [["BLPOP", "q", 0]]}')
    assert.are.equal(400, status)
    assert.matches("needs a connection of its own", out.Message)
    status, out = exec('{"cmds": "GET"}')
    assert.are.equal(400, status)
    assert.are.equal('"hi"', t.redis(node.db_port, "GET", "greeting"))
  end)
end)
