-- The library runs where apps do: a state without io, debug, package,
-- dofile or loadfile, and with os cut down to time/clock/date/difftime
-- (modules/lua/sandbox.h). Here each module is loaded into such an
-- environment, so reaching for anything else fails the spec.
local helper = require("spec.helper")

local root = debug.getinfo(1, "S").source:match("^@(.*)/lua/spec/[^/]*$") or "."

local function sandbox_env()
  local env = {}
  for _, name in ipairs({ "assert", "error", "ipairs", "next", "pairs", "pcall", "rawequal", "rawget", "rawlen",
                          "rawset", "select", "setmetatable", "getmetatable", "tonumber", "tostring", "type",
                          "xpcall", "print", "string", "table", "math", "utf8", "coroutine" }) do
    env[name] = _G[name]
  end
  env.os = { time = os.time, clock = os.clock, date = os.date, difftime = os.difftime }
  env.leither = leither
  local loaded = {}
  env.require = function(name)
    if loaded[name] == nil then
      local path = name:match("^leither%.") and root .. "/lua/" .. name:gsub("%.", "/") .. ".lua"
        or error("module " .. name .. " not found")
      local chunk = assert(loadfile(path, "t", env))
      loaded[name] = chunk(name) or true
    end
    return loaded[name]
  end
  return env
end

describe("the library in the sandbox's globals", function()
  it("routes, renders Markdown and escapes HTML with nothing more", function()
    local env = sandbox_env()
    local app = env.require("leither.app")
    local markdown = env.require("leither.markdown")
    app.get("/doc/:name", function(req, res)
      res:cookie("seen", "1", { expires = 86400, same_site = "strict" })
      return "<article>" .. markdown.render("# " .. req.params.name .. "\n\n[x](javascript:y) *ok*") .. "</article>"
    end)
    local status, headers, body, log = app._dispatch(helper.request("GET", "/doc/a%3Cb%3E"))
    assert.is_nil(log)
    assert.equal(200, status)
    assert.equal("<article><h1>a&lt;b&gt;</h1>\n<p>x <em>ok</em></p>\n</article>", body)
    assert.equal("seen=1; Expires=Fri, 02 Jan 1970 00:00:00 GMT; SameSite=Strict", helper.header(headers, "set-cookie"))
  end)

  it("loads the viewer app", function()
    local env = sandbox_env()
    env.app = env.require("leither.app")
    local chunk = assert(loadfile(root .. "/apps/viewer/server/main.lua", "t", env))
    chunk()
    local status, _, body = env.app._render({ id = "MID", path = "", type = "image/png", name = "p.png", size = 1 },
      helper.request("GET", "/", { app = "V" }))
    assert.equal(200, status)
    assert.truthy(body:find('src="/mm/MID?raw=1"', 1, true))
  end)
end)
