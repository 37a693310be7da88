-- The pages a newcomer opens, in headless chromium (issue 12): the node's
-- landing page, the dashboard and each shipped app (the viewer rendering a
-- Markdown file MiMei and a folder; the examples todo and guestbook), each
-- checked in the DOM and saved as a screenshot under the build folder
-- (build/screenshots/*.png) for a person to look at.
local t = require("helpers")

local src = debug.getinfo(1, "S").source:match("^@(.*)/tests/integration/[^/]*$") or os.getenv("LEITHER_SRC") or "../.."
-- beside the binary under test: build/screenshots
local shots = (os.getenv("SCREENSHOT_DIR") or (t.bin:match("^(.*)/[^/]*$") or ".") .. "/screenshots")

local function browse(steps)
  local file = os.tmpname()
  t.write(file, require("dkjson").encode({ steps = steps }))
  local r = t.sh("node " .. t.quote(src .. "/tests/browser/cdp.mjs") .. " " .. t.quote(file))
  os.remove(file)
  local ok, doc = pcall(t.decode, r.out)
  assert(ok, "cdp.mjs said: " .. tostring(r.out) .. tostring(r.err))
  assert.is_nil(doc.error, "step " .. tostring(doc.step) .. ": " .. tostring(doc.error)
    .. "\nconsole: " .. table.concat(doc.console or {}, "\n") .. "\nerrors: " .. table.concat(doc.errors or {}, "\n"))
  assert.are.same({}, doc.errors or {}, "exceptions in the page")
  return doc.results
end

local function browser_missing()
  if t.sh("command -v chromium || command -v chromium-browser").code ~= 0 then
    return "chromium is not installed (scripts/deps.sh test installs it)"
  elseif t.sh("node --version").code ~= 0 then
    return "node.js is not installed: cdp.mjs drives chromium"
  end
end

-- a JS expression: the texts of the elements selector matches, joined by "|"
local function texts(selector)
  return "[...document.querySelectorAll(" .. string.format("%q", selector) .. ")].map((e) => e.textContent.trim()).join('|')"
end

describe("pages in a browser", function()
  local node, dir, apps, base, md, folder

  local run = t.cli_in(function() return node.home end)
  local ok = t.ok
  local function upload(name, from)
    return t.decode(ok(run("lapp", "uploadapp", "-i", name, "-d", from, "--json"))).AppId
  end

  setup(function()
    node = t.start_node()
    dir = t.tmpdir()
    base = "http://localhost:" .. node.port
    t.sh("mkdir -p " .. t.quote(shots))
    apps = {
      dashboard = upload("dashboard", src .. "/apps"),
      viewer = upload("viewer", src .. "/apps"),
      todo = upload("todo", src .. "/examples"),
      guestbook = upload("guestbook", src .. "/examples"),
    }
    -- what the viewer shows, and the dashboard lists: a Markdown file MiMei, a folder
    t.write(dir .. "/welcome.md", table.concat({
      "# Welcome to Leither",
      "",
      "This page is a **file MiMei** made with `--ext md`, rendered by the *viewer*.",
      "",
      "## What you can do",
      "",
      "- store files by content: `leither ipfs add FILE`",
      "- keep data in a database: `redis-cli -p PORT`",
      "- write an app: `lapp new NAME`",
      "",
      "```",
      "lapp uploadapp -i NAME",
      "```",
      "",
      "> Every app is a folder; see [the apps' README](https://example.invalid/apps).",
      "",
    }, "\n"))
    md = ok(run("mimei", "create", "-t", "file", "--ext", "md", "--public", "-a", apps.viewer)):match("mid= ([%w_%-]+)")
    ok(run("mimei", "add", md, dir .. "/welcome.md"))
    t.sh("mkdir -p " .. t.quote(dir .. "/notes/drafts") .. " && cp " .. t.quote(dir .. "/welcome.md") .. " "
      .. t.quote(dir .. "/notes/") .. " && echo 'a plain note' > " .. t.quote(dir .. "/notes/todo.txt"))
    folder = ok(run("mimei", "create", "-t", "file", "--public", "-a", apps.viewer)):match("mid= ([%w_%-]+)")
    ok(run("mimei", "setcid", folder, (ok(run("ipfs", "add", "-r", "-Q", dir .. "/notes")):gsub("\n$", ""))))
  end)
  teardown(function()
    t.stop_node(node)
    t.rmtree(dir)
  end)

  it("shows the landing page with the node and its apps by name", function()
    local missing = browser_missing()
    if missing then return pending(missing) end
    local r = browse({
      { open = base .. "/" },
      { eval = "document.getElementById('node-id').textContent" },
      { eval = texts("#app-list a.app") },
      { eval = texts("#renderer-list .app") },
      { eval = "document.getElementById('dashboard-link').href" },
      { screenshot = shots .. "/landing.png", width = 1000 },
    })
    assert.are.equal(node.id, r[2])
    assert.are.equal("dashboard|guestbook|todo", r[3])
    assert.are.equal("viewer", r[4])
    assert.matches("^http://[a-z2-7]+%.app%.localhost:" .. node.port .. "/$", r[5])
  end)

  it("shows the dashboard: apps by name, which app owns which database, figures in words", function()
    local missing = browser_missing()
    if missing then return pending(missing) end
    local todo_row = "#apps tr[data-mid=\"" .. apps.todo .. "\"]"
    local r = browse({
      { open = base .. "/" },
      { click = "#dashboard-link" },
      { waitFor = "document.querySelectorAll('#apps tbody tr[data-mid]').length === 4" },
      { waitFor = "document.querySelectorAll('#figures .figure').length > 0" },
      { eval = texts("#apps tbody tr td:first-child > a, #apps tbody tr td:first-child > strong") },
      { eval = "document.querySelector('" .. todo_row .. " td:nth-child(3) code').title" },
      { eval = texts("#dbs tbody tr td:nth-child(2)") },
      { eval = texts("#figures .figure .name") },
      { eval = "document.querySelector('" .. todo_row .. " td:nth-child(2)').textContent" },
      { eval = "document.querySelector('#apps tr[data-mid=\"" .. apps.viewer .. "\"] td:nth-child(2)').textContent" },
      { eval = "document.getElementById('error').hidden" },
      { waitFor = "document.querySelectorAll('#files tbody tr[data-mid]').length === 2" },
      { eval = "document.querySelector('#files tr[data-mid=\"" .. md .. "\"] td:nth-child(2)').textContent" },
      { screenshot = shots .. "/dashboard.png", width = 1200 },
    })
    -- names, not IDs; the renderer is named but not linked as a page
    local names = {}
    for name in r[5]:gmatch("[^|]+") do names[#names + 1] = name end
    table.sort(names)
    assert.are.same({ "dashboard", "guestbook", "todo", "viewer" }, names)
    -- todo's own database, and the database table says whose it is
    local todo_db = r[6]
    assert.are.equal(27, #todo_db)
    assert.matches("app todo", r[7])
    assert.matches("app guestbook", r[7])
    assert.matches("blocks stored", r[8])
    assert.matches("worker threads", r[8])
    assert.is_nil(r[8]:find("Num Objects", 1, true))
    assert.matches("to%-do list", r[9])
    assert.matches("^a renderer of text/%*", r[10])
    assert.is_true(r[11])
    assert.are.equal("md", r[13])
    -- the ID the page computed is the one the node gave the app's database
    assert.truthy(ok(run("mimei", "show", todo_db)):find("appdb:" .. apps.todo, 1, true))
  end)

  it("shows what the viewer renders: a Markdown file MiMei and a folder", function()
    local missing = browser_missing()
    if missing then return pending(missing) end
    local r = browse({
      { open = base .. "/mm/" .. md },
      { waitFor = "document.querySelector('main.markdown h1')" },
      { eval = "document.querySelector('main.markdown h1').textContent" },
      { eval = texts("main.markdown li") },
      { eval = "getComputedStyle(document.body).fontFamily" },
      { screenshot = shots .. "/viewer-markdown.png", width = 1000 },
      { open = base .. "/mm/" .. folder .. "/" },
      { waitFor = "document.querySelector('table.listing')" },
      { eval = texts("table.listing a") },
      { screenshot = shots .. "/viewer-folder.png", width = 1000 },
    })
    assert.are.equal("Welcome to Leither", r[3])
    assert.matches("lapp new NAME", r[4])
    assert.is_nil(r[5]:match("^Times"), "the viewer's style sheet did not load: " .. r[5])
    assert.are.equal("drafts/|todo.txt|welcome.md", r[9])
  end)

  it("shows the example apps a newcomer opens first: todo and guestbook", function()
    local missing = browser_missing()
    if missing then return pending(missing) end
    local r = browse({
      { open = base .. "/" },
      { eval = "document.querySelector('#app-list a.app[data-mid=\"" .. apps.todo .. "\"]').href" },
      { eval = "document.querySelector('#app-list a.app[data-mid=\"" .. apps.guestbook .. "\"]').href" },
    })
    local shots_done = browse({
      { open = r[2] },
      { waitFor = "document.readyState === 'complete' && document.body.innerText.length > 0" },
      { eval = "document.title" },
      { screenshot = shots .. "/todo.png", width = 1000 },
      { open = r[3] },
      { waitFor = "document.readyState === 'complete' && document.body.innerText.length > 0" },
      { eval = "document.title" },
      { screenshot = shots .. "/guestbook.png", width = 1000 },
    })
    assert.truthy(#shots_done[3] > 0)
    assert.truthy(#shots_done[7] > 0)
  end)
end)
