-- Strangers store nothing unless the owner says so (issue 10, findings 8
-- and 9): a key nobody granted cannot create, write, put, import or
-- MM.CREATE; a granted key can; a guest quota in SystemVars.json lets
-- strangers store up to it, per identity and in total; `repo stat
-- --by-author` shows who stored what; the owner drops it and gc frees it.
local t = require("helpers")

local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$")

-- A new key file in dir: path and Leither ID.
local function genkey(dir, name)
  local path = dir .. "/" .. name .. ".key"
  local r = t.leither("lpki", "genkey", "-o", path, "--json")
  assert(r.code == 0, r.err)
  return path, t.decode(r.out).ID
end

-- mimei/create or mimei/write through the SDK, signed by keyfile.
local function client(node, mode, keyfile, ...)
  local parts = { "node", t.quote(here .. "/store_client.mjs"), mode, t.quote(node.url), t.quote(keyfile) }
  for _, a in ipairs({ ... }) do parts[#parts + 1] = t.quote(a) end
  local r = t.sh(table.concat(parts, " "))
  assert(r.code == 0, "store_client.mjs " .. mode .. ": " .. r.err .. r.out)
  return t.decode(r.out)
end

-- The owner's view: every MiMei on the node, the store's figures, and who
-- stored what.
local function owner_view(node)
  local list = t.curl(node.url .. "/api/v0/mimei/list")
  assert(list.status == 200, list.body)
  local r = t.leither("repo", "stat", "--by-author", "--json", "--home", node.home)
  assert(r.code == 0, r.err)
  local stat = t.decode(r.out)
  local authors = {}
  for _, a in ipairs(stat.Authors) do authors[a.ID] = a end
  return { mimei = t.decode(list.body).MiMei, objects = stat.NumObjects, size = stat.RepoSize, authors = authors }
end

-- id as a Lua pattern that matches only itself (IDs hold '-')
local function lit(id) return (id:gsub("%p", "%%%0")) end

local function authored_by(view, id)
  local n = 0
  for _, info in ipairs(view.mimei) do
    if info.Author == id then n = n + 1 end
  end
  return n
end

local function token(node, keyfile)
  local r = t.leither("lpki", "token", "-k", keyfile, "--home", node.home, "--json")
  assert(r.code == 0, r.err)
  return t.decode(r.out).Token
end

-- RESP as keyfile's identity: AUTH, then the script's lines; the replies.
local function resp_as(node, keyfile, script)
  return t.redis_cli(node.db_port, "AUTH " .. token(node, keyfile) .. "\n" .. script)
end

local function restart(node, settings)
  assert(t.leither("stop", "--home", node.home).code == 0)
  local path = node.home .. "/SystemVars.json"
  local doc = t.decode(t.slurp(path))
  for k, v in pairs(settings) do doc[k] = v end
  t.write(path, require("dkjson").encode(doc))
  local r = t.leither("run", "-d", "--home", node.home)
  assert(r.code == 0, r.err)
end

local function signed_post(node, keyfile, path)
  local r = t.leither("lpki", "authorize", "POST", path, "--home", node.home, "-k", keyfile)
  assert(r.code == 0, r.err)
  return t.curl(node.url .. path, "-X POST -H " .. t.quote("Authorization: " .. r.out:gsub("\n$", "")))
end

local missing
if t.sh("node --version").code ~= 0 then missing = "node.js is not installed: the SDK client is a node script" end

describe("a node without guest storage (the default)", function()
  local node, dir, stranger, stranger_id, granted, granted_id, file

  setup(function()
    node = t.start_node()
    dir = t.tmpdir()
    stranger, stranger_id = genkey(dir, "stranger")
    granted, granted_id = genkey(dir, "granted")
    assert(t.leither("lpki", "grant", granted_id, "--home", node.home).code == 0)
    file = dir .. "/page.html"
    t.write(file, "<!doctype html><script>steal(localStorage)</script>" .. string.rep("x", 5000))
  end)
  teardown(function()
    t.stop_node(node)
    t.rmtree(dir)
  end)

  it("takes nothing from a stranger's key: MM.CREATE, mimei/create, dag/import, an app (nothing written)", function()
    if missing then return pending(missing) end
    local before = owner_view(node)
    for _, type in ipairs({ "db", "file", "app" }) do
      local r = t.leither("mimei", "create", "-t", type, "-k", stranger, "--home", node.home)
      assert.are.equal(1, r.code, r.out)
      assert.matches("NOPERM key " .. stranger_id .. " is neither the node owner nor granted", r.err, 1, true)
    end
    local c = client(node, "create", stranger, "file")
    assert.are.equal(403, c.status)
    assert.matches("this node takes no guest storage", c.message, 1, true)
    local r = t.leither("ipfs", "add", "-k", stranger, "--home", node.home, file)
    assert.are.equal(1, r.code, r.out)
    assert.matches("neither the node owner nor granted", r.err, 1, true)

    -- nor a whole app (pages and Lua the node would serve and run)
    assert.are.equal(0, t.leither("lapp", "new", "hello", "-d", dir, "--home", node.home).code)
    r = t.leither("lapp", "uploadapp", "-i", "hello", "-d", dir, "-k", stranger, "--home", node.home)
    assert.are.equal(1, r.code, r.out)
    assert.matches("neither the node owner nor granted", r.err, 1, true)

    local after = owner_view(node)
    assert.are.equal(0, authored_by(after, stranger_id))
    assert.are.equal(#before.mimei, #after.mimei)
    assert.are.equal(before.objects, after.objects)
    assert.are.equal(before.size, after.size)
    assert.is_nil(after.authors[stranger_id])
  end)

  it("takes what the owner's granted key stores, unmetered", function()
    if missing then return pending(missing) end
    local r = t.leither("mimei", "create", "-t", "db", "-k", granted, "--home", node.home)
    assert.are.equal(0, r.code, r.err)
    r = t.leither("mimei", "create", "-k", granted, "--home", node.home)
    assert.are.equal(0, r.code, r.err)
    local mid = r.out:match("mid= (%S+)")
    r = t.leither("mimei", "add", mid, file, "-k", granted, "--home", node.home)
    assert.are.equal(0, r.code, r.err)
    r = t.leither("ipfs", "add", "-q", "-k", granted, "--home", node.home, file)
    assert.are.equal(0, r.code, r.err)
    local c = client(node, "create", granted, "file")
    assert.is_true(c.ok, c.message)
    assert.is_true(client(node, "write", granted, c.mid, "3000").ok)
    local view = owner_view(node)
    assert.are.equal(3, authored_by(view, granted_id))
    assert.are.equal("granted", view.authors[granted_id].Role)
    assert.are.equal(3, view.authors[granted_id].MiMei)
    assert.are.equal(0, view.authors[granted_id].Bytes)
    assert.are.equal("owner", view.authors[node.id].Role)
  end)
end)

describe("a node with a guest quota", function()
  local node, dir, s1, s1_id, s2, s2_id
  local PER, TOTAL = 40000, 60000
  local file_mid, db_mid, kept_mid

  setup(function()
    node = t.start_node({ settings = { guest_quota = { per_identity_bytes = PER, total_bytes = TOTAL } } })
    dir = t.tmpdir()
    s1, s1_id = genkey(dir, "s1")
    s2, s2_id = genkey(dir, "s2")
  end)
  teardown(function()
    t.stop_node(node)
    t.rmtree(dir)
  end)

  it("lets a guest store up to its quota, and refuses past it with the figures", function()
    if missing then return pending(missing) end
    local c = client(node, "create", s1, "file")
    assert.is_true(c.ok, c.message)
    file_mid = c.mid
    assert.is_true(client(node, "write", s1, file_mid, "30000").ok)
    local used = owner_view(node).authors[s1_id].Bytes
    assert.is_true(used >= 30000 and used <= PER, "usage " .. used)

    local over = client(node, "write", s1, file_mid, "15000")
    assert.are.equal(507, over.status)
    assert.matches("key " .. s1_id .. " has stored " .. used .. " of its " .. PER .. " bytes", over.message, 1, true)
    assert.are.equal(used, owner_view(node).authors[s1_id].Bytes) -- the refused write stored nothing

    -- a database of its own over RESP: writes count too
    local r = t.leither("mimei", "create", "-t", "db", "-k", s1, "--home", node.home)
    assert.are.equal(0, r.code, r.err)
    db_mid = r.out:match("mid= (%S+)")
    local value = string.rep("v", 3000)
    local script = "SELECT " .. db_mid .. "\n"
    for i = 1, 6 do script = script .. "SET key" .. i .. " " .. value .. "\n" end
    local out = resp_as(node, s1, script)
    assert.matches("OK", out, 1, true)
    assert.matches("OOM guest quota: key " .. s1_id .. " has stored", out, 1, true)
    local final = owner_view(node).authors[s1_id]
    assert.is_true(final.Bytes <= PER and final.Bytes > used + 3000, "usage " .. final.Bytes)
    assert.are.equal(2, final.MiMei)
    local got = t.redis_cli(node.db_port, "SELECT " .. db_mid .. "\nEXISTS key1 key6\n")
    assert.matches("(integer) 1", got, 1, true) -- the first SET, not the refused last
  end)

  it("holds the total over all guests", function()
    if missing then return pending(missing) end
    local c = client(node, "create", s2, "file")
    assert.is_true(c.ok, c.message)
    local refused
    for _ = 1, 5 do
      local w = client(node, "write", s2, c.mid, "12000")
      -- each write replaces cur: the usage counts what was written, not what is held
      if not w.ok then refused = w break end
    end
    assert.is_table(refused, "the total cap never refused")
    assert.are.equal(507, refused.status)
    assert.matches("guests have stored %d+ of the node's " .. TOTAL .. " guest bytes", refused.message)
    local view = owner_view(node)
    assert.is_true(view.authors[s1_id].Bytes + view.authors[s2_id].Bytes <= TOTAL)
    assert.is_true(view.authors[s2_id].Bytes < PER) -- its own quota was not what stopped it
  end)

  it("shows every identity's MiMei and bytes with repo stat --by-author", function()
    local view = owner_view(node)
    local r = t.leither("repo", "stat", "--by-author", "--home", node.home)
    assert.are.equal(0, r.code, r.err)
    assert.matches("AUTHOR%s+ROLE%s+MIMEI%s+BYTES", r.out)
    assert.matches(lit(s1_id) .. "%s+guest%s+2%s+" .. view.authors[s1_id].Bytes, r.out)
    assert.matches(lit(s2_id) .. "%s+guest%s+1%s+" .. view.authors[s2_id].Bytes, r.out)
    assert.matches(lit(node.id) .. "%s+owner%s+1%s+0", r.out)
    local api = t.decode(t.curl(node.url .. "/api/v0/repo/stat?by=author").body)
    assert.are.equal(3, #api.Authors)
  end)

  it("lets the owner drop a guest's MiMei; gc frees its bytes", function()
    if missing then return pending(missing) end
    local before = owner_view(node)
    -- only the owner (or a granted key) may
    assert.are.equal(401, signed_post(node, s1, "/api/v0/mimei/drop?arg=" .. file_mid).status)
    local r = t.leither("mimei", "drop", file_mid, "--home", node.home)
    assert.are.equal(0, r.code, r.err)
    assert.are.equal(404, t.curl(node.url .. "/api/v0/mimei/show?arg=" .. file_mid).status)
    r = t.leither("repo", "gc", "--json", "--home", node.home)
    assert.are.equal(0, r.code, r.err)
    local gc = t.decode(r.out)
    assert.is_true(gc.Freed >= 30000, "freed " .. gc.Freed)
    local after = owner_view(node)
    assert.is_true(before.size - after.size >= 30000)
    assert.is_true(before.authors[s1_id].Bytes - after.authors[s1_id].Bytes >= 30000)
    assert.are.equal(1, after.authors[s1_id].MiMei)

    -- and a whole guest at once
    r = t.leither("repo", "rm-author", s2_id, "--home", node.home)
    assert.are.equal(0, r.code, r.err)
    t.leither("repo", "gc", "--home", node.home)
    after = owner_view(node)
    assert.is_nil(after.authors[s2_id])
    assert.are.equal(0, authored_by(after, s2_id))
    assert.are.equal(0, after.objects) -- the guests' blocks are all gone
  end)

  it("once the owner closes the quota, a guest writes nothing more, not even to its own MiMei", function()
    if missing then return pending(missing) end
    local c = client(node, "create", s1, "file")
    assert.is_true(c.ok, c.message)
    kept_mid = c.mid
    assert.is_true(client(node, "write", s1, kept_mid, "100").ok)
    restart(node, { guest_quota = { per_identity_bytes = 0, total_bytes = 0 } })
    local before = owner_view(node)

    local out = resp_as(node, s1, "SELECT " .. db_mid .. "\nSET after closing\n")
    assert.matches("NOPERM key " .. s1_id .. " is neither the node owner nor granted", out, 1, true)
    local w = client(node, "write", s1, kept_mid, "100")
    assert.are.equal(403, w.status)
    local cid = t.decode(t.curl(node.url .. "/api/v0/mimei/show?arg=" .. kept_mid).body).Cur
    local put = signed_post(node, s1, "/api/v0/mimei/put?arg=" .. kept_mid .. "&path=copy&cid=" .. cid)
    assert.are.equal(403, put.status)
    assert.matches("no guest storage", t.decode(put.body).Message, 1, true)
    local mk = signed_post(node, s1, "/api/v0/mimei/mkdir?arg=" .. kept_mid .. "&path=dir")
    assert.are.equal(403, mk.status)

    local after = owner_view(node)
    assert.are.equal(before.objects, after.objects)
    assert.are.equal(before.authors[s1_id].Bytes, after.authors[s1_id].Bytes)
    assert.matches("(integer) 0", t.redis_cli(node.db_port, "SELECT " .. db_mid .. "\nEXISTS after\n"), 1, true)
  end)
end)
