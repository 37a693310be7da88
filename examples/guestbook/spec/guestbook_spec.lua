-- guestbook against a real node: visitors are node.js processes using the
-- browser SDK (spec/client.mjs) with keys of their own; the spec checks
-- what the app's routes then give.
local t = require("helpers")

local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$")

describe("examples/guestbook", function()
  local node, appid, missing

  setup(function()
    if t.leither("lapp", "uploadapp", "--help").code ~= 0 then
      missing = "this leither has no `lapp uploadapp` yet (branch lapp adds it)"
      return
    end
    if t.sh("node --version").code ~= 0 then
      missing = "node.js is not installed: the visitors are node scripts"
      return
    end
    node = t.start_node()
    local src = here .. "/../.."
    local r = t.leither("lapp", "uploadapp", "-i", "guestbook", "-d", src, "--home", node.home, "--json")
    assert(r.code == 0, "uploadapp failed: " .. r.err .. r.out)
    appid = t.decode(r.out).AppId
    assert(appid and #appid == 27, "no AppId in: " .. r.out)
  end)

  teardown(function()
    if node then t.stop_node(node) end
  end)

  local function visitor(mode, text)
    local r = t.sh("node " .. t.quote(here .. "/client.mjs") .. " " .. mode .. " " .. t.quote(node.url) .. " "
      .. t.quote(appid) .. " " .. t.quote(text or ""))
    assert(r.code == 0, "client.mjs " .. mode .. " failed: " .. r.err .. r.out)
    return t.decode(r.out)
  end

  local function entries()
    local r = t.curl(node.url .. "/tpt/" .. appid .. "/api/entries")
    assert.are.equal(200, r.status, r.body)
    return t.decode(r.body).entries
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

  it("a visitor's entry is listed with its author and text, newest first", function()
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
    assert.are.equal(b.mid, list[1].mid)
    assert.are.equal(b.id, list[1].author)
    assert.are.equal("Grüße, second one 👋", list[1].text)
    assert.are.equal(a.mid, list[2].mid)
    assert.are.equal(a.id, list[2].author)
    assert.are.equal("Hello from the first visitor", list[2].text)
    -- the entry is the visitor's MiMei, authored by the visitor's key
    local show = t.curl(node.url .. "/api/v0/mimei/show?arg=" .. a.mid)
    assert.are.equal(200, show.status)
    assert.truthy(show.body:find(a.id, 1, true))
  end)

  it("refuses a MiMei someone else wrote (403)", function()
    if missing then return pending(missing) end
    local n = #entries()
    local r = visitor("foreign", "not mine")
    assert.are_not.equal(r.id, r.author)
    assert.are.equal(403, r.reply.status, r.reply.text)
    assert.is_string(r.reply.body.error)
    assert.are.equal(n, #entries())
  end)

  it("refuses an unsigned post (401), a bad body (400), an unknown MiMei (404), an empty one (400)", function()
    if missing then return pending(missing) end
    local url = node.url .. "/tpt/" .. appid .. "/api/entries"
    local json_post = "-X POST -H 'Content-Type: application/json' --data-binary "
    local a = visitor("post", "an entry to try to repost")
    assert.are.equal(401, t.curl(url, json_post .. t.quote('{"mid":"' .. a.mid .. '"}')).status)
    local u = visitor("unwritten")
    assert.are.equal(400, u.reply.status, u.reply.text)
    local n = #entries()
    assert.are.equal(400, visitor("raw", "{broken").reply.status)
    assert.are.equal(400, visitor("raw", '{"mid":"short"}').reply.status)
    assert.are.equal(400, visitor("raw", '{"text":"no mid"}').reply.status)
    local unknown = visitor("raw", '{"mid":"AAAAAAAAAAAAAAAAAAAAAAAAAAA"}').reply
    assert.are.equal(404, unknown.status, unknown.text)
    assert.are.equal(n, #entries())
  end)

  it("posting the same entry twice lists it once", function()
    if missing then return pending(missing) end
    local n = #entries()
    local r = visitor("twice", "once is enough")
    assert.are.equal(201, r.reply.status, r.reply.text)
    assert.are.equal(200, r.again.status, r.again.text)
    assert.are.equal(r.mid, r.again.body.mid)
    assert.are.equal(n + 1, #entries())
  end)
end)
