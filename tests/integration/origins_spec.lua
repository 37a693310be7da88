-- Origins (issue 10, findings 8 and 11): apps, content and MiMei each on an
-- origin of their own (ID.app.HOST, CID.ipfs.HOST, ID.mm.HOST); the path
-- forms redirected there where the Host has subdomains (localhost) and
-- served sandboxed where it has none (an IP address); nosniff everywhere;
-- an app's server code served by no path. A real node, curl, and headless
-- chromium for what a browser lets a stranger's page read.
local t = require("helpers")

local src = debug.getinfo(1, "S").source:match("^@(.*)/tests/integration/[^/]*$") or os.getenv("LEITHER_SRC") or "../.."
local SANDBOX = "sandbox allow-scripts allow-forms allow-popups allow-downloads"

local get = t.get

-- base32 (RFC 4648, lower case, no padding) of a Leither ID's 20 bytes:
-- the host label of an app or MiMei
local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
local B32 = "abcdefghijklmnopqrstuvwxyz234567"
local function label(id)
  local bits, acc, bytes = 0, 0, {}
  for i = 1, #id do
    acc = (acc << 6) | (B64:find(id:sub(i, i), 1, true) - 1)
    bits = bits + 6
    if bits >= 8 then
      bits = bits - 8
      bytes[#bytes + 1] = (acc >> bits) & 0xff
    end
  end
  local out = {}
  acc, bits = 0, 0
  for _, b in ipairs(bytes) do
    acc = ((acc << 8) | b) & 0xffff
    bits = bits + 8
    while bits >= 5 do
      bits = bits - 5
      out[#out + 1] = B32:sub(((acc >> bits) & 31) + 1, ((acc >> bits) & 31) + 1)
    end
  end
  if bits > 0 then
    local v = (acc << (5 - bits)) & 31
    out[#out + 1] = B32:sub(v + 1, v + 1)
  end
  return table.concat(out)
end

local function browse(steps)
  local file = os.tmpname()
  t.write(file, require("dkjson").encode({ steps = steps }))
  local r = t.sh("node " .. t.quote(src .. "/tests/browser/cdp.mjs") .. " " .. t.quote(file))
  os.remove(file)
  local ok, doc = pcall(t.decode, r.out)
  assert(ok, "cdp.mjs said: " .. tostring(r.out) .. tostring(r.err))
  return doc
end

local function browser_missing()
  if t.sh("command -v chromium || command -v chromium-browser").code ~= 0 then
    return "chromium is not installed (scripts/deps.sh test installs it)"
  elseif t.sh("node --version").code ~= 0 then
    return "node.js is not installed: cdp.mjs drives chromium"
  end
end

describe("origins", function()
  local node, dir, local_url, appid, app_cid, main_cid, main_v1, page_cid, page_mid

  local run = t.cli_in(function() return node.home end)
  local ok = t.ok
  -- a request to the node with Host: host (what a browser sends for that name)
  local function at(host, path, extra)
    return get(node.url .. path, "-H " .. t.quote("Host: " .. host .. ":" .. node.port) .. " " .. (extra or ""))
  end

  setup(function()
    node = t.start_node({ settings = { gateway_domains = { "node.example" } } })
    dir = t.tmpdir()
    local_url = "http://localhost:" .. node.port
    -- an app with server code
    t.sh("mkdir -p " .. t.quote(dir .. "/secretive/server"))
    t.write(dir .. "/secretive/manifest.json", '{"name": "secretive", "database": false}')
    t.write(dir .. "/secretive/index.html", "<!doctype html><title>secretive</title>\n")
    t.write(dir .. "/secretive/server/main.lua", [[
      local API_TOKEN = "server-side secret 7f3a"
      app.get("/ping", function() return { pong = true } end)
      app.post("/whoami", function(req) return { user = req.user or "nobody" } end)
      app.get("/cookies", function(req, res)
        res:cookie("shared", "1", { domain = "app.localhost" })
        res:cookie("own", "1", { path = "/" })
        return "ok"
      end)
    ]])
    local out = t.decode(ok(run("lapp", "uploadapp", "-i", "secretive", "-d", dir, "--json")))
    appid, app_cid = out.AppId, out.Cid
    local ls = t.decode(t.curl(node.url .. "/api/v0/ls?arg=" .. app_cid .. "/server").body)
    main_cid = ls.Objects[1].Links[1].Hash
    -- a stranger's page: it reports what it can read of localStorage
    t.write(dir .. "/page.html", [[<!doctype html><title>stranger</title><script>
      try { window.stolen = String(localStorage.getItem("leither.key")); }
      catch (e) { window.stolen = "blocked: " + e.name; }
    </script>
]])
    page_cid = ok(run("ipfs", "add", "-Q", dir .. "/page.html")):gsub("\n$", "")
    local r = run("mimei", "create", "-t", "file", "--public")
    if r.code ~= 0 then r = run("mimei", "create", "-t", "file") end
    page_mid = ok(r):match("mid= ([%w_%-]+)")
    t.sh("mkdir -p " .. t.quote(dir .. "/site"))
    t.sh("cp " .. t.quote(dir .. "/page.html") .. " " .. t.quote(dir .. "/site/index.html"))
    ok(run("mimei", "setcid", page_mid, (ok(run("ipfs", "add", "-r", "-Q", dir .. "/site")):gsub("\n$", ""))))
  end)
  teardown(function()
    t.stop_node(node)
    t.rmtree(dir)
  end)

  it("redirects the path forms to the subdomain forms on localhost", function()
    local app_host = label(appid) .. ".app.localhost:" .. node.port
    local r = get(local_url .. "/tpt/" .. appid .. "/index.html?x=1")
    assert.are.equal(301, r.status)
    assert.are.equal("http://" .. app_host .. "/index.html?x=1", r.headers["location"])
    assert.are.equal("http://" .. app_host .. "/", get(local_url .. "/tpt/" .. appid).headers["location"])
    -- a POST keeps its method (308)
    r = get(local_url .. "/tpt/" .. appid .. "/ping", "-X POST -d x")
    assert.are.equal(308, r.status)
    -- content: a CIDv0 becomes its CIDv1 in base32, one case-insensitive label
    r = get(local_url .. "/ipfs/" .. page_cid .. "?filename=a.html")
    assert.are.equal(301, r.status)
    local v1 = r.headers["location"]:match("^http://(b[a-z2-7]+)%.ipfs%.localhost:" .. node.port .. "/%?filename=a%.html$")
    assert.truthy(v1, r.headers["location"])
    r = get(local_url .. "/mm/" .. page_mid .. "/?raw=1")
    assert.are.equal(301, r.status)
    assert.are.equal("http://" .. label(page_mid) .. ".mm.localhost:" .. node.port .. "/?raw=1", r.headers["location"])
    for _, res in ipairs({ r, get(local_url .. "/tpt/" .. appid .. "/") }) do
      assert.are.equal("nosniff", res.headers["x-content-type-options"])
    end
    -- the node's own pages stay on the bare host
    assert.are.equal(200, get(local_url .. "/").status)
    assert.are.equal(200, get(local_url .. "/api/v0/id").status)
  end)

  it("serves the subdomain forms, each on its own origin", function()
    local app_host = label(appid) .. ".app.localhost"
    -- the app: its pages and routes at the root, the node's API and SDK beside them
    local r = at(app_host, "/")
    assert.are.same({ 200, "<!doctype html><title>secretive</title>\n" }, { r.status, r.body })
    assert.is_nil(r.headers["content-security-policy"])
    assert.are.equal("nosniff", r.headers["x-content-type-options"])
    assert.are.same({ pong = true }, t.decode(at(app_host, "/ping").body))
    assert.are.equal(node.id, t.decode(at(app_host, "/api/v0/id").body).ID)
    -- an app's cookies stay on its origin: one with a Domain would reach the other apps
    local hdrs = t.sh("curl -s -D - -o /dev/null --noproxy '*' -H " .. t.quote("Host: " .. app_host .. ":" .. node.port)
      .. " " .. node.url .. "/cookies").out:lower()
    assert.truthy(hdrs:find("set-cookie: own=1", 1, true), hdrs)
    assert.falsy(hdrs:find("shared=", 1, true), hdrs)
    -- a request signed for the path the client sends on the app's origin holds
    local auth = ok(run("lpki", "authorize", "POST", "/whoami")):gsub("\n$", "")
    r = at(app_host, "/whoami", "-X POST -H " .. t.quote("Authorization: " .. auth))
    assert.are.same({ 200, { user = node.id } }, { r.status, t.decode(r.body) })
    assert.are.equal(200, at(app_host, "/sdk/leither.js").status)
    -- content read from an app's origin (the SDK's mimeiRead) runs sandboxed, never as the app
    r = at(app_host, "/ipfs/" .. page_cid)
    assert.are.same({ 200, SANDBOX }, { r.status, r.headers["content-security-policy"] })
    r = at(app_host, "/mm/" .. page_mid .. "/index.html?raw=1")
    assert.are.same({ 200, SANDBOX }, { r.status, r.headers["content-security-policy"] })
    -- a path form on another origin leads to its own origin (links written for the path forms)
    r = at(app_host, "/tpt/" .. appid .. "/ping")
    assert.are.same({ 301, "http://" .. app_host .. ":" .. node.port .. "/ping" }, { r.status, r.headers["location"] })
    local mm_host = label(page_mid) .. ".mm.localhost"
    r = at(mm_host, "/mm/" .. page_mid .. "/index.html?raw=1")
    assert.are.same({ 301, "http://" .. mm_host .. ":" .. node.port .. "/index.html?raw=1" },
      { r.status, r.headers["location"] })
    r = at(mm_host, "/tpt/" .. appid .. "/style.css")
    assert.are.same({ 301, "http://" .. app_host .. ":" .. node.port .. "/style.css" }, { r.status, r.headers["location"] })
    -- content on CID.ipfs.localhost, in either case
    local v1 = get(local_url .. "/ipfs/" .. page_cid).headers["location"]:match("^http://(b[a-z2-7]+)%.")
    r = at(v1 .. ".ipfs.localhost", "/")
    assert.are.equal(200, r.status)
    assert.truthy(r.body:find("localStorage", 1, true))
    assert.are.equal("text/html; charset=utf-8", r.headers["content-type"])
    assert.are.equal("nosniff", r.headers["x-content-type-options"])
    assert.are.equal(200, at(v1:upper() .. ".IPFS.localhost", "/").status)
    -- a content origin serves nothing but the content: no API there
    assert.are.equal(404, at(v1 .. ".ipfs.localhost", "/api/v0/id").status)
    -- a MiMei on ID.mm.localhost
    r = at(label(page_mid) .. ".mm.localhost", "/index.html?raw=1")
    assert.are.equal(200, r.status)
    assert.truthy(r.body:find("stranger", 1, true))
    -- a label that names nothing is an ordinary host: the node's origin
    assert.are.equal(200, at("nothing.app.localhost", "/api/v0/id").status)
  end)

  it("serves the path forms sandboxed where the Host is an IP address", function()
    for _, path in ipairs({ "/tpt/" .. appid .. "/", "/tpt/" .. appid .. "/ping", "/ipfs/" .. page_cid,
      "/mm/" .. page_mid .. "/index.html?raw=1", "/mm/" .. page_mid .. "/" }) do
      local r = get(node.url .. path)
      assert.are.equal(200, r.status, path)
      assert.are.equal(SANDBOX, r.headers["content-security-policy"], path)
      assert.falsy(r.headers["content-security-policy"]:find("allow-same-origin", 1, true))
      assert.are.equal("nosniff", r.headers["x-content-type-options"], path)
    end
    -- the node's pages are not sandboxed, and say nosniff too (errors included)
    for _, path in ipairs({ "/", "/api/v0/id", "/sdk/leither.js", "/nothing", "/api/v0/nothing", "/ipfs/bad" }) do
      local r = get(node.url .. path)
      assert.are.equal("nosniff", r.headers["x-content-type-options"], path)
      if path == "/" or path:find("^/api") then assert.is_nil(r.headers["content-security-policy"], path) end
    end
    -- a name nobody said has wildcard DNS: sandboxed too; one in gateway_domains: redirected
    local r = get(node.url .. "/tpt/" .. appid .. "/", "-H 'Host: other.example'")
    assert.are.same({ 200, SANDBOX }, { r.status, r.headers["content-security-policy"] })
    -- a Host that is no DNS name is never put in a Location
    r = get(node.url .. "/tpt/" .. appid .. "/", "-H 'Host: evil.example/x.localhost'")
    assert.are.same({ 200, SANDBOX }, { r.status, r.headers["content-security-policy"] })
    r = get(node.url .. "/tpt/" .. appid .. "/", "-H 'Host: node.example:8080'")
    assert.are.same({ 301, "http://" .. label(appid) .. ".app.node.example:8080/" }, { r.status, r.headers["location"] })
  end)

  it("never serves an app's server code, however the path spells it", function()
    local srv = "/server/main.lua"
    local forms = {
      "/tpt/" .. appid .. srv, "/tpt/" .. appid .. "/" .. srv, "/tpt/" .. appid .. "/server%2Fmain.lua",
      "/tpt/" .. appid .. "/./server/main.lua", "/tpt/" .. appid .. "/x/../server/main.lua",
      "/tpt/" .. appid .. "/%2e/server/main.lua", "/tpt/" .. appid .. "/server/",
      "/ipfs/" .. app_cid .. srv, "/ipfs/" .. app_cid .. "//server/main.lua", "/ipfs/" .. app_cid .. "/server/",
      "/ipfs/" .. main_cid, "/ipfs/" .. main_cid .. "?format=raw", "/ipfs/" .. app_cid .. "?format=car",
      "/mm/" .. appid .. srv .. "?raw=1", "/mm/" .. appid .. "/server%2Fmain.lua?raw=1",
    }
    for _, path in ipairs(forms) do
      local r = get(node.url .. path)
      assert.are.equal(404, r.status, path)
      assert.falsy(r.body:find("server-side secret", 1, true), path)
    end
    -- the same bytes under another CID of them (CIDv1), and on the subdomain forms
    main_v1 = get(local_url .. "/ipfs/" .. main_cid).headers["location"]:match("^http://(b[a-z2-7]+)%.")
    assert.are.equal(404, get(node.url .. "/ipfs/" .. main_v1).status)
    assert.are.equal(404, at(main_v1 .. ".ipfs.localhost", "/").status)
    assert.are.equal(404, at(label(appid) .. ".app.localhost", srv).status)
    assert.are.equal(404, at(label(appid) .. ".app.localhost", "//server/main.lua").status)
    -- nor does another app read it through Lua
    t.sh("mkdir -p " .. t.quote(dir .. "/reader/server"))
    t.write(dir .. "/reader/manifest.json", '{"name": "reader", "database": false}')
    t.write(dir .. "/reader/server/main.lua", [[
      app.get("/read", function(req) return leither.mimei.read(req.query.app, req.query.path) end)
    ]])
    local reader = t.decode(ok(run("lapp", "uploadapp", "-i", "reader", "-d", dir, "--json"))).AppId
    local r = get(node.url .. "/tpt/" .. reader .. "/read?app=" .. appid .. "&path=server/main.lua")
    assert.are.equal(500, r.status)
    assert.falsy(r.body:find("server-side secret", 1, true))
    assert.matches("server code", r.body)
    r = get(node.url .. "/tpt/" .. reader .. "/read?app=" .. appid .. "&path=index.html")
    assert.are.same({ 200, "<!doctype html><title>secretive</title>\n" }, { r.status, r.body })
    -- code outside server/ is refused, not served as a static file
    t.sh("mkdir -p " .. t.quote(dir .. "/outside"))
    t.write(dir .. "/outside/manifest.json", '{"name": "outside", "entry": "main.lua"}')
    t.write(dir .. "/outside/main.lua", 'local SECRET = "server-side secret 7f3a"\napp.get("/x", function() return "x" end)\n')
    local outside = t.decode(ok(run("lapp", "uploadapp", "-i", "outside", "-d", dir, "--json"))).AppId
    r = get(node.url .. "/tpt/" .. outside .. "/main.lua")
    assert.are.equal(500, r.status)
    assert.matches("must be a file in server/", r.body)
    assert.falsy(r.body:find("server-side secret", 1, true))
    -- the app runs its code all the same, and serves its other files
    assert.are.same({ pong = true }, t.decode(t.curl(node.url .. "/tpt/" .. appid .. "/ping").body))
    assert.are.equal(200, get(node.url .. "/ipfs/" .. app_cid .. "/index.html").status)
  end)

  it("keeps the node's localStorage from a stranger's page (chromium)", function()
    local missing = browser_missing()
    if missing then return pending(missing) end
    local set = "localStorage.setItem('leither.key', 'the owner key'), localStorage.getItem('leither.key')"
    local doc = browse({
      -- localhost: the page is redirected to an origin of its own
      { open = local_url .. "/" },
      { eval = set },
      { open = local_url .. "/ipfs/" .. page_cid },
      { waitFor = "window.stolen" },
      { eval = "location.host" },
      { open = local_url .. "/mm/" .. page_mid .. "/" },
      { waitFor = "window.stolen" },
      -- an IP address: the page runs sandboxed, in an opaque origin
      { open = node.url .. "/" },
      { eval = set },
      { open = node.url .. "/ipfs/" .. page_cid },
      { waitFor = "window.stolen" },
      { eval = "origin" },
      { open = node.url .. "/mm/" .. page_mid .. "/index.html?raw=1" },
      { waitFor = "window.stolen" },
      { open = node.url .. "/" },
      { eval = "localStorage.getItem('leither.key')" },
    })
    assert.is_nil(doc.error, "step " .. tostring(doc.step) .. ": " .. tostring(doc.error))
    local r = doc.results
    assert.are.equal("the owner key", r[2])
    assert.are.equal("null", r[4]) -- its own origin's storage: empty
    assert.matches("^b[a-z2-7]+%.ipfs%.localhost:" .. node.port .. "$", r[5])
    assert.are.equal("null", r[7])
    assert.are.equal("the owner key", r[9])
    assert.are.equal("blocked: SecurityError", r[11])
    assert.are.equal("null", r[12])
    assert.are.equal("blocked: SecurityError", r[14])
    assert.are.equal("the owner key", r[16]) -- still there: only the stranger was kept out
  end)

  it("runs the dashboard on its own origin, linking apps on theirs (chromium)", function()
    local missing = browser_missing()
    if missing then return pending(missing) end
    local out = t.decode(ok(run("lapp", "uploadapp", "-i", "dashboard", "-d", src .. "/apps", "--json")))
    local url = get(local_url .. "/tpt/" .. out.AppId .. "/").headers["location"]
    assert.are.equal("http://" .. label(out.AppId) .. ".app.localhost:" .. node.port .. "/", url)
    local doc = browse({
      { open = url },
      { waitFor = "document.getElementById('node-id').textContent.length > 20" },
      { waitFor = "document.querySelector('#apps tr[data-mid=\"" .. appid .. "\"] a')?.href" },
      { eval = "document.getElementById('error').hidden" },
    })
    assert.is_nil(doc.error, "step " .. tostring(doc.step) .. ": " .. tostring(doc.error)
      .. "\nconsole: " .. table.concat(doc.console or {}, "\n"))
    assert.are.equal("http://" .. label(appid) .. ".app.localhost:" .. node.port .. "/", doc.results[3])
    assert.is_true(doc.results[4])
  end)
  it("keeps a key in the origin of the app that made it (chromium, the guestbook)", function()
    local missing = browser_missing()
    if missing then return pending(missing) end
    local gb = t.decode(ok(run("lapp", "uploadapp", "-i", "guestbook", "-d", src .. "/examples", "--json"))).AppId
    local gb_url = "http://" .. label(gb) .. ".app.localhost:" .. node.port .. "/"
    local doc = browse({
      { open = gb_url },
      { click = "#new-key" },
      { waitFor = "document.getElementById('me').textContent" },
      { eval = "JSON.parse(localStorage.getItem('leither.key')).kty" },
      { reload = true }, -- kept: still signed in
      { waitFor = "document.getElementById('me').textContent" },
      -- another app's origin and the node's have no key
      { open = "http://" .. label(appid) .. ".app.localhost:" .. node.port .. "/" },
      { eval = "localStorage.getItem('leither.key')" },
      { open = local_url .. "/" },
      { eval = "localStorage.getItem('leither.key')" },
      -- on an IP address the app runs sandboxed and the SDK says where to open it
      { open = node.url .. "/tpt/" .. gb .. "/" },
      { waitFor = "document.getElementById('status').textContent" },
      { eval = "origin" },
    })
    assert.is_nil(doc.error, "step " .. tostring(doc.step) .. ": " .. tostring(doc.error)
      .. "\nconsole: " .. table.concat(doc.console or {}, "\n"))
    local r = doc.results
    assert.matches("^[%w_%-]+$", r[3])
    assert.are.equal("OKP", r[4])
    assert.are.equal(r[3], r[6])
    assert.is_nil(r[8])
    assert.is_nil(r[10])
    assert.matches("opaque origin", r[12])
    assert.truthy(r[12]:find("open " .. gb_url, 1, true), r[12])
    assert.are.equal("null", r[13])
  end)
end)
