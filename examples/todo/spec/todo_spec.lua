-- todo against a real node: upload examples/todo with `leither lapp
-- uploadapp`, then drive its routes at /tpt/APPID/ with curl and read the
-- items back from the app's database over RESP.
local t = require("helpers")

local src = debug.getinfo(1, "S").source:match("^@(.*)/examples/todo/spec/[^/]*$") or os.getenv("LEITHER_SRC") or "../.."

describe("examples/todo", function()
  local node, appid, db_mid, missing

  setup(function()
    if t.leither("lapp", "uploadapp", "--help").code ~= 0 then
      missing = "this leither has no `lapp uploadapp` yet (branch lapp adds it)"
      return
    end
    node = t.start_node()
    local r = t.leither("lapp", "uploadapp", "-i", "todo", "-d", src .. "/examples", "--home", node.home, "--json")
    assert(r.code == 0, "uploadapp failed: " .. r.err .. r.out)
    appid = t.decode(r.out).AppId
    assert(appid and #appid == 27, "no AppId in: " .. r.out)
    local s = t.leither("lapp", "showapp", "-a", "todo", "--home", node.home, "--json")
    if s.code == 0 then db_mid = t.decode(s.out).Db end
  end)

  teardown(function()
    if node then t.stop_node(node) end
  end)

  local function url(path) return node.url .. "/tpt/" .. appid .. path end

  -- method, path, JSON text (or nil): status and the decoded reply (or nil)
  local function call(method, path, body)
    local extra = "-X " .. method
    if body then
      extra = extra .. " -H 'Content-Type: application/json' --data-binary " .. t.quote(body)
    end
    local r = t.curl(url(path), extra)
    local ok, doc = pcall(t.decode, r.body)
    return r.status, ok and doc or nil, r.body
  end

  local function texts()
    local status, doc = call("GET", "/api/items")
    assert.are.equal(200, status)
    local out = {}
    for _, item in ipairs(doc.items) do out[#out + 1] = item.text .. (item.done and " [x]" or "") end
    return out
  end

  it("serves its page with the form", function()
    if missing then return pending(missing) end
    local r = t.curl(url("/"))
    assert.are.equal(200, r.status)
    assert.truthy(r.body:find('id="new-item"', 1, true))
    assert.truthy(r.body:find('id="add"', 1, true))
    local js = t.curl(url("/todo.js"))
    assert.are.equal(200, js.status)
    assert.truthy(js.body:find("api/items", 1, true))
  end)

  it("starts empty, creates items in order, lists them", function()
    if missing then return pending(missing) end
    assert.are.same({}, texts())
    local status, item = call("POST", "/api/items", '{"text":"buy milk"}')
    assert.are.equal(201, status)
    assert.are.equal("buy milk", item.text)
    assert.are.equal(false, item.done)
    assert.is_number(item.id)
    local s2, second = call("POST", "/api/items", '{"text":"  call mum  "}')
    assert.are.equal(201, s2)
    assert.are.equal("call mum", second.text)
    assert.is_true(second.id > item.id)
    assert.are.same({ "buy milk", "call mum" }, texts())
  end)

  it("toggles the done flag and keeps it", function()
    if missing then return pending(missing) end
    local _, item = call("POST", "/api/items", '{"text":"water plants"}')
    local status, doc = call("PUT", "/api/items/" .. item.id, '{"done":true}')
    assert.are.equal(200, status)
    assert.are.equal(true, doc.done)
    local list = texts()
    assert.are.equal("water plants [x]", list[#list])
    status, doc = call("PUT", "/api/items/" .. item.id, '{"done":false}')
    assert.are.equal(200, status)
    assert.are.equal(false, doc.done)
    assert.are.equal("water plants", texts()[#texts()])
  end)

  it("deletes an item, and a second delete is 404", function()
    if missing then return pending(missing) end
    local _, item = call("POST", "/api/items", '{"text":"to be removed"}')
    local before = #texts()
    local status = call("DELETE", "/api/items/" .. item.id)
    assert.are.equal(200, status)
    assert.are.equal(before - 1, #texts())
    for _, text in ipairs(texts()) do assert.are_not.equal("to be removed", text) end
    status = call("DELETE", "/api/items/" .. item.id)
    assert.are.equal(404, status)
  end)

  it("refuses bad bodies with 400 and unknown items with 404", function()
    if missing then return pending(missing) end
    local n = #texts()
    local status, doc = call("POST", "/api/items", "{not json")
    assert.are.equal(400, status)
    assert.is_string(doc.Message)
    status = call("POST", "/api/items", '{"text":"   "}')
    assert.are.equal(400, status)
    status = call("POST", "/api/items", '{"text":42}')
    assert.are.equal(400, status)
    status = call("POST", "/api/items", '["a list"]')
    assert.are.equal(400, status)
    assert.are.equal(n, #texts())
    status, doc = call("PUT", "/api/items/999999", '{"done":true}')
    assert.are.equal(404, status)
    assert.is_string(doc.Message)
    assert.are.equal(404, (call("PUT", "/api/items/abc", '{"done":true}')))
    assert.are.equal(404, (call("DELETE", "/api/items/999999")))
    local _, item = call("POST", "/api/items", '{"text":"typed"}')
    assert.are.equal(400, (call("PUT", "/api/items/" .. item.id, '{"done":"yes"}')))
  end)

  it("keeps the items in the app's database, readable with redis-cli", function()
    if missing then return pending(missing) end
    if not db_mid then pending("`lapp showapp --json` gives no \"Db\": cannot name the app's database") return end
    local _, item = call("POST", "/api/items", '{"text":"in the database"}')
    local out = t.redis_cli(node.db_port, t.lines("SELECT " .. db_mid, "HGET item:" .. item.id .. " text",
      "ZSCORE items " .. item.id))
    assert.truthy(out:find('"in the database"', 1, true), out)
    assert.truthy(out:find('"' .. item.id .. '"', 1, true), out)
  end)
end)
