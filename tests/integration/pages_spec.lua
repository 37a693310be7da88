-- The pages a newcomer opens (issue 12): the node's landing page at "/",
-- a file MiMei with --ext md rendered by the shipped viewer, an app whose
-- Lua does not load (refused at upload; its static files still served),
-- and `leither init` on a home that lost its settings. A real node, the
-- real CLI, curl.
local t = require("helpers")

local src = debug.getinfo(1, "S").source:match("^@(.*)/tests/integration/[^/]*$") or os.getenv("LEITHER_SRC") or "../.."

describe("pages", function()
  local node, dir, apps

  local run = t.cli_in(function() return node.home end)
  local ok = t.ok
  local function upload(name, from)
    return t.decode(ok(run("lapp", "uploadapp", "-i", name, "-d", from, "--json"))).AppId
  end

  setup(function()
    node = t.start_node()
    dir = t.tmpdir()
    apps = {
      dashboard = upload("dashboard", src .. "/apps"),
      viewer = upload("viewer", src .. "/apps"),
      todo = upload("todo", src .. "/examples"),
    }
  end)
  teardown(function()
    t.stop_node(node)
    t.rmtree(dir)
  end)

  describe("the landing page", function()
    it("names the node and links the dashboard and every app by its name", function()
      local r = t.curl(node.url .. "/")
      assert.are.equal(200, r.status)
      local page = r.body
      assert.truthy(page:find('<code id="node-id">' .. node.id .. "</code>", 1, true))
      assert.matches('<code id="peer%-id">12D3KooW%w+</code>', page)
      -- on an IP address the apps are at their path forms
      local dash = page:match('<a class="button" id="dashboard%-link" href="([^"]+)">Open the dashboard</a>')
      assert.are.equal("/tpt/" .. apps.dashboard .. "/", dash)
      assert.truthy(page:find('data-mid="' .. apps.todo .. '" href="/tpt/' .. apps.todo .. '/">todo</a>', 1, true))
      assert.truthy(page:find('href="/tpt/' .. apps.dashboard .. '/">dashboard</a>', 1, true))
      -- the viewer is a renderer: named with what it renders, not a page to open
      local at = page:find('<span class="app" data-mid="' .. apps.viewer .. '">', 1, true)
      local viewer = at and page:sub(at):match('">(.-)</li>')
      assert.is_not_nil(viewer, page)
      assert.matches("^viewer</span>", viewer)
      assert.matches("renders text/%*, text/markdown", viewer)
      assert.is_nil(page:find('href="/tpt/' .. apps.viewer, 1, true))
      assert.are.equal(200, t.curl(node.url .. dash).status)
    end)

    it("links apps on their own origins when the Host has subdomains", function()
      local page = t.curl("http://localhost:" .. node.port .. "/").body
      local dash = page:match('id="dashboard%-link" href="([^"]+)"')
      assert.matches("^http://[a-z2-7]+%.app%.localhost:" .. node.port .. "/$", dash)
    end)

    it("says how to get the dashboard and an app on a node that has none", function()
      local bare = t.start_node()
      local page = t.curl(bare.url .. "/").body
      t.stop_node(bare)
      assert.truthy(page:find('<code id="node-id">' .. bare.id .. "</code>", 1, true))
      assert.matches("No dashboard here yet: .*lapp uploadapp %-i dashboard %-d apps", page)
      assert.matches("No apps to open yet: <code>lapp new NAME</code>", page)
      assert.is_nil(page:find("dashboard-link", 1, true))
    end)

    it("escapes what app authors wrote, and lists no private app", function()
      t.sh("mkdir -p " .. t.quote(dir .. "/sly"))
      t.write(dir .. "/sly/manifest.json",
        '{"name": "sly", "description": "<script>alert(1)</script> & more"}')
      t.write(dir .. "/sly/index.html", "<p>sly</p>\n")
      local sly = upload("sly", dir)
      t.sh("mkdir -p " .. t.quote(dir .. "/secret"))
      t.write(dir .. "/secret/manifest.json", '{"name": "secret", "public": false}')
      t.write(dir .. "/secret/index.html", "<p>secret</p>\n")
      local secret = upload("secret", dir)
      local page = t.curl(node.url .. "/").body
      assert.truthy(page:find('href="/tpt/' .. sly .. '/">sly</a>', 1, true))
      assert.truthy(page:find("&lt;script&gt;alert(1)&lt;/script&gt; &amp; more", 1, true))
      assert.is_nil(page:find("<script>", 1, true))
      assert.is_nil(page:find(secret, 1, true))
    end)
  end)

  describe("the shipped viewer", function()
    -- a file MiMei of the viewer, public so /mm/ serves it unsigned
    local function file_mimei(...)
      return ok(run("mimei", "create", "-t", "file", "--public", "-a", apps.viewer, ...)):match("mid= ([%w_%-]+)")
    end

    it("renders a file MiMei made with --ext md as Markdown, as it does a .md file in a folder", function()
      t.write(dir .. "/notes.md", "# Notes\n\nSome *words*.\n")
      local md = file_mimei("--ext", "md")
      ok(run("mimei", "add", md, dir .. "/notes.md"))
      local r = t.curl(node.url .. "/mm/" .. md)
      assert.are.equal(200, r.status)
      assert.matches('<main class="markdown">', r.body, 1, true)
      assert.matches("<h1[^>]*>Notes</h1>", r.body)
      assert.matches("<em>words</em>", r.body)
      -- the same bytes in a folder
      t.sh("mkdir -p " .. t.quote(dir .. "/folder") .. " && cp " .. t.quote(dir .. "/notes.md") .. " " .. t.quote(dir .. "/folder/"))
      local folder = file_mimei()
      ok(run("mimei", "setcid", folder, (ok(run("ipfs", "add", "-r", "-Q", dir .. "/folder")):gsub("\n$", ""))))
      local in_folder = t.curl(node.url .. "/mm/" .. folder .. "/notes.md").body
      assert.are.equal(r.body:match("<main.-</main>"), in_folder:match("<main.-</main>"))
      -- without --ext the same bytes are plain text
      local plain = file_mimei()
      ok(run("mimei", "add", plain, dir .. "/notes.md"))
      assert.matches('<main class="text">', t.curl(node.url .. "/mm/" .. plain).body, 1, true)
      -- and the bytes themselves stay what they were
      assert.are.equal("# Notes\n\nSome *words*.\n", t.curl(node.url .. "/mm/" .. md .. "?raw=1").body)
    end)
  end)

  describe("an app whose Lua does not load", function()
    local function folder(name, main, extra)
      local d = dir .. "/" .. name
      t.sh("rm -rf " .. t.quote(d) .. " && mkdir -p " .. t.quote(d .. "/server/lib"))
      t.write(d .. "/manifest.json", '{"name": "' .. name .. '"}')
      t.write(d .. "/index.html", "<h1>" .. name .. " page</h1>\n")
      t.write(d .. "/style.css", "h1 { color: teal }\n")
      t.write(d .. "/server/main.lua", main)
      for path, text in pairs(extra or {}) do t.write(d .. "/" .. path, text) end
      return d
    end

    it("is refused at upload with the file, the line and the module it misses", function()
      folder("broken", '-- require("in.a.comment") is no require\nlocal s = "require(\'in.a.string\')"\n'
        .. 'local ok = require("lib.here")\nlocal html = require "leither.html"\n'
        .. 'local gone = require("lib.gone")\napp.get("/x", function() return "x" end)\n',
        { ["server/lib/here.lua"] = "return {}\n" })
      local r = run("lapp", "uploadapp", "-i", "broken", "-d", dir)
      assert.are.equal(1, r.code)
      assert.are.equal('lapp: server/main.lua:5: require "lib.gone": the app has no server/lib/gone.lua\n', r.err)
      -- a module of the node's library that does not exist
      folder("broken", 'local x = require("leither.nothing")\n')
      r = run("lapp", "uploadapp", "-i", "broken", "-d", dir)
      assert.are.equal('lapp: server/main.lua:1: require "leither.nothing": the node\'s library has no such module\n', r.err)
      -- in a module too
      folder("broken", 'local m = require("lib.m")\n', { ["server/lib/m.lua"] = "\n\nreturn require('lib.n')\n" })
      r = run("lapp", "uploadapp", "-i", "broken", "-d", dir)
      assert.are.equal('lapp: server/lib/m.lua:3: require "lib.n": the app has no server/lib/n.lua\n', r.err)

      -- lines counted right past a bare require and long comments
      folder("broken", 'local r = require -- a comment\n--[[ two\nlines ]]\nlocal gone = require("lib.gone")\n')
      r = run("lapp", "uploadapp", "-i", "broken", "-d", dir)
      assert.are.equal('lapp: server/main.lua:4: require "lib.gone": the app has no server/lib/gone.lua\n', r.err)

      -- the node checks too: a folder set past lapp is refused the same way
      folder("broken", 'app.get("/x", function() return "x" end)\n')
      local id = upload("broken", dir)
      local bad = folder("bad", 'local gone = require("lib.gone")\n')
      local cid = ok(run("ipfs", "add", "-r", "-Q", bad)):gsub("\n$", "")
      r = run("mimei", "setcid", id, cid)
      assert.are.equal(1, r.code)
      assert.are.equal('leither: server/main.lua:1: require "lib.gone": the app has no server/lib/gone.lua (HTTP 400)\n', r.err)
      assert.are.equal("x", t.curl(node.url .. "/tpt/" .. id .. "/x").body)
    end)

    it("still serves its static files when it fails at run time; its routes answer why", function()
      -- a name computed at run time: no upload check can see it
      local d = folder("late", 'local gone = require("lib." .. "gone")\napp.get("/x", function() return "x" end)\n')
      local id = upload("late", dir)
      local page = t.curl(node.url .. "/tpt/" .. id .. "/")
      assert.are.same({ 200, "<h1>late page</h1>\n" }, { page.status, page.body })
      assert.are.same({ 200, "h1 { color: teal }\n" }, { t.curl(node.url .. "/tpt/" .. id .. "/style.css").status,
        t.curl(node.url .. "/tpt/" .. id .. "/style.css").body })
      local r = t.curl(node.url .. "/tpt/" .. id .. "/x")
      assert.are.equal(500, r.status)
      assert.matches("module 'lib.gone' not found", r.body, 1, true)
      -- its server code stays hidden all the same
      assert.are.equal(404, t.curl(node.url .. "/tpt/" .. id .. "/server/main.lua").status)
      t.rmtree(d)
    end)
  end)
end)
