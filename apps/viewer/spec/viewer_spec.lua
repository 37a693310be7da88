-- Loads the viewer's server/main.lua as the node does (app and leither as
-- globals) and renders MiMei of each type from files kept in memory here.
local helper = require("spec.helper")

local here = debug.getinfo(1, "S").source:match("^@(.*)/spec/[^/]*$") or "apps/viewer"
local main = here .. "/server/main.lua"

-- The files of MiMei "MID" at version 2: what leither.mimei reads and lists.
local files = {
  ["notes.md"] = "# Hello\n\nSome *notes* with <script>alert(1)</script>.\n\n- [a link](javascript:alert(1))\n",
  ["todo.txt"] = "1 < 2 & \"quotes\"\n<b>not bold</b>\n",
  ["docs/a b.txt"] = "in a folder",
  ["docs/img/cat.png"] = "\137PNG...",
}

local function fixture_mimei()
  local calls = {}
  local api = {}
  function api.read(mid, path, ver)
    calls[#calls + 1] = { "read", mid, path, ver }
    assert(mid == "MID", "unknown MiMei " .. tostring(mid))
    return files[path] or error("no file " .. path)
  end
  function api.list(mid, path, ver)
    calls[#calls + 1] = { "list", mid, path, ver }
    local prefix = (path == nil or path == "") and "" or path .. "/"
    local entries, seen = {}, {}
    for name, content in pairs(files) do
      if name:sub(1, #prefix) == prefix then
        local rest = name:sub(#prefix + 1)
        local first, deeper = rest:match("^([^/]+)(/?)")
        if not seen[first] then
          seen[first] = true
          entries[#entries + 1] = deeper == "/" and { name = first, cid = "bafydir", size = 0, type = "dir" }
              or { name = first, cid = "bafy" .. first, size = #content, type = "file" }
        end
      end
    end
    return entries
  end
  return api, calls
end

describe("the viewer app", function()
  local calls

  before_each(function()
    helper.fresh_app()
    leither.mimei, calls = fixture_mimei()
    dofile(main)
  end)

  after_each(function() leither.mimei = nil end)

  local function render(path, type, fields)
    local mimei = { id = "MID", info = { name = "My notes" }, path = path, ver = 2, cid = "bafyx",
                    type = type, name = path:match("[^/]*$"), size = files[path] and #files[path] or 0 }
    for k, v in pairs(fields or {}) do mimei[k] = v end
    local status, headers, body, log = app._render(mimei, helper.request("GET", "/", { app = "VIEWERID" }))
    assert.is_nil(log)
    assert.equal(200, status)
    assert.equal("text/html; charset=utf-8", helper.header(headers, "content-type"))
    return body
  end

  it("shows text escaped in <pre>, read at the MiMei's version", function()
    local body = render("todo.txt", "text/plain")
    assert.truthy(body:find("<pre>1 &lt; 2 &amp; &quot;quotes&quot;\n&lt;b&gt;not bold&lt;/b&gt;\n</pre>", 1, true))
    assert.same({ "read", "MID", "todo.txt", 2 }, calls[1])
    assert.truthy(body:find("<title>todo.txt</title>", 1, true))
  end)

  it("links the shared stylesheet under the app's own ID", function()
    local body = render("todo.txt", "text/plain")
    assert.truthy(body:find('<link rel="stylesheet" href="/tpt/VIEWERID/style.css">', 1, true))
  end)

  it("renders Markdown, raw HTML and script links defused", function()
    local body = render("notes.md", "text/markdown")
    assert.truthy(body:find("<h1>Hello</h1>", 1, true))
    assert.truthy(body:find("<em>notes</em> with &lt;script&gt;alert(1)&lt;/script&gt;", 1, true))
    assert.truthy(body:find("<li>a link</li>", 1, true))
    assert.falsy(body:find("<script", 1, true))
    assert.falsy(body:find("javascript:", 1, true))
  end)

  it("shows an image from its raw bytes", function()
    local body = render("docs/img/cat.png", "image/png")
    assert.truthy(body:find('<img src="/mm/MID/docs/img/cat.png?raw=1" alt="cat.png">', 1, true))
    assert.same({}, calls, "an image page needs no bytes read")
  end)

  it("lists a folder, folders first, with links under /mm/MID", function()
    local body = render("", "folder", { name = "" })
    local docs = body:find('<a href="/mm/MID/docs">docs/</a>', 1, true)
    local notes = body:find('<a href="/mm/MID/notes.md">notes.md</a>', 1, true)
    local todo = body:find('<a href="/mm/MID/todo.txt">todo.txt</a>', 1, true)
    assert.truthy(docs and notes and todo)
    assert.is_true(docs < notes and notes < todo)
    assert.truthy(body:find('<td class="size">' .. #files["todo.txt"] .. " B</td>", 1, true))
    assert.falsy(body:find("../", 1, true), "the root has no parent")
    assert.same({ "list", "MID", "", 2 }, calls[1])
    assert.truthy(body:find("<title>My notes</title>", 1, true))
  end)

  it("lists a sub folder with a parent link and encoded names", function()
    local body = render("docs", "folder")
    assert.truthy(body:find('<a href="/mm/MID">../</a>', 1, true))
    assert.truthy(body:find('<a href="/mm/MID/docs/a%20b.txt">a b.txt</a>', 1, true))
    assert.truthy(body:find('<a href="/mm/MID/docs/img">img/</a>', 1, true))
    assert.truthy(body:find('<a href="/mm/MID">My notes</a> / <a href="/mm/MID/docs">docs</a>', 1, true))
  end)

  it("offers a download for a type it cannot show", function()
    local body = render("data.bin", "application/octet-stream", { size = 2048 })
    assert.truthy(body:find("application/octet-stream", 1, true))
    assert.truthy(body:find('href="/mm/MID/data.bin?raw=1" download="data.bin">Download data.bin (2.0 KiB)</a>', 1, true))
  end)

  it("escapes names it shows", function()
    local body = render("x<y>.bin", "application/zip", { name = "x<y>.bin" })
    assert.falsy(body:find("x<y>", 1, true))
    assert.truthy(body:find("<title>x&lt;y&gt;.bin</title>", 1, true))
    assert.truthy(body:find('/mm/MID/x%3Cy%3E.bin?raw=1', 1, true))
  end)

  it("answers 500 with the error when the MiMei cannot be read", function()
    local status, _, body, log = app._render({ id = "MID", path = "gone.txt", type = "text/plain", name = "gone.txt" },
      helper.request("GET", "/", { app = "VIEWERID" }))
    assert.equal(500, status)
    assert.matches("no file gone.txt", leither.json.decode(body).Message)
    assert.matches("stack traceback", log)
  end)
end)
