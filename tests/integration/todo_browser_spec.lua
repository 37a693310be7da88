-- examples/todo in a real browser: headless chromium driven over the
-- DevTools protocol (tests/browser/cdp.mjs) types an item and clicks Add on
-- the page the node serves on the app's own origin (http://LABEL.app.localhost:PORT/,
-- where /tpt/APPID/ redirects); the item survives a reload and is in the
-- app's database, read with redis-cli.
local t = require("helpers")

local src = debug.getinfo(1, "S").source:match("^@(.*)/tests/integration/[^/]*$") or os.getenv("LEITHER_SRC") or "../.."
local cdp = src .. "/tests/browser/cdp.mjs"

-- Runs steps in one chromium session; the decoded {results=, error=, ...}.
local function browse(steps)
  local file = os.tmpname()
  t.write(file, require("dkjson").encode({ steps = steps }))
  local r = t.sh("node " .. t.quote(cdp) .. " " .. t.quote(file))
  os.remove(file)
  local ok, doc = pcall(t.decode, r.out)
  assert(ok, "cdp.mjs said: " .. tostring(r.out) .. tostring(r.err))
  return doc
end

describe("todo in chromium", function()
  local node, appid, db_mid, missing, app_url

  setup(function()
    if t.sh("command -v chromium || command -v chromium-browser").code ~= 0 then
      missing = "chromium is not installed (scripts/deps.sh test installs it)"
    elseif t.sh("node --version").code ~= 0 then
      missing = "node.js is not installed: cdp.mjs drives chromium"
    elseif t.leither("lapp", "uploadapp", "--help").code ~= 0 then
      missing = "this leither has no `lapp uploadapp` yet (branch lapp adds it)"
    end
    if missing then
      io.stderr:write("todo_browser_spec: skipped: " .. missing .. "\n")
      return
    end
    node = t.start_node()
    local r = t.leither("lapp", "uploadapp", "-i", "todo", "-d", src .. "/examples", "--home", node.home, "--json")
    assert(r.code == 0, "uploadapp failed: " .. r.err .. r.out)
    appid = t.decode(r.out).AppId
    local s = t.leither("lapp", "showapp", "-a", "todo", "--home", node.home, "--json")
    assert(s.code == 0, "showapp failed: " .. s.err .. s.out)
    db_mid = t.decode(s.out).Db
    -- where the node sends the path form: the app's own origin
    local hdr = t.sh("curl -s -o /dev/null -w '%{redirect_url}' --noproxy '*' http://localhost:" .. node.port .. "/tpt/" .. appid .. "/")
    app_url = hdr.out
    assert.matches("^http://[a-z2-7]+%.app%.localhost:" .. node.port .. "/$", app_url)
  end)

  teardown(function()
    if node then t.stop_node(node) end
  end)

  it("adds an item through the page; it is there after a reload and in the database", function()
    if missing then return pending(missing) end
    local items = "Array.from(document.querySelectorAll('#items li .text')).map(e => e.textContent)"
    local doc = browse({
      { open = app_url },
      { waitFor = "document.getElementById('count').textContent !== ''" },
      { type = { "#new-item", "buy oat milk" } },
      { click = "#add" },
      { waitFor = items .. ".includes('buy oat milk')" },
      { eval = "document.getElementById('new-item').value" },
      { reload = true },
      { waitFor = items .. ".length > 0" },
      { eval = items },
      { eval = "document.getElementById('error').hidden" },
    })
    assert.is_nil(doc.error, "step " .. tostring(doc.step) .. ": " .. tostring(doc.error)
      .. "\nconsole: " .. table.concat(doc.console or {}, "\n") .. "\nerrors: " .. table.concat(doc.errors or {}, "\n"))
    assert.are.equal("", doc.results[6]) -- the form was cleared
    assert.are.same({ "buy oat milk" }, doc.results[9])
    assert.is_true(doc.results[10]) -- no error shown
    assert.are.same({}, doc.errors)

    -- the route lists it, and the database holds it
    local r = t.curl(node.url .. "/tpt/" .. appid .. "/api/items")
    local list = t.decode(r.body).items
    assert.are.equal(1, #list)
    assert.are.equal("buy oat milk", list[1].text)
    assert.is_string(db_mid, "`lapp showapp --json` gives no \"Db\"")
    local out = t.redis_cli(node.db_port, t.lines("SELECT " .. db_mid, "HGET item:" .. list[1].id .. " text",
      "ZRANGE items 0 -1"))
    assert.truthy(out:find('"buy oat milk"', 1, true), out)
    assert.truthy(out:find('"' .. list[1].id .. '"', 1, true), out)
  end)

  it("marks the item done with its checkbox and deletes it with its button", function()
    if missing then return pending(missing) end
    local doc = browse({
      { open = app_url },
      { waitFor = "document.querySelectorAll('#items li').length === 1" },
      { click = "#items li .toggle" },
      { waitFor = "document.querySelector('#items li.done') !== null" },
      { reload = true },
      { waitFor = "document.querySelector('#items li.done .toggle')?.checked === true" },
      { click = "#items li .delete" },
      { waitFor = "document.querySelectorAll('#items li').length === 0 && document.getElementById('count').textContent" },
    })
    assert.is_nil(doc.error, "step " .. tostring(doc.step) .. ": " .. tostring(doc.error))
    assert.are.equal("Nothing to do.", doc.results[8])
    assert.are.same({}, t.decode(t.curl(node.url .. "/tpt/" .. appid .. "/api/items").body).items)
  end)
end)
