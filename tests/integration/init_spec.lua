-- leither init: the home, its settings and key; bad homes fail cleanly.
local t = require("helpers")

describe("leither init", function()
  local home
  before_each(function() home = t.tmpdir() end)
  after_each(function() t.rmtree(home) end)

  it("creates SystemVars.json, the node key and the data folder", function()
    local r = t.leither("init", "--home", home, "-p", "4811", "-b", "a.example,b.example")
    assert.are.equal(0, r.code, r.err)
    assert.matches("initialized Leither home " .. home:gsub("%-", "%%-"), r.out)
    local settings = t.decode(t.slurp(home .. "/SystemVars.json"))
    assert.are.equal(4811, settings.port)
    assert.are.same({ "a.example", "b.example" }, settings.bootstrap)
    assert.is_true(t.exists(home .. "/data/"))
    local mode = t.sh("stat -c %a " .. t.quote(home .. "/keys/node.key")).out
    assert.are.equal("600\n", mode)
    local key = t.decode(t.slurp(home .. "/keys/node.key"))
    assert.are.equal("ed25519", key.type)
    assert.are.equal(27, #key.id)
  end)

  -- Finding 11: data.mdb was 0644, readable by every local user.
  it("keeps data/ 0700 and its database files 0600, and puts older homes right on start", function()
    local function modes()
      local r = t.sh("stat -c %a " .. t.quote(home .. "/data") .. " " .. t.quote(home .. "/data/data.mdb") .. " "
        .. t.quote(home .. "/data/lock.mdb"))
      return r.out
    end
    assert.are.equal(0, t.leither("init", "--home", home).code)
    assert.are.equal("700\n600\n600\n", modes())
    -- the default the README gives
    assert.are.equal(8388608, t.decode(t.slurp(home .. "/SystemVars.json")).max_request_body)

    local node = t.start_node({ home = home })
    assert.are.equal(0, t.leither("stop", "--home", home).code)
    -- a home from before: loose modes, then only a start (no init)
    t.sh("chmod 755 " .. t.quote(home .. "/data") .. " && chmod 644 " .. t.quote(home .. "/data/data.mdb") .. " "
      .. t.quote(home .. "/data/lock.mdb"))
    assert.are.equal("755\n644\n644\n", modes())
    local r = t.leither("run", "-d", "--home", home)
    assert.are.equal(0, r.code, r.err)
    assert.are.equal("700\n600\n600\n", modes())
    assert.are.equal(200, t.curl(node.url .. "/api/v0/id").status)
    assert.are.equal(0, t.leither("stop", "--home", home).code)
  end)

  it("updates settings on a second run and keeps the key and unknown settings", function()
    assert.are.equal(0, t.leither("init", "--home", home).code)
    local id = t.decode(t.leither("swarm", "id", "--home", home, "--json").out).ID
    local settings = t.decode(t.slurp(home .. "/SystemVars.json"))
    assert.are.equal(4800, settings.port)
    settings.mine = "kept"
    t.write(home .. "/SystemVars.json", require("dkjson").encode(settings))
    local r = t.leither("init", "--home", home, "-p", "4900", "--json")
    assert.are.equal(0, r.code, r.err)
    local doc = t.decode(r.out)
    assert.are.equal(id, doc.ID)
    assert.is_false(doc.NewKey)
    settings = t.decode(t.slurp(home .. "/SystemVars.json"))
    assert.are.equal(4900, settings.port)
    assert.are.equal("kept", settings.mine)
  end)

  it("uses $LEITHER_HOME, then the current directory when it is a home, then ~/.leither", function()
    local r = t.sh("LEITHER_HOME=" .. t.quote(home) .. " " .. t.quote(t.bin) .. " init")
    assert.are.equal(0, r.code, r.err)
    assert.is_true(t.exists(home .. "/SystemVars.json"))
    -- a folder that is not a home gets no key: init makes the default home
    local other, user = t.tmpdir(), t.tmpdir()
    local function init_in(dir)
      return t.sh("cd " .. t.quote(dir) .. " && env -u LEITHER_HOME HOME=" .. t.quote(user) .. " "
        .. t.quote(t.bin) .. " init --json")
    end
    r = init_in(other)
    assert.are.equal(0, r.code, r.err)
    assert.is_false(t.exists(other .. "/keys/node.key"))
    assert.are.equal(user .. "/.leither", t.decode(r.out).Home)
    assert.is_true(t.exists(user .. "/.leither/keys/node.key"))
    -- standing in a home, init updates that one
    r = init_in(home)
    assert.are.equal(0, r.code, r.err)
    assert.are.equal(home, t.decode(r.out).Home)
    t.rmtree(other)
    t.rmtree(user)
  end)

  it("refuses a malformed SystemVars.json, naming file and line, and changes nothing", function()
    local broken = '{\n  "port": 4800,\n  "threads" 2\n}\n'
    t.write(home .. "/SystemVars.json", broken)
    for _, args in ipairs({ { "init", "-p", "4900" }, { "run" }, { "swarm", "id" }, { "status" } }) do
      args[#args + 1] = "--home"
      args[#args + 1] = home
      local r = t.leither(table.unpack(args))
      assert.are.equal(1, r.code, table.concat(args, " "))
      assert.matches("^leither: " .. home:gsub("%-", "%%-") .. "/SystemVars.json:3:%d+: ", r.err)
      assert.are.equal(1, select(2, r.err:gsub("\n", "")))
    end
    assert.are.equal(broken, t.slurp(home .. "/SystemVars.json"))
    assert.is_false(t.exists(home .. "/keys/node.key"))
  end)

  it("refuses settings of the wrong type with the setting's name", function()
    t.write(home .. "/SystemVars.json", '{"port": "http"}')
    local r = t.leither("run", "--home", home)
    assert.are.equal(1, r.code)
    assert.matches('"port" must be an integer from 1 to 65535', r.err)
  end)

  it("refuses an unreadable or corrupted key and keeps it", function()
    assert.are.equal(0, t.leither("init", "--home", home).code)
    local keyfile = home .. "/keys/node.key"
    t.write(keyfile, '{"type":"ed25519","private_key":"bm90IGEga2V5"}')
    local r = t.leither("init", "--home", home, "-p", "4999")
    assert.are.equal(1, r.code)
    assert.matches("node%.key: not a libp2p Ed25519 private key", r.err)
    assert.are.equal('{"type":"ed25519","private_key":"bm90IGEga2V5"}', t.slurp(keyfile))
    r = t.leither("run", "--home", home)
    assert.are.equal(1, r.code)
    assert.matches("node%.key", r.err)
    os.remove(keyfile)
    os.execute("mkdir " .. t.quote(keyfile)) -- a directory where the key should be
    r = t.leither("swarm", "id", "--home", home)
    assert.are.equal(1, r.code)
    assert.matches("node%.key", r.err)
  end)

  it("says a folder without settings is not a home", function()
    local r = t.leither("run", "--home", home)
    assert.are.equal(1, r.code)
    assert.are.equal("leither: " .. home .. " is not a Leither home (no SystemVars.json): run 'leither init --home "
      .. home .. "' first\n", r.err)
    assert.are.equal(1, t.leither("stop", "--home", home).code)
  end)

  -- Issue 12: a home whose SystemVars.json was lost made a new, empty
  -- default database beside the old one, so redis-cli found nothing.
  it("keeps the default database when the settings were lost but data/ was not", function()
    local node = t.start_node({ home = home })
    local before = t.decode(t.slurp(home .. "/SystemVars.json")).db_default
    assert.are.equal("OK", t.redis(node.db_port, "SET", "kept", "yes"))
    -- a database made later, and an app's, are not the default
    assert.are.equal(0, t.leither("mimei", "create", "-t", "db", "--home", home).code)
    local app = t.tmpdir()
    t.sh("mkdir -p " .. t.quote(app .. "/withdb"))
    t.write(app .. "/withdb/manifest.json", '{"name": "withdb", "database": true}')
    assert.are.equal(0, t.leither("lapp", "uploadapp", "-i", "withdb", "-d", app, "--home", home).code)
    t.rmtree(app)
    assert.are.equal(0, t.leither("stop", "--home", home).code)

    os.remove(home .. "/SystemVars.json")
    local r = t.leither("init", "--home", home, "-p", tostring(node.port), "--json")
    assert.are.equal(0, r.code, r.err)
    assert.are.equal(before, t.decode(r.out).Settings.db_default)
    node = t.start_node({ home = home })
    assert.are.equal('"yes"', t.redis(node.db_port, "GET", "kept"))
    t.stop_node(node)
  end)
end)
