-- A newcomer's first minutes, as the README walks them: `make run` from the
-- checkout, then the CLI from the same place finds that node; the hints lead
-- to one identity, outside the git tree; `make install` puts the binaries on
-- a PATH. The default home (~/.leither) is a temporary $HOME's, on free ports.
local t = require("helpers")

local src = t.sh("cd ../.. && pwd").out:gsub("%s+$", "")
-- the build the suite runs, so `make run` finds it built (and keeps its type)
local build = t.bin:match("^(.*)/leither$")
if build:sub(1, 1) ~= "/" then build = t.sh("cd " .. t.quote(build) .. " && pwd").out:gsub("%s+$", "") end

-- A command line run in dir with $HOME = user and no $LEITHER_HOME.
local function as_user(user, dir, cmdline)
  return t.sh("cd " .. t.quote(dir) .. " && env -u LEITHER_HOME HOME=" .. t.quote(user) .. " " .. cmdline)
end

-- The default home of user, made by `leither init` as the README says, on free ports.
local function init_default(user)
  local port = t.random_port()
  local r = as_user(user, user, t.quote(t.bin) .. " init -p " .. port)
  assert.are.equal(0, r.code, r.err)
  local path = user .. "/.leither/SystemVars.json"
  local doc = t.decode(t.slurp(path))
  doc.db_port = t.random_port()
  t.write(path, require("dkjson").encode(doc))
  return doc
end

-- Waits until path's text matches pattern (the node starting), or gives up.
local function wait_for(path, pattern)
  for _ = 1, 600 do
    local text = t.slurp(path) or ""
    if text:find(pattern) then return text end
    os.execute("sleep 0.1")
  end
  return t.slurp(path) or ""
end

describe("a newcomer's first hour", function()
  local user

  before_each(function() user = t.tmpdir() end)
  after_each(function()
    as_user(user, user, t.quote(t.bin) .. " stop")
    t.rmtree(user)
  end)

  it("make run, then the README's commands from the checkout reach that node", function()
    local settings = init_default(user)
    local out = user .. "/make-run.out"
    assert.are.equal(0, as_user(user, src, "setsid make --no-print-directory run BUILD=" .. t.quote(build)
      .. " JOBS=1 >" .. t.quote(out) .. " 2>&1 &").code)
    local text = wait_for(out, "Ctrl%-C stops the node%.\n")
    assert.matches("Ctrl%-C stops the node%.\n", text)
    -- the banner comes at once: no build output before it
    local before = text:sub(1, text:find("Leither %d") - 1)
    assert.falsy(before:find("Building") or before:find("Linking") or before:find("%[%s*%d+%%%]"), before)
    assert.is_true(select(2, before:gsub("\n", "")) <= 3, before)
    -- each app by name, with its URL; the viewer is a renderer, not a page
    for _, name in ipairs({ "dashboard", "guestbook", "todo" }) do
      local url = text:match("\n  " .. name .. " +(http://%S+)\n")
      assert.truthy(url, name .. " has no URL in:\n" .. text)
      assert.are.equal(200, t.curl(url).status, url)
    end
    assert.matches("\n  viewer +a renderer, not a page to open", text)
    assert.falsy(text:match("\n  viewer +http://"))

    -- the CLI from the checkout finds the node make run runs (no --home)
    local cli = function(args) return as_user(user, src, t.quote(t.bin) .. " " .. args) end
    local r = cli("status")
    assert.are.equal(0, r.code, r.err)
    assert.matches("home +" .. (user .. "/.leither"):gsub("%p", "%%%0") .. "\n", r.out)
    assert.matches("RESP +port " .. settings.db_port .. " ", r.out)
    local pid = t.decode(cli("status --json").out).Pid
    r = cli("mimei create -t db")
    assert.are.equal(0, r.code, r.err)
    local mid = r.out:match("\nmid= (%S+)")
    assert.truthy(mid, r.out)

    -- make an app, upload it, open it (README: Apps)
    r = cli("lapp new hello")
    assert.are.equal(0, r.code, r.err)
    r = cli("lapp uploadapp -i hello")
    assert.are.equal(0, r.code, r.err)
    local app_url = r.out:match("url= (%S+)")
    assert.truthy(app_url, r.out)
    assert.are.equal(200, t.curl(app_url).status, app_url)

    -- the databases with redis-cli (README: Databases)
    local rc = "redis-cli -p " .. settings.db_port .. " "
    assert.are.equal("OK\n", t.sh(rc .. "SET greeting hello").out)
    assert.are.equal("hello\n", t.sh(rc .. "GET greeting").out)
    assert.are.equal("OK\nOK\nworld\n", t.sh("printf 'SELECT " .. mid .. "\\nSET k world\\nGET k\\n' | " .. rc).out)

    -- a second make run says so and leaves the running node alone
    r = as_user(user, src, "make --no-print-directory run BUILD=" .. t.quote(build) .. " JOBS=1")
    assert.are_not.equal(0, r.code)
    assert.matches("already runs", r.err)
    assert.falsy(r.out:find("Leither %d"))
    local after = t.decode(cli("status --json").out)
    assert.are.equal(pid, after.Pid)
    assert.is_true(after.Uptime >= 0)
    assert.are.equal(0, cli("stop").code)
    wait_for(out, "leither: stopped")
  end)

  it("is not given a second identity beside the ./node-home an earlier make run made", function()
    -- a checkout of its own: run.sh finds the checkout from where it lies
    local root = t.tmpdir()
    assert.are.equal(0, t.sh("mkdir -p " .. t.quote(root .. "/scripts") .. " " .. t.quote(root .. "/node-home")
      .. " && cp " .. t.quote(src .. "/scripts/run.sh") .. " " .. t.quote(root .. "/scripts/")).code)
    t.write(root .. "/node-home/SystemVars.json", "{}")
    local r = as_user(user, root, "sh scripts/run.sh " .. t.quote(build) .. " 1")
    assert.are.equal(1, r.code)
    assert.truthy(r.err:find("export LEITHER_HOME=" .. root .. "/node-home", 1, true), r.err)
    assert.is_false(t.exists(user .. "/.leither"))
    t.rmtree(root)
  end)

  it("follows the hint to one identity, never inside the git tree", function()
    if t.sh("git --version").code ~= 0 then return pending("no git") end
    local tree = t.tmpdir()
    assert.are.equal(0, t.sh("git -C " .. t.quote(tree) .. " init -q").code)
    local r = as_user(user, tree, t.quote(t.bin) .. " status")
    assert.are.equal(1, r.code)
    assert.matches("run 'leither init'", r.err)
    assert.falsy(r.err:find(tree, 1, true)) -- the hint names the default home, not the folder
    r = as_user(user, tree, t.quote(t.bin) .. " init -p " .. t.random_port())
    assert.are.equal(0, r.code, r.err)
    assert.is_true(t.exists(user .. "/.leither/keys/node.key"))
    assert.are.equal("", t.sh("git -C " .. t.quote(tree) .. " status --porcelain").out)
    -- the same hint again leads to the same identity: init keeps the key
    local id = t.decode(as_user(user, tree, t.quote(t.bin) .. " swarm id --json").out).ID
    r = as_user(user, tree, t.quote(t.bin) .. " init --json")
    assert.are.equal(id, t.decode(r.out).ID)
    assert.is_false(t.decode(r.out).NewKey)
    t.rmtree(tree)
  end)

  it("never lets git take a home's keys or data made inside the checkout", function()
    if t.sh("git -C " .. t.quote(src) .. " rev-parse --is-inside-work-tree").code ~= 0 then -- or no git
      return pending("the checkout is not a git work tree")
    end
    for _, path in ipairs({ "node-home/keys/node.key", "myhome/keys/node.key", "apps/x/home/keys/node.key",
      "myhome/data/data.mdb", "myhome/data/lock.mdb", "myhome/data/signed-until", "myhome/leither.log",
      "myhome/leither.pid", "alice.key" }) do
      assert.are.equal(0, t.sh("git -C " .. t.quote(src) .. " check-ignore -q " .. t.quote(path)).code,
        path .. " is not ignored")
    end
    assert.are_not.equal(0, t.sh("git -C " .. t.quote(src) .. " check-ignore -q runtime/cli/main.c").code)
  end)

  it("make install puts leither and lapp in PREFIX/bin", function()
    local prefix = user .. "/prefix"
    local r = t.sh("make --no-print-directory -C " .. t.quote(src) .. " install BUILD=" .. t.quote(build)
      .. " JOBS=1 PREFIX=" .. t.quote(prefix))
    assert.are.equal(0, r.code, r.err)
    r = t.sh("PATH=" .. t.quote(prefix .. "/bin") .. ":/usr/bin:/bin leither --version")
    assert.are.equal(0, r.code, r.err)
    assert.matches("^leither version ", r.out)
    r = t.sh("PATH=" .. t.quote(prefix .. "/bin") .. ":/usr/bin:/bin lapp help")
    assert.matches("^usage: lapp COMMAND", r.out)
  end)
end)

