-- `leither ipfs add`: the CIDs of kubo's `ipfs add`, checked against the
-- Debian `ipfs_cid` (CIDv0, go-unixfs; its "CIDv1" is only the v0 root
-- spelled as v1, not a v1 import, so it is not compared) and the JS UnixFS importer (npm,
-- CIDv1 with raw leaves, and directories), the output lines, and memory.
local t = require("helpers")

local CHUNK = 262144

local function have(cmd)
  return t.sh("command -v " .. cmd).code == 0
end

-- `leither ipfs add -n -Q FILE`: the root CID.
local function cid_of(...)
  local r = t.leither("ipfs", "add", "-n", "-Q", ...)
  assert(r.code == 0, r.err)
  return (r.out:gsub("\n$", ""))
end

local function lines(s)
  local out = {}
  for l in s:gmatch("[^\n]+") do out[#out + 1] = l end
  return out
end

describe("ipfs add", function()
  local dir
  setup(function() dir = t.tmpdir() end)
  teardown(function() t.rmtree(dir) end)

  local function file_of(size, name)
    local path = dir .. "/" .. (name or ("f" .. size))
    local r = t.sh("head -c " .. size .. " /dev/urandom > " .. t.quote(path))
    assert(r.code == 0, r.err)
    return path
  end

  it("gives kubo's known CIDs", function()
    local hello = dir .. "/hello.txt"
    t.write(hello, "hello world\n")
    local r = t.leither("ipfs", "add", "-n", hello)
    assert.are.equal(0, r.code)
    assert.are.equal("added QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o hello.txt\n", r.out)
    assert.are.equal("", r.err)
    assert.are.equal("bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4",
      cid_of("--cid-version", "1", hello))
    local empty = dir .. "/empty"
    t.write(empty, "")
    assert.are.equal("QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH", cid_of(empty))
    assert.are.equal("bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku", cid_of("--cid-version", "1", empty))
    local d = dir .. "/emptydir"
    os.execute("mkdir " .. t.quote(d))
    assert.are.equal("QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn", cid_of("-r", d))
  end)

  it("matches ipfs_cid (go-unixfs) at the chunk and tree boundaries", function()
    if not have("ipfs_cid") then
      pending("ipfs_cid is missing: install the Debian package ipfs-cid (scripts/deps.sh test)")
      return
    end
    for _, size in ipairs({ 0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 174 * CHUNK, 174 * CHUNK + 1, 5 * 1000 * 1000 + 17 }) do
      local path = file_of(size)
      local want = t.decode(t.sh("ipfs_cid " .. t.quote(path) .. " 2>/dev/null").out)
      assert.are.equal(want.CIDv0, cid_of(path), "size " .. size)
      os.remove(path)
    end
  end)

  it("reads stdin for - or no file, and names it by its CID", function()
    local r = t.sh("printf 'hello world\\n' | " .. t.quote(t.bin) .. " ipfs add -n -")
    assert.are.equal(0, r.code)
    assert.are.equal("added QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o\n",
      r.out)
    r = t.sh("head -c 600000 /dev/zero | " .. t.quote(t.bin) .. " ipfs add -n -Q")
    assert.are.equal(0, r.code)
    local zeros = file_of(0, "zeros")
    t.sh("head -c 600000 /dev/zero > " .. t.quote(zeros))
    assert.are.equal(cid_of(zeros) .. "\n", r.out)
  end)

  it("prints only CIDs with -q, only the last with -Q", function()
    local a, b = dir .. "/qa", dir .. "/qb"
    t.write(a, "a")
    t.write(b, "b")
    local r = t.leither("ipfs", "add", "-n", "-q", a, b)
    assert.are.equal(0, r.code)
    local ls = lines(r.out)
    assert.are.equal(2, #ls)
    assert.matches("^Qm%w+$", ls[1])
    r = t.leither("ipfs", "add", "-n", "-Q", a, b)
    assert.are.equal(ls[2] .. "\n", r.out)
  end)

  it("adds a tree with -r: children first, hidden files skipped, symlinks as links", function()
    local root = dir .. "/tree"
    os.execute("mkdir -p " .. t.quote(root .. "/sub/deeper") .. " " .. t.quote(root .. "/void"))
    t.write(root .. "/a.txt", "hello world\n")
    t.write(root .. "/sub/b.txt", "bee\n")
    t.write(root .. "/sub/deeper/c", string.rep("c", CHUNK + 5))
    os.execute("ln -s a.txt " .. t.quote(root .. "/link"))
    local r = t.leither("ipfs", "add", "-n", "-r", root)
    assert.are.equal(0, r.code, r.err)
    local ls = lines(r.out)
    local names = {}
    for i, l in ipairs(ls) do
      local c, name = l:match("^added (%w+) (.+)$")
      assert.truthy(c, l)
      names[i] = name
    end
    assert.are.same({ "tree/a.txt", "tree/link", "tree/sub/b.txt", "tree/sub/deeper/c", "tree/sub/deeper",
      "tree/sub", "tree/void", "tree" }, names)
    assert.are.equal("added QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o tree/a.txt", ls[1])
    assert.are.equal("added QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn tree/void", ls[7])
    local rootcid = ls[#ls]:match("^added (%w+) tree$")

    -- the same again, and with a hidden file that -r leaves out
    assert.are.equal(rootcid, cid_of("-r", root))
    t.write(root .. "/.secret", "x")
    t.write(root .. "/sub/.hidden", "y")
    assert.are.equal(rootcid, cid_of("-r", root))
    r = t.leither("ipfs", "add", "-n", "-r", "--hidden", root)
    assert.truthy(r.out:find(" tree/.secret\n", 1, true))
    assert.truthy(r.out:find(" tree/sub/.hidden\n", 1, true))
    assert.are_not.equal(rootcid, lines(r.out)[#lines(r.out)]:match("^added (%w+) tree$"))

    -- a trailing slash names the same directory
    assert.are.equal(rootcid, cid_of("-r", root .. "/"))
    -- without -r a directory is refused
    r = t.leither("ipfs", "add", "-n", root)
    assert.are.equal(1, r.code)
    assert.matches("^leither: .*%-r", r.err)
  end)

  it("matches the JS UnixFS importer with kubo's settings (CIDv1, raw leaves, directories)", function()
    if not have("npm") or not have("node") then
      pending("npm or node is missing: install the Debian packages nodejs npm (scripts/deps.sh test)")
      return
    end
    local oracle = "../oracle"
    if not t.exists(oracle .. "/node_modules/ipfs-unixfs-importer/package.json") then
      local r = t.sh("cd " .. oracle .. " && npm install --no-package-lock --no-audit --no-fund")
      if r.code ~= 0 then
        pending("npm install of ipfs-unixfs-importer failed: " .. (r.err or ""):sub(1, 200))
        return
      end
    end
    local root = dir .. "/js"
    os.execute("mkdir -p " .. t.quote(root .. "/x/y"))
    t.write(root .. "/small", "small\n")
    t.write(root .. "/x/mid", string.rep("m", 3 * CHUNK + 1))
    local f = io.open("/dev/urandom", "rb")
    t.write(root .. "/x/y/rnd", f:read(175 * CHUNK + 3))
    f:close()
    t.write(root .. "/x/y/empty", "")
    for _, v in ipairs({ { "1", "true" }, { "1", "false" }, { "0", "false" }, { "0", "true" } }) do
      local js = t.sh("node " .. oracle .. "/unixfs.mjs " .. v[1] .. " " .. v[2] .. " " .. t.quote(root))
      assert(js.code == 0, js.err)
      local r = t.leither("ipfs", "add", "-n", "-r", "--cid-version", v[1], "--raw-leaves=" .. v[2], root)
      assert.are.equal(0, r.code, r.err)
      local ours = {}
      for _, l in ipairs(lines(r.out)) do ours[l:match("^added %w+ (.+)$")] = l:match("^added (%w+)") end
      local n = 0
      for _, l in ipairs(lines(js.out)) do
        local c, name = l:match("^(%w+) (.+)$")
        assert.are.equal(c, ours[name], name .. " with cid-version " .. v[1] .. " raw-leaves " .. v[2])
        n = n + 1
      end
      assert.are.equal(7, n) -- small, x/mid, x/y/rnd, x/y/empty, x/y, x, js
    end
  end)

  it("adds 1 GiB in well under 64 MB of memory", function()
    local big = dir .. "/big"
    assert.are.equal(0, t.sh("truncate -s 1G " .. t.quote(big)).code)
    if not t.exists("/usr/bin/time") then
      pending("/usr/bin/time is missing: install the Debian package time (scripts/deps.sh test)")
      return
    end
    local r = t.sh("/usr/bin/time -v " .. t.quote(t.bin) .. " ipfs add -n " .. t.quote(big))
    assert.are.equal(0, r.code, r.err)
    -- checked against ipfs_cid: 4096 chunks of zeros, 24 parents and a root
    assert.are.equal("added QmdiETTY5fiwTkJeERbWAbPKtzcyjzMEJTJJosrqo2qKNm big\n", r.out)
    local kb = tonumber(r.err:match("Maximum resident set size %(kbytes%): (%d+)"))
    assert.truthy(kb, r.err)
    assert.is_true(kb < 64 * 1024, "peak RSS " .. kb .. " kB")
    os.remove(big)
  end)

  it("fails with one line: a missing file exits 1, a bad flag 2", function()
    local r = t.sh("cd " .. t.quote(dir) .. " && " .. t.quote(t.bin) .. " ipfs add -n x.txt")
    assert.are.equal(1, r.code)
    assert.are.equal("leither: cannot open x.txt: No such file or directory\n", r.err)
    assert.are.equal("", r.out)
    r = t.leither("ipfs", "add", "-n", "--cid-version", "2", "x")
    assert.are.equal(2, r.code)
    r = t.leither("ipfs", "add", "-n", "--raw-leaves=maybe", "x")
    assert.are.equal(2, r.code)
    r = t.leither("ipfs", "add", "--bogus")
    assert.are.equal(2, r.code)
  end)
end)

describe("ipfs add to a node", function()
  local node, dir
  setup(function()
    node = t.start_node()
    dir = t.tmpdir()
  end)
  teardown(function()
    t.stop_node(node)
    t.rmtree(dir)
  end)

  it("stores what -n computes, and cat gives the bytes back", function()
    local f = dir .. "/three.bin"
    local rnd = io.open("/dev/urandom", "rb")
    t.write(f, rnd:read(2 * CHUNK + 99))
    rnd:close()
    local r = t.leither("ipfs", "add", "--home", node.home, f)
    assert.are.equal(0, r.code, r.err)
    local only = t.leither("ipfs", "add", "-n", f)
    assert.are.equal(only.out, r.out)
    local c = r.out:match("^added (%w+) three.bin\n$")
    r = t.leither("ipfs", "cat", "--home", node.home, c)
    assert.are.equal(0, r.code, r.err)
    assert.is_true(r.out == t.slurp(f), "cat differs")

    os.execute("mkdir -p " .. t.quote(dir .. "/d/e"))
    t.write(dir .. "/d/e/x.txt", "hello world\n")
    r = t.leither("ipfs", "add", "--home", node.home, "-r", "--cid-version", "1", dir .. "/d")
    assert.are.equal(0, r.code, r.err)
    assert.are.equal(t.leither("ipfs", "add", "-n", "-r", "--cid-version", "1", dir .. "/d").out, r.out)
    local root = r.out:match("added (%w+) d\n$")
    r = t.leither("ipfs", "cat", "--home", node.home, root .. "/e/x.txt")
    assert.are.equal("hello world\n", r.out)
  end)

  it("prints nothing but one error line when the node cannot be reached", function()
    local home = t.tmpdir()
    assert.are.equal(0, t.leither("init", "--home", home, "-p", tostring(t.random_port())).code)
    local f = dir .. "/small"
    t.write(f, "small")
    local r = t.leither("ipfs", "add", "--home", home, f)
    assert.are.equal(1, r.code)
    assert.are.equal("", r.out)
    assert.matches("^leither: [^\n]+\n$", r.err)
    t.rmtree(home)
  end)
end)
