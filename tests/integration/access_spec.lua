-- access: the one rule for who may read and write a MiMei (mimei_may_read,
-- mimei_may_write in modules/mimei/mimei.h), asked on every surface of a
-- real node (RESP with AUTH tokens, the JSON API, the gateway's /ipfs/ and
-- /mm/, app code in uploaded apps), must give the answers of the rule's own
-- table below. Then finding 6 (private content handed out) directly, and
-- private by default.
local t = require("helpers")

-- The rule's table, as mimei.h states it: identity x (author, public).
-- "other" is another author's MiMei (a key of its own, not asking here).
local function rule(identity, author, public)
  local write = author == "owner" and (identity == "owner" or identity == "granted")
  local read = public or write or identity == "owner"
  return read, write
end

local IDENTITIES = { "owner", "granted", "stranger", "anonymous" }

describe("access", function()
  local node, dir
  local keys = {} -- identity or "other" -> key file ("owner": the node key, nil)
  local ids = {}
  local mimei = {} -- { label, mid, kind, author, public, root, value }
  local probes = {} -- identity -> probe app ID (app code runs as its author)

  local L = t.cli_in(function() return node.home end)
  local ok = t.ok
  local function as(who, ...) -- a CLI command signed by who's key
    local args = { ... }
    if keys[who] then
      args[#args + 1] = "-k"
      args[#args + 1] = keys[who]
    end
    return L(table.unpack(args))
  end

  -- An HTTP request as identity (signed unless anonymous). body: text.
  local function http(identity, method, path, body)
    local extra = "-X " .. method
    local bodyfile
    if body then
      bodyfile = os.tmpname()
      t.write(bodyfile, body)
      extra = extra .. " --data-binary @" .. t.quote(bodyfile)
    end
    if identity ~= "anonymous" then
      local args = { "lpki", "authorize", method, path }
      if bodyfile then args[#args + 1] = bodyfile end
      local header = ok(as(identity, table.unpack(args))):gsub("\n$", "")
      extra = extra .. " -H " .. t.quote("Authorization: " .. header)
    end
    local r = t.curl(node.url .. path, extra)
    if bodyfile then os.remove(bodyfile) end
    return r
  end

  local function token(identity)
    return ok(as(identity, "lpki", "token")):gsub("\n$", "")
  end

  setup(function()
    -- guest_quota: the stranger's probe app and its MiMei record are stored
    -- on a node that takes guests (store slice); other settings as init writes
    node = t.start_node({ settings = { guest_quota = { per_identity_bytes = 10000000, total_bytes = 100000000 } } })
    dir = t.tmpdir()
    ids.owner = node.id
    for _, who in ipairs({ "granted", "stranger", "other" }) do
      keys[who] = dir .. "/" .. who .. ".key"
      ids[who] = t.decode(ok(t.leither("lpki", "genkey", "-o", keys[who], "--json"))).ID
    end
    -- "other" is granted too, only so that it may upload its blocks: grants
    -- do not reach another author's MiMei, so its answers stay the rule's
    ok(L("lpki", "grant", ids.granted))
    ok(L("lpki", "grant", ids.other))

    -- the MiMei: (owner's, another author's) x (public, private) x (file, db, app)
    for _, author in ipairs({ "owner", "other" }) do
      for _, public in ipairs({ true, false }) do
        for _, kind in ipairs({ "file", "db", "app" }) do
          local label = table.concat({ author, public and "public" or "private", kind }, "-")
          local m = { label = label, kind = kind, author = author, public = public, value = "value of " .. label }
          if kind == "app" then
            local apps = dir .. "/apps"
            t.sh("mkdir -p " .. t.quote(apps .. "/" .. label))
            t.write(apps .. "/" .. label .. "/manifest.json",
              string.format('{"name": "%s", "database": false, "public": %s}', label, tostring(public)))
            t.write(apps .. "/" .. label .. "/index.html", m.value .. "\n")
            local out = t.decode(ok(as(author, "lapp", "uploadapp", "-i", label, "-d", apps, "--json")))
            m.mid, m.root = out.AppId, out.Cid
          else
            local args = { "mimei", "create", "-t", kind }
            if public then args[#args + 1] = "--public" end
            m.mid = ok(as(author, table.unpack(args))):match("mid= (%S+)")
            if kind == "file" then
              local f = dir .. "/" .. label .. ".txt"
              t.write(f, m.value)
              m.root = ok(as(author, "mimei", "add", m.mid, f)):match("^add /ipfs/(%S+)")
            else
              local auth = author == "owner" and "" or ("AUTH " .. token(author) .. "\n")
              local out = t.redis_cli(node.db_port, auth .. "SELECT " .. m.mid .. "\nSET k " .. t.quote(m.value) .. "\n")
              assert.are.equal(auth == "" and "OK\nOK\n" or "OK\nOK\nOK\n", out)
            end
          end
          assert.are.equal(27, #m.mid, label)
          mimei[#mimei + 1] = m
        end
      end
    end

    -- the probe app: its code reports what leither.mimei and leither.db
    -- let it do; one MiMei of it per identity, so that it runs as that key
    local probe = dir .. "/probe"
    t.sh("mkdir -p " .. t.quote(probe .. "/server"))
    t.write(probe .. "/manifest.json", '{"name": "probe", "database": false}')
    t.write(probe .. "/server/main.lua", [[
      app.get("/probe", function(req)
        local mid, kind = req.query.mid, req.query.kind
        local out = { info = (pcall(leither.mimei.info, mid)) }
        if kind == "db" then
          out.read = pcall(function() return leither.db(mid):get("k") end)
          out.write = pcall(function() return leither.db(mid):set("probe", "x") end)
        else
          out.read = pcall(leither.mimei.read, mid, kind == "app" and "index.html" or "")
          out.write = false
        end
        return out
      end)
    ]])
    local cid = ok(L("ipfs", "add", "-r", "-Q", probe)):gsub("%s+$", "")
    for _, who in ipairs({ "owner", "granted", "stranger" }) do
      local pmid = ok(as(who, "mimei", "create", "-t", "app", "--public")):match("mid= (%S+)")
      ok(as(who, "mimei", "setcid", pmid, cid))
      probes[who] = pmid
    end
  end)
  teardown(function()
    t.stop_node(node)
    t.rmtree(dir)
  end)

  -- every surface's answer for (identity, m): read, write (nil: not asked)
  local surfaces = {
    ["JSON mimei/show"] = function(identity, m)
      local r = http(identity, "GET", "/api/v0/mimei/show?arg=" .. m.mid)
      assert.truthy(r.status == 200 or r.status == 403, r.body)
      if r.status == 403 and m.root then
        assert.falsy(r.body:find(m.root, 1, true), "a refusal names no CID") -- finding 6
      end
      return r.status == 200
    end,
    ["JSON mimei/ls"] = function(identity, m)
      if m.kind == "db" then return nil end
      local r = http(identity, "GET", "/api/v0/mimei/ls?arg=" .. m.mid)
      assert.truthy(r.status == 200 or r.status == 403, r.body)
      return r.status == 200
    end,
    ["JSON mimei/list"] = function(identity, m)
      local r = http(identity, "GET", "/api/v0/mimei/list")
      assert.are.equal(200, r.status)
      return r.body:find('"ID":"' .. m.mid .. '"', 1, true) ~= nil
    end,
    ["JSON mimei/ref/add (a write)"] = function(identity, m)
      if m.kind == "db" then return nil end
      local path = "/api/v0/mimei/ref/add?arg=" .. m.mid .. "&ref=" .. probes.owner
      local r = http(identity, "POST", path)
      if r.status == 200 then
        assert.are.equal(200, http(identity, "POST", path:gsub("ref/add", "ref/del")).status)
      end
      return nil, r.status == 200
    end,
    ["JSON db/exec"] = function(identity, m)
      if m.kind ~= "db" then return nil end
      local r = http(identity, "POST", "/api/v0/db/exec", string.format('{"mid": "%s", "cmds": [["GET", "k"]]}', m.mid))
      local read = r.status == 200 and t.decode(r.body).replies[1] == m.value
      assert.truthy(read or r.status == 403, r.body)
      r = http(identity, "POST", "/api/v0/db/exec", string.format('{"mid": "%s", "cmds": [["SET", "probe", "x"]]}', m.mid))
      return read, r.status == 200 and t.decode(r.body).replies[1] == "OK"
    end,
    ["gateway /ipfs/ROOT"] = function(identity, m)
      if not m.root then return nil end
      local r = http(identity, "GET", "/ipfs/" .. m.root .. (m.kind == "app" and "/index.html" or ""))
      assert.truthy((r.status == 200 and r.body:find(m.value, 1, true)) or r.status == 403, r.status .. " " .. r.body)
      return r.status == 200
    end,
    ["gateway /mm/MID"] = function(identity, m)
      local r = http(identity, "GET", "/mm/" .. m.mid .. (m.kind == "app" and "/index.html" or ""))
      if m.kind == "db" then -- a database is read over RESP; /mm says which it is only to readers
        assert.truthy(r.status == 400 or r.status == 403, r.body)
        return r.status == 400
      end
      assert.truthy((r.status == 200 and r.body:find(m.value, 1, true)) or r.status == 403, r.status .. " " .. r.body)
      return r.status == 200
    end,
    ["RESP SELECT/GET/SET"] = function(identity, m)
      -- no AUTH is the owner on loopback (and NOAUTH elsewhere): anonymous has no RESP
      if m.kind ~= "db" or identity == "anonymous" then return nil end
      local out = t.redis_cli(node.db_port, table.concat({ "AUTH " .. token(identity), "SELECT " .. m.mid, "GET k",
        "SET probe x" }, "\n") .. "\n")
      local lines = {}
      for line in out:gmatch("[^\n]*\n") do lines[#lines + 1] = line:gsub("\n$", "") end
      assert.are.equal("OK", lines[1], out)
      local selected = lines[2] == "OK"
      assert.truthy(selected or lines[2]:find("^%(error%) NOPERM"), out)
      return selected and lines[3] == '"' .. m.value .. '"', selected and lines[4] == "OK"
    end,
    ["Lua leither.mimei / leither.db"] = function(identity, m)
      if identity == "anonymous" then return nil end -- app code always runs as its author
      local r = t.curl(node.url .. "/tpt/" .. probes[identity] .. "/probe?mid=" .. m.mid .. "&kind=" .. m.kind)
      assert.are.equal(200, r.status, r.body)
      local doc = t.decode(r.body)
      assert.are.equal(doc.info, doc.read, r.body)
      -- app code writes its own database only: never another MiMei
      assert.is_false(doc.write, r.body)
      return doc.read
    end,
  }

  it("every surface gives the rule's answer for every identity and MiMei", function()
    local wrong, asked = {}, 0
    for _, identity in ipairs(IDENTITIES) do
      for _, m in ipairs(mimei) do
        local want_read, want_write = rule(identity, m.author, m.public)
        for name, surface in pairs(surfaces) do
          local read, write = surface(identity, m)
          if read ~= nil then
            asked = asked + 1
            if read ~= want_read then
              wrong[#wrong + 1] = string.format("%s reading %s on %s: %s, the rule says %s", identity, m.label, name,
                tostring(read), tostring(want_read))
            end
          end
          if write ~= nil then
            asked = asked + 1
            if write ~= want_write then
              wrong[#wrong + 1] = string.format("%s writing %s on %s: %s, the rule says %s", identity, m.label, name,
                tostring(write), tostring(want_write))
            end
          end
        end
      end
    end
    assert.are.same({}, wrong)
    assert.truthy(asked > 300, asked)
  end)

  local function find(label)
    for _, m in ipairs(mimei) do if m.label == label then return m end end
  end

  it("hands out no CID, version or listing of a private MiMei (finding 6), until it is made public", function()
    local m = find("owner-private-file")
    -- what the finding saw: show and ls named cur's CID, /ipfs/CID served it, list listed it
    local r = t.curl(node.url .. "/api/v0/mimei/show?arg=" .. m.mid)
    assert.are.equal(403, r.status)
    assert.falsy(r.body:find(m.root, 1, true))
    assert.matches("private", r.body)
    r = t.curl(node.url .. "/api/v0/mimei/ls?arg=" .. m.mid)
    assert.are.equal(403, r.status)
    assert.falsy(r.body:find(m.root, 1, true))
    assert.falsy(t.curl(node.url .. "/api/v0/mimei/list").body:find(m.mid, 1, true))
    assert.falsy(t.curl(node.url .. "/api/v0/mimei/list?type=file").body:find(m.mid, 1, true))
    r = t.curl(node.url .. "/ipfs/" .. m.root)
    assert.are.equal(403, r.status)
    assert.falsy(r.body:find(m.value, 1, true))
    assert.are.equal(403, t.curl(node.url .. "/ipfs/" .. m.root .. "?format=raw").status)
    assert.are.equal(403, t.curl(node.url .. "/api/v0/ls?arg=" .. m.root).status)
    assert.are.equal(403, t.curl(node.url .. "/mm/" .. m.mid).status)
    -- a signature that does not hold is refused, not taken as anonymous
    r = t.curl(node.url .. "/api/v0/mimei/show?arg=" .. m.mid, "-H 'Authorization: Leither key=x, ts=1, nonce=1, sig=x'")
    assert.are.equal(401, r.status)
    -- the owner's CLI signs its reads
    assert.matches("\ncur%s+" .. m.root:gsub("%p", "%%%0"), ok(L("mimei", "show", m.mid)))
    assert.are.equal(m.value, ok(L("mimei", "get", m.mid)))
    -- made public, the same requests answer; made private again, they stop
    assert.are.equal("MiMeiChmod mid= " .. m.mid .. "\nright= public\n", ok(L("mimei", "chmod", m.mid, "public")))
    assert.are.equal(200, t.curl(node.url .. "/api/v0/mimei/show?arg=" .. m.mid).status)
    assert.are.equal(m.value, t.curl(node.url .. "/ipfs/" .. m.root).body)
    assert.truthy(t.curl(node.url .. "/api/v0/mimei/list").body:find(m.mid, 1, true))
    ok(L("mimei", "chmod", m.mid, "private"))
    assert.are.equal(403, t.curl(node.url .. "/ipfs/" .. m.root).status)
    assert.are.equal(403, t.curl(node.url .. "/api/v0/mimei/show?arg=" .. m.mid).status)
  end)

  it("serves a private MiMei's root to anyone when a public MiMei holds it too, or a pin", function()
    local f = dir .. "/shared.txt"
    t.write(f, "shared content\n")
    local private = ok(L("mimei", "create")):match("mid= (%S+)")
    local root = ok(L("mimei", "add", private, f)):match("^add /ipfs/(%S+)")
    assert.are.equal(403, t.curl(node.url .. "/ipfs/" .. root).status)
    -- the same bytes published elsewhere are the same block: served
    local public = ok(L("mimei", "create", "--public")):match("mid= (%S+)")
    ok(L("mimei", "add", public, f))
    assert.are.equal("shared content\n", t.curl(node.url .. "/ipfs/" .. root).body)
    -- a pin is the owner's way of publishing a root
    t.write(f, "pinned content\n")
    local pinned = ok(L("mimei", "add", private, f)):match("^add /ipfs/(%S+)")
    assert.are.equal(403, t.curl(node.url .. "/ipfs/" .. pinned).status)
    assert.are.equal(pinned, ok(L("ipfs", "add", "-Q", f)):gsub("%s+$", ""))
    assert.are.equal(200, t.curl(node.url .. "/ipfs/" .. pinned).status)
  end)

  it("lets whoever may write change the right; the record stays its author's signature", function()
    local mine = find("owner-private-db")
    -- a stranger may not; a granted key may for the owner's MiMei (the node signs with its key)
    local r = as("stranger", "mimei", "chmod", mine.mid, "public")
    assert.are.equal(1, r.code)
    assert.matches("may not", r.err)
    ok(as("granted", "mimei", "chmod", mine.mid, "public"))
    local info = t.decode(http("anonymous", "GET", "/api/v0/mimei/show?arg=" .. mine.mid).body).Info
    assert.are.same({ 1, ids.owner }, { info.Right, info.Author })
    ok(L("mimei", "chmod", mine.mid, "private"))
    assert.are.equal(403, http("anonymous", "GET", "/api/v0/mimei/show?arg=" .. mine.mid).status)
    -- another author's: the node cannot sign for it; the author's CLI sends the re-signed record
    local theirs = find("other-private-file")
    r = L("mimei", "chmod", theirs.mid, "public") -- the owner does not write others' MiMei
    assert.are.equal(1, r.code)
    r = as("granted", "mimei", "chmod", theirs.mid, "public")
    assert.are.equal(1, r.code)
    ok(as("other", "mimei", "chmod", theirs.mid, "public"))
    assert.are.equal(theirs.value, t.curl(node.url .. "/ipfs/" .. theirs.root).body)
    ok(as("other", "mimei", "chmod", theirs.mid, "private"))
    assert.are.equal(403, t.curl(node.url .. "/ipfs/" .. theirs.root).status)
    -- a record that is not the author's with another Right is refused
    local path = "/api/v0/mimei/chmod?arg=" .. theirs.mid .. "&right=public"
    r = http("other", "POST", path, '{"ID": "' .. theirs.mid .. '"}')
    assert.are.equal(400, r.status)
    assert.are.equal(403, t.curl(node.url .. "/ipfs/" .. theirs.root).status)
  end)

  it("makes databases private by default, apps public unless their manifest says not", function()
    local default = t.decode(t.slurp(node.home .. "/SystemVars.json")).db_default
    assert.are.equal(403, t.curl(node.url .. "/api/v0/mimei/show?arg=" .. default).status)
    -- a stranger's token lands in the default database and may neither read nor write it
    local out = t.redis_cli(node.db_port, "AUTH " .. token("stranger") .. "\nGET k\nSET k v\nSELECT 0\nGET k\n")
    assert.are.equal("OK\n(error) NOPERM this connection may not read this database\n"
      .. "(error) NOPERM this connection may not write to this database\nOK\n"
      .. "(error) NOPERM this connection may not read this database\n", out)
    -- a granted key may; MM.INFO of a MiMei it may not read names no record
    out = t.redis_cli(node.db_port, "AUTH " .. token("granted") .. "\nSET k v\nGET k\n")
    assert.are.equal('OK\nOK\n"v"\n', out)
    local theirs, mine = find("other-private-db").mid, find("owner-private-db").mid
    out = t.redis_cli(node.db_port, "AUTH " .. token("granted") .. "\nMM.INFO " .. theirs .. "\nMM.INFO " .. mine .. "\n")
    assert.truthy(out:find("(error) NOPERM this connection may not read MiMei " .. theirs .. "\n", 1, true), out)
    assert.truthy(out:find(mine, 1, true) and out:find('"Author', 1, true), out)
    -- unsigned db/exec: the default database, and an app's own database, are not read
    local r = t.curl(node.url .. "/api/v0/db/exec", "-X POST -d '{\"cmds\": [[\"GET\", \"k\"]]}'")
    assert.matches("NOPERM", r.body)
    local apps = dir .. "/apps"
    t.sh("mkdir -p " .. t.quote(apps .. "/withdb"))
    t.write(apps .. "/withdb/manifest.json", '{"name": "withdb", "database": true}')
    local app = t.decode(ok(L("lapp", "uploadapp", "-i", "withdb", "-d", apps, "--json")))
    assert.are.equal(200, t.curl(node.url .. "/api/v0/mimei/show?arg=" .. app.AppId).status)
    assert.are.equal(403, t.curl(node.url .. "/api/v0/mimei/show?arg=" .. app.Db).status)
    r = t.curl(node.url .. "/api/v0/db/exec", "-X POST -d " .. t.quote('{"mid": "' .. app.Db .. '", "cmds": [["GET", "k"]]}'))
    assert.are.equal(403, r.status)
    -- a private app is not served to strangers at all
    local hidden = find("owner-private-app")
    assert.are.equal(403, t.curl(node.url .. "/tpt/" .. hidden.mid .. "/").status)
    assert.are.equal(200, http("owner", "GET", "/tpt/" .. hidden.mid .. "/index.html").status)
    assert.are.equal(200, t.curl(node.url .. "/tpt/" .. find("owner-public-app").mid .. "/").status)
  end)
end)
