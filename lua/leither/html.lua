-- HTML helpers for app code: escaping text and attribute values, telling a
-- safe link target from a script one, and a small template filler.

local html = {}

local ESCAPES = { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;", ["'"] = "&#39;" }

-- Text for an element's content or a quoted attribute value: quotes are
-- escaped too, so one function is safe in both places.
function html.escape(s)
  if s == nil then return "" end
  return (tostring(s):gsub("[&<>\"']", ESCAPES))
end

-- An attribute value, always to be written between double quotes.
html.attr = html.escape

-- Schemes a link or image may use; anything else with a scheme
-- (javascript:, vbscript:, data:, file:...) could run script or read local
-- files. A URL without a scheme is relative, so it stays.
local SAFE_SCHEMES = { http = true, https = true, mailto = true, ftp = true }

-- url, or nil when it must not become an href/src. images allows
-- data:image/ URLs of raster types (an SVG could carry script).
function html.safe_url(url, images)
  if type(url) ~= "string" then return nil end
  -- browsers ignore these inside a scheme ("java\tscript:"), so must we
  local squeezed = url:gsub("[%c%s]", "")
  local scheme = squeezed:match("^([%a][%w+.%-]*):")
  if scheme == nil then return url end
  scheme = scheme:lower()
  if SAFE_SCHEMES[scheme] then return url end
  if images and scheme == "data" and squeezed:lower():match("^data:image/[%a]+") then
    local kind = squeezed:lower():match("^data:image/(%a+)")
    if kind == "png" or kind == "gif" or kind == "jpeg" or kind == "webp" then return url end
  end
  return nil
end

-- Fills {{name}} with values[name] escaped and {{{name}}} with it as it is
-- (for HTML built elsewhere); a missing value is the empty string. Dotted
-- names reach into tables: {{file.name}}.
function html.fill(template, values)
  local function lookup(name)
    local value = values
    for key in name:gmatch("[^.]+") do
      if type(value) ~= "table" then return nil end
      value = value[key]
    end
    return value
  end
  -- one pass, so text a value inserts is never read as a placeholder
  return (template:gsub("{{({?)%s*([%w_.]+)%s*(}?)}}", function(open, name, close)
    local value = lookup(name)
    if open == "{" and close == "}" then return value == nil and "" or tostring(value) end
    return open .. html.escape(value) .. close
  end))
end

return html
