-- lpki: key files and file signatures.
local t = require("helpers")

describe("lpki", function()
  local dir
  before_each(function() dir = t.tmpdir() end)
  after_each(function() t.rmtree(dir) end)

  it("genkey writes a private key file and show reads its IDs", function()
    local key = dir .. "/me.key"
    local r = t.leither("lpki", "genkey", "-o", key)
    assert.are.equal(0, r.code, r.err)
    local id = r.out:match("ID%s+([%w_%-]+)")
    assert.are.equal(27, #id)
    assert.are.equal("600\n", t.sh("stat -c %a " .. t.quote(key)).out)
    r = t.leither("lpki", "show", key)
    assert.are.equal(0, r.code)
    assert.truthy(r.out:find(id, 1, true))
    local doc = t.decode(t.leither("lpki", "show", key, "--json").out)
    assert.are.equal(id, doc.ID)
    assert.matches("^12D3KooW", doc.PeerID)
  end)

  it("genkey never overwrites a file", function()
    local key = dir .. "/me.key"
    t.write(key, "precious")
    local r = t.leither("lpki", "genkey", "-o", key)
    assert.are.equal(1, r.code)
    assert.matches("already exists", r.err)
    assert.are.equal("precious", t.slurp(key))
    assert.are.equal(1, t.leither("lpki", "genkey").code) -- -o is needed
  end)

  it("signs and verifies files, and catches any change", function()
    local key, file = dir .. "/me.key", dir .. "/doc.bin"
    local id = t.decode(t.leither("lpki", "genkey", "-o", key, "--json").out).ID
    assert.are.equal(0, t.sh("head -c 3000000 /dev/urandom > " .. t.quote(file)).code)
    local r = t.leither("lpki", "sign", file, "-k", key)
    assert.are.equal(0, r.code, r.err)
    assert.is_true(t.exists(file .. ".sig"))
    r = t.leither("lpki", "verify", file)
    assert.are.equal(0, r.code, r.err)
    assert.are.equal("good signature on " .. file .. " by " .. id .. "\n", r.out)
    local doc = t.decode(t.leither("lpki", "verify", file, "-i", id, "--json").out)
    assert.is_true(doc.Valid)
    assert.are.equal(id, doc.Signer)

    r = t.leither("lpki", "verify", file, "-i", "AAAAAAAAAAAAAAAAAAAAAAAAAAA")
    assert.are.equal(1, r.code)
    assert.matches("not by AAAA", r.err)

    t.write(file, "x", "ab") -- one byte more
    r = t.leither("lpki", "verify", file)
    assert.are.equal(1, r.code)
    assert.matches("bad signature", r.err)
  end)

  it("writes the signature where -o says and verifies from there", function()
    local key, file, sig = dir .. "/me.key", dir .. "/a.txt", dir .. "/elsewhere.sig"
    t.leither("lpki", "genkey", "-o", key)
    t.write(file, "hello\n")
    assert.are.equal(0, t.leither("lpki", "sign", file, "-k", key, "-o", sig).code)
    assert.is_false(t.exists(file .. ".sig"))
    assert.are.equal(0, t.leither("lpki", "verify", file, sig).code)
    t.write(sig, "{}")
    local r = t.leither("lpki", "verify", file, sig)
    assert.are.equal(1, r.code)
    assert.matches("not a Leither signature file", r.err)
  end)

  it("signs with the node key of a home by default", function()
    assert.are.equal(0, t.leither("init", "--home", dir).code)
    local id = t.decode(t.leither("swarm", "id", "--home", dir, "--json").out).ID
    local file = dir .. "/f"
    t.write(file, "data")
    assert.are.equal(0, t.leither("lpki", "sign", file, "--home", dir).code)
    local doc = t.decode(t.leither("lpki", "verify", file, "--json").out)
    assert.are.equal(id, doc.Signer)
    local r = t.leither("lpki", "sign", dir .. "/missing", "--home", dir)
    assert.are.equal(1, r.code)
    assert.matches("No such file", r.err)
  end)
end)
