-- Database calls never stall an HTTP worker: with the database writer held
-- (lmdb_hold keeps the LMDB write lock, so the RESP loop waits for it as
-- behind a long write), a node with one worker thread still serves
-- /ipfs/ content, an app's static files and its other routes while a Lua
-- route's write and a db/exec write wait; those answer the BUSY error once
-- the writer has not taken them for 5 s, and nothing of them was written.
local t = require("helpers")

describe("database calls and the event loop", function()
  local node, dir, appid, cid

  local run = t.cli_in(function() return node.home end)
  local ok = t.ok
  local hold_bin = os.getenv("LMDB_HOLD") or "../../build/tests/lmdb_hold"

  local function app(name, files)
    for path, text in pairs(files) do
      t.sh("mkdir -p " .. t.quote((dir .. "/" .. name .. "/" .. path):match("^(.*)/")))
      t.write(dir .. "/" .. name .. "/" .. path, text)
    end
    return t.decode(ok(run("lapp", "uploadapp", "-i", name, "-d", dir, "--json"))).AppId
  end

  -- polls until cond() holds (each poll a shell's sleep; gives up after about 30 s)
  local function wait_for(what, cond)
    for _ = 1, 600 do
      if cond() then return end
      t.sh("sleep 0.05")
    end
    error("gave up waiting for " .. what)
  end

  -- curl in the background: the status lands in NAME.code, the body in
  -- NAME.body, and NAME.done once it ended
  local function background(name, url, extra)
    local base = dir .. "/" .. name
    os.execute("(curl -s -g --noproxy '*' --max-time 60 -o " .. t.quote(base .. ".body") .. " -w '%{http_code}' "
      .. (extra or "") .. " " .. t.quote(url) .. " > " .. t.quote(base .. ".code") .. "; touch "
      .. t.quote(base .. ".done") .. ") >/dev/null 2>&1 &")
    return base
  end
  local function finished(base) return t.exists(base .. ".done") end
  local function result(base)
    wait_for(base .. " to end", function() return finished(base) end)
    return { status = tonumber(t.slurp(base .. ".code")), body = t.slurp(base .. ".body") }
  end

  -- holds the writer until release() is called
  local function hold_writer()
    local out, release_file = dir .. "/hold.out", dir .. "/hold.release"
    os.remove(out)
    os.remove(release_file)
    os.execute(t.quote(hold_bin) .. " " .. t.quote(node.home .. "/data") .. " " .. t.quote(release_file) .. " > "
      .. t.quote(out) .. " 2>&1 &")
    wait_for("the LMDB write lock", function() return (t.slurp(out) or ""):find("held", 1, true) ~= nil end)
    -- the RESP loop begins a batch every 100 ms (expiry): by then it waits
    -- for the lock, so what comes next finds it waiting, not yet started
    t.sh("sleep 0.5")
    local released = false
    return function()
      if released then return end
      released = true
      t.write(release_file, "")
      wait_for("the lock's release", function() return (t.slurp(out) or ""):find("released", 1, true) ~= nil end)
    end
  end

  local function log() return t.slurp(node.home .. "/leither.log") or "" end

  -- a signed db/exec by the node owner, in the background
  local function db_exec(name, body)
    local file = dir .. "/" .. name .. ".json"
    t.write(file, body)
    local header = ok(run("lpki", "authorize", "POST", "/api/v0/db/exec", file)):gsub("\n$", "")
    return background(name, node.url .. "/api/v0/db/exec",
      "-X POST --data-binary @" .. t.quote(file) .. " -H " .. t.quote("Authorization: " .. header))
  end

  setup(function()
    node = t.start_node({ settings = { threads = 1 } })
    dir = t.tmpdir()
    t.write(dir .. "/content.txt", "content by CID\n")
    cid = ok(t.leither("ipfs", "add", "-Q", "--home", node.home, dir .. "/content.txt")):gsub("%s+$", "")
    appid = app("nonstall", {
      ["manifest.json"] = '{"name": "nonstall", "database": true}',
      ["page.txt"] = "a static page\n",
      ["server/main.lua"] = [[
        app.get("/write", function(req)
          leither.log("nonstall: writing " .. req.query.tag)
          leither.db():set("k", req.query.tag)
          return "written " .. req.query.tag
        end)
        app.get("/read", function() return leither.db():get("k") or "none" end)
        app.get("/hello", function() return "hello" end)
        -- where the route cannot be suspended the call waits (bounded)
        app.get("/wrapped", function()
          return coroutine.wrap(function()
            leither.db():set("w", "in a coroutine")
            return leither.db():get("w")
          end)()
        end)
        app.get("/yield", function() coroutine.yield() return "never" end)
      ]],
    })
    -- the app's state exists before the writer is held
    assert.are.same({ 200, "none" }, { t.curl(node.url .. "/tpt/" .. appid .. "/read").status,
      t.curl(node.url .. "/tpt/" .. appid .. "/read").body })
  end)
  teardown(function()
    t.stop_node(node)
    t.rmtree(dir)
  end)

  it("serves static files and other routes while writes wait, then answers them BUSY", function()
    local release = hold_writer()
    local ok_release, err = pcall(function()
      local exec = db_exec("exec1", '{"cmds": [["SET", "from-db-exec", "x"]]}')
      -- a client that leaves while its route waits (its call times out
      -- before the next one's)
      local gone = background("gone", node.url .. "/tpt/" .. appid .. "/write?tag=gone", "--max-time 1")
      wait_for("the leaving route's log line", function() return log():find("nonstall: writing gone", 1, true) ~= nil end)
      local lua = background("lua1", node.url .. "/tpt/" .. appid .. "/write?tag=one")
      -- the route ran up to its database call (which waits for the writer)
      wait_for("the route's log line", function() return log():find("nonstall: writing one", 1, true) ~= nil end)

      -- the one worker answers meanwhile
      local r = t.curl(node.url .. "/ipfs/" .. cid, "--max-time 20")
      assert.are.same({ 200, "content by CID\n" }, { r.status, r.body })
      r = t.curl(node.url .. "/tpt/" .. appid .. "/page.txt", "--max-time 20")
      assert.are.same({ 200, "a static page\n" }, { r.status, r.body })
      r = t.curl(node.url .. "/tpt/" .. appid .. "/hello", "--max-time 20")
      assert.are.same({ 200, "hello" }, { r.status, r.body })
      -- reads need no writer: they run at once on the worker
      r = t.curl(node.url .. "/tpt/" .. appid .. "/read", "--max-time 20")
      assert.are.same({ 200, "none" }, { r.status, r.body })
      r = result(db_exec("read1", '{"cmds": [["EXISTS", "from-db-exec"], ["GET", "from-db-exec"]]}'))
      assert.are.same({ 200, { replies = { 0 } } }, { r.status, t.decode(r.body) })
      -- ... while both writes are still waiting
      assert.is_false(finished(lua), (t.slurp(lua .. ".code") or "") .. " " .. (t.slurp(lua .. ".body") or ""))
      assert.is_false(finished(exec))

      -- the writer never took them: BUSY, and they were not run
      local w = result(lua)
      assert.are.equal(500, w.status)
      assert.matches("BUSY database busy: the commands did not start within 5 s and were not run",
        t.decode(w.body).Message, 1, true)
      result(gone)
      local e = result(exec)
      assert.are.equal(503, e.status)
      assert.matches("BUSY database busy: the commands did not start within 5 s and were not run",
        t.decode(e.body).Message, 1, true)
    end)
    release()
    assert(ok_release, err)

    -- the writer is back: what timed out was not written, new writes are
    assert.are.equal("none", t.curl(node.url .. "/tpt/" .. appid .. "/read").body)
    assert.are.equal("(nil)", t.redis(node.db_port, "GET", "from-db-exec"))
    local r = t.curl(node.url .. "/tpt/" .. appid .. "/write?tag=two")
    assert.are.same({ 200, "written two" }, { r.status, r.body })
    assert.are.equal("two", t.curl(node.url .. "/tpt/" .. appid .. "/read").body)
  end)

  it("waits where a route cannot be suspended, and refuses a yield of the route itself", function()
    local r = t.curl(node.url .. "/tpt/" .. appid .. "/wrapped")
    assert.are.same({ 200, "in a coroutine" }, { r.status, r.body })
    r = t.curl(node.url .. "/tpt/" .. appid .. "/yield")
    assert.are.equal(500, r.status)
    assert.matches("attempt to yield from outside a coroutine", t.decode(r.body).Message, 1, true)
    assert.are.same({ 200, "hello" }, { t.curl(node.url .. "/tpt/" .. appid .. "/hello").status, "hello" })
  end)

  it("keeps a request's instruction budget across its database waits", function()
    local spender = app("spender", {
      ["manifest.json"] = '{"name": "spender", "database": true, "limits": {"instructions": 1000000}}',
      ["server/main.lua"] = [[
        -- n empty loop turns are about n instructions
        local function spend(n) for _ = 1, n do end end
        app.get("/once", function() spend(600000) return "spent once" end)
        app.get("/twice", function()
          spend(600000)
          leither.db():set("k", "between") -- a write: the request waits for the writer
          spend(600000)
          return "spent twice"
        end)
      ]],
    })
    local r = t.curl(node.url .. "/tpt/" .. spender .. "/once")
    assert.are.same({ 200, "spent once" }, { r.status, r.body })
    -- resumed after its write with what was left, not a new budget
    r = t.curl(node.url .. "/tpt/" .. spender .. "/twice")
    assert.are.equal(500, r.status)
    local doc = t.decode(r.body)
    assert.are.same({ "instruction budget of 1000000 exceeded", "instructions" }, { doc.Message, doc.Limit })
    -- the node and the app (a new state) carry on
    r = t.curl(node.url .. "/tpt/" .. spender .. "/once")
    assert.are.same({ 200, "spent once" }, { r.status, r.body })
  end)

  it("runs a second request of the same app while the first waits, both answered once the writer is free", function()
    local release = hold_writer()
    local ok_release, err = pcall(function()
      local first = background("lua2", node.url .. "/tpt/" .. appid .. "/write?tag=three")
      wait_for("the first route's log line", function() return log():find("nonstall: writing three", 1, true) ~= nil end)
      local second = background("lua3", node.url .. "/tpt/" .. appid .. "/write?tag=four")
      wait_for("the second route's log line", function() return log():find("nonstall: writing four", 1, true) ~= nil end)
      local r = t.curl(node.url .. "/ipfs/" .. cid, "--max-time 20")
      assert.are.same({ 200, "content by CID\n" }, { r.status, r.body })
      assert.is_false(finished(first), (t.slurp(first .. ".code") or "") .. " " .. (t.slurp(first .. ".body") or ""))
      assert.is_false(finished(second))
      release()
      assert.are.same({ 200, "written three" }, { result(first).status, result(first).body })
      assert.are.same({ 200, "written four" }, { result(second).status, result(second).body })
    end)
    release()
    assert(ok_release, err)
    local v = t.curl(node.url .. "/tpt/" .. appid .. "/read").body
    assert.is_true(v == "three" or v == "four", v)
  end)
end)
