-- guestbook against a real node: visitors are node.js processes using the
-- browser SDK (spec/client.mjs) with keys of their own, guests of a node
-- with a small guest quota; the spec checks what the app's routes then give
-- and that each visitor's entries count against that visitor's quota.
local t = require("helpers")

local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$")

describe("examples/guestbook", function()
  local node, appid, missing, dir
  local PER = 600 -- bytes of a visitor's entries (and their keys) the node takes

  setup(function()
    if t.leither("lapp", "uploadapp", "--help").code ~= 0 then
      missing = "this leither has no `lapp uploadapp` yet (branch lapp adds it)"
      return
    end
    if t.sh("node --version").code ~= 0 then
      missing = "node.js is not installed: the visitors are node scripts"
      return
    end
    -- visitors are guests: the owner opens a small guest quota
    node = t.start_node({ settings = { guest_quota = { per_identity_bytes = PER, total_bytes = 100000 } } })
    dir = t.tmpdir()
    local src = here .. "/../.."
    local r = t.leither("lapp", "uploadapp", "-i", "guestbook", "-d", src, "--home", node.home, "--json")
    assert(r.code == 0, "uploadapp failed: " .. r.err .. r.out)
    appid = t.decode(r.out).AppId
    assert(appid and #appid == 27, "no AppId in: " .. r.out)
  end)

  teardown(function()
    if node then t.stop_node(node) end
    if dir then t.rmtree(dir) end
  end)

  local function visitor(mode, text, keyfile)
    local r = t.sh("node " .. t.quote(here .. "/client.mjs") .. " " .. mode .. " " .. t.quote(node.url) .. " "
      .. t.quote(appid) .. " " .. t.quote(text or "") .. (keyfile and " " .. t.quote(keyfile) or ""))
    assert(r.code == 0, "client.mjs " .. mode .. " failed: " .. r.err .. r.out)
    return t.decode(r.out)
  end

  local function entries()
    local r = t.curl(node.url .. "/tpt/" .. appid .. "/api/entries")
    assert.are.equal(200, r.status, r.body)
    return t.decode(r.body).entries
  end

  local function usage()
    local r = t.leither("repo", "stat", "--by-author", "--json", "--home", node.home)
    assert(r.code == 0, r.err)
    local by = {}
    for _, a in ipairs(t.decode(r.out).Authors) do by[a.ID] = a.Bytes end
    return by
  end

  it("serves its page, which loads the SDK", function()
    if missing then return pending(missing) end
    local r = t.curl(node.url .. "/tpt/" .. appid .. "/")
    assert.are.equal(200, r.status)
    assert.truthy(r.body:find('id="entry-text"', 1, true))
    local js = t.curl(node.url .. "/tpt/" .. appid .. "/guestbook.js")
    assert.are.equal(200, js.status)
    assert.truthy(js.body:find("/sdk/leither.js", 1, true))
  end)

  it("a visitor's entry is listed with its author and text, newest first, on the visitor's account", function()
    if missing then return pending(missing) end
    assert.are.same({}, entries())
    local a = visitor("post", "Hello from the first visitor")
    assert.are.equal(201, a.reply.status, a.reply.text)
    assert.are.equal(a.id, a.reply.body.author)
    os.execute("sleep 1.1") -- the entries are ordered by second
    local b = visitor("post", "Grüße, second one 👋")
    assert.are.equal(201, b.reply.status, b.reply.text)
    local list = entries()
    assert.are.equal(2, #list)
    assert.are.equal(b.id, list[1].author)
    assert.are.equal("Grüße, second one 👋", list[1].text)
    assert.are.equal(a.id, list[2].author)
    assert.are.equal("Hello from the first visitor", list[2].text)
    -- the bytes are charged to each visitor, not to the app's author
    local by = usage()
    assert.is_true(by[a.id] > #"Hello from the first visitor" and by[a.id] <= PER, tostring(by[a.id]))
    assert.is_true(by[b.id] > 0)
    assert.are.equal(0, by[node.id])
  end)

  it("refuses a visitor past their guest quota (507, with the figures), and lists nothing of it", function()
    if missing then return pending(missing) end
    local key = dir .. "/visitor.key"
    assert(t.leither("lpki", "genkey", "-o", key).code == 0)
    local n = #entries()
    local first = visitor("post", string.rep("a", 300), key)
    assert.are.equal(201, first.reply.status, first.reply.text)
    local second = visitor("post", string.rep("b", 300), key)
    assert.are.equal(507, second.reply.status, second.reply.text)
    assert.matches("guest quota: key " .. first.id:gsub("%p", "%%%0") .. " has stored %d+ of its " .. PER .. " bytes",
      second.reply.body.Message)
    assert.are.equal(n + 1, #entries())
    assert.is_true(usage()[first.id] <= PER)
  end)

  it("refuses an unsigned post (401), a bad body (400)", function()
    if missing then return pending(missing) end
    local url = node.url .. "/tpt/" .. appid .. "/api/entries"
    local json_post = "-X POST -H 'Content-Type: application/json' --data-binary "
    local n = #entries()
    assert.are.equal(401, t.curl(url, json_post .. t.quote('{"text":"who am I"}')).status)
    assert.are.equal(400, visitor("raw", "{broken").reply.status)
    assert.are.equal(400, visitor("raw", '{"text":"   "}').reply.status)
    assert.are.equal(400, visitor("raw", '{"mid":"no text"}').reply.status)
    assert.are.equal(400, visitor("raw", '{"text":"' .. string.rep("x", 4001) .. '"}').reply.status)
    assert.are.equal(n, #entries())
  end)
end)