describe("an operator", function()
  local node
  setup(function() node = t.start_node() end)
  teardown(function() t.stop_node(node) end)

  it("finds the pid file and the log of run -d where the README says, and the RESP port in status", function()
    assert.are.equal(tostring(node.pid), (t.slurp(node.home .. "/leither.pid") or ""):gsub("%s+$", ""))
    assert.truthy(t.exists(node.home .. "/leither.log"))
    local readme = t.slurp(src .. "/README.md")
    assert.truthy(readme:find("leither.pid       pid of the running node", 1, true))
    assert.truthy(readme:find("leither.log       the log of `leither run -d`", 1, true))
    local r = t.leither("status", "--home", node.home)
    assert.are.equal(0, r.code, r.err)
    assert.matches("RESP +port " .. node.db_port .. " %(redis%-cli %-p " .. node.db_port .. "%)", r.out)
    assert.matches("pid file +" .. (node.home .. "/leither.pid"):gsub("%p", "%%%0"), r.out)
    assert.matches("log +" .. (node.home .. "/leither.log"):gsub("%p", "%%%0"), r.out)
    assert.are.equal(node.db_port, t.decode(t.leither("status", "--home", node.home, "--json").out).DbPort)
  end)

  it("lapp uploadapp prints the app's URL, which serves the app", function()
    local dir = t.tmpdir()
    assert.are.equal(0, t.leither("lapp", "new", "hello", "-d", dir, "--home", node.home).code)
    local r = t.leither("lapp", "uploadapp", "-i", "hello", "-d", dir, "--home", node.home)
    assert.are.equal(0, r.code, r.err)
    local url = r.out:match("\nurl= (http://%S+)\n")
    assert.truthy(url, r.out)
    local page = t.curl(url)
    assert.are.equal(200, page.status)
    assert.truthy(page.body:find("hello", 1, true))
    -- -n HOST:PORT: a new app is registered over RESP at the port the node
    -- says (this node's is not PORT + 1, the guess it once was)
    assert.are.equal(0, t.leither("lapp", "new", "other", "-d", dir, "--home", node.home).code)
    r = t.leither("lapp", "uploadapp", "-i", "other", "-d", dir, "-n", "127.0.0.1:" .. node.port, "--home", node.home,
      "--json")
    assert.are.equal(0, r.code, r.err)
    assert.are.equal(200, t.curl(t.decode(r.out).Url).status)
    t.rmtree(dir)
  end)
end)
