-- Markdown to HTML, for rendering text people store in MiMei.
--
-- Safe by construction: raw HTML in the source is escaped, never passed
-- through, and links or images whose URL has a scheme other than http(s),
-- mailto or ftp lose their URL (html.safe_url). It follows CommonMark for
-- what it covers: ATX and setext headings, paragraphs, emphasis and strong
-- (* and _, with the delimiter-run rules), inline code, fenced and indented
-- code blocks, block quotes, ordered and unordered lists (nested, tight or
-- loose), inline links and images, autolinks, horizontal rules, hard line
-- breaks, backslash escapes and entity references. Not covered: reference
-- links, tables, raw HTML.
--
-- markdown.render(text) -> html

local html = require("leither.html")
local escape = html.escape

local markdown = {}

---------------------------------------------------------------------------
-- Inline content

local PUNCTUATION = "[!\"#$%%&'()*+,%-./:;<=>?@%[\\%]^_`{|}~]"

local function is_space(c) return c == "" or c:match("^%s$") ~= nil end
local function is_punct(c) return c ~= "" and c:match("^" .. PUNCTUATION .. "$") ~= nil end

-- An entity reference is passed through: the browser turns it into one
-- character, never into markup.
local function entity_at(s, i)
  return s:match("^&#[xX]%x%x?%x?%x?%x?%x?;", i) or s:match("^&#%d%d?%d?%d?%d?%d?%d?;", i)
      or s:match("^&%a[%w]*;", i)
end

-- Where code spans and link brackets close, found in one pass over the
-- text so that many unclosed ones cost no more than a scan each (a [ or `
-- that searched to the end every time would make rendering quadratic).
local function scan_closers(s)
  local runs_of_length = {}   -- backtick run length -> start positions, ascending
  for start, run in s:gmatch("()(`+)") do
    local list = runs_of_length[#run]
    if not list then
      list = {}
      runs_of_length[#run] = list
    end
    list[#list + 1] = start
  end

  -- the start of the first run of n backticks after position i, or nil
  local function code_close(i, n)
    local list = runs_of_length[n]
    if not list then return nil end
    local low, high = 1, #list
    while low <= high do
      local mid = (low + high) // 2
      if list[mid] <= i then low = mid + 1 else high = mid - 1 end
    end
    return list[low]
  end

  local bracket_close, open = {}, {}
  local j = 1
  while j <= #s do
    local c = s:sub(j, j)
    if c == "\\" then
      j = j + 2
    elseif c == "`" then
      local run = s:match("^`+", j)
      local close = code_close(j, #run)
      j = close and close + #run or j + #run
    elseif c == "[" then
      open[#open + 1] = j
      j = j + 1
    elseif c == "]" then
      if #open > 0 then
        bracket_close[open[#open]] = j
        open[#open] = nil
      end
      j = j + 1
    else
      j = j + 1
    end
  end
  return code_close, bracket_close
end

local function unescape(s)
  return (s:gsub("\\(" .. PUNCTUATION .. ")", "%1"))
end

-- Parses "(destination "title")" at i; returns url, title, index after ")".
-- failed_titles[closing char] is where a title search once ran off the end:
-- one starting later cannot succeed either, so it is not run again.
local function link_target(s, i, failed_titles)
  if s:sub(i, i) ~= "(" then return nil end
  local j = s:match("^%s*()", i + 1)
  local url
  if s:sub(j, j) == "<" then
    local inner, after = s:match("^<([^<>\n]*)>()", j)
    if not inner then return nil end
    url, j = inner, after
  else
    -- a destination without spaces; parentheses inside must balance
    local depth, k = 0, j
    while k <= #s do
      local c = s:sub(k, k)
      if c == "\\" and k < #s then
        k = k + 2
      elseif c:match("[%s%c]") then
        break
      elseif c == "(" then
        depth = depth + 1
        -- CommonMark's bound; it also keeps "[a](" repeated from scanning on
        if depth > 32 then return nil end
        k = k + 1
      elseif c == ")" then
        if depth == 0 then break end
        depth = depth - 1
        k = k + 1
      else
        k = k + 1
      end
    end
    url, j = s:sub(j, k - 1), k
  end
  local title
  local spaced = s:match("^%s+()", j)
  if spaced then
    local quote = s:sub(spaced, spaced)
    local closing = ({ ['"'] = '"', ["'"] = "'", ["("] = ")" })[quote]
    if closing then
      local k = spaced + 1
      if failed_titles[closing] and k >= failed_titles[closing] then return nil end
      while k <= #s and s:sub(k, k) ~= closing do
        k = k + (s:sub(k, k) == "\\" and 2 or 1)
      end
      if k > #s then
        failed_titles[closing] = spaced + 1
        return nil
      end
      title = s:sub(spaced + 1, k - 1)
      j = k + 1
    end
  end
  j = s:match("^%s*()", j)
  if s:sub(j, j) ~= ")" then return nil end
  return unescape(url), title and unescape(title), j + 1
end

local render_inline

-- Plain text of inline markdown, for an image's alt attribute.
local UNESCAPES = { amp = "&", lt = "<", gt = ">", quot = '"', ["#39"] = "'" }

local function plain_text(s, depth)
  local text = render_inline(s, depth):gsub("<[^>]*>", ""):gsub("&(#?%w+);", function(name)
    return UNESCAPES[name]
  end)
  return text
end

-- Spaces (allowed in <...> destinations) are not valid in an href as such.
local function encode_spaces(url)
  return (url:gsub(" ", "%%20"))
end

local function link_html(text_html, url, title)
  local safe = html.safe_url(encode_spaces(url))
  if not safe then return text_html end
  local title_attr = title and (' title="' .. escape(title) .. '"') or ""
  return '<a href="' .. escape(safe) .. '"' .. title_attr .. ">" .. text_html .. "</a>"
end

local function image_html(alt, url, title)
  local safe = html.safe_url(encode_spaces(url), true)
  if not safe then return escape(alt) end
  local title_attr = title and (' title="' .. escape(title) .. '"') or ""
  return '<img src="' .. escape(safe) .. '" alt="' .. escape(alt) .. '"' .. title_attr .. " />"
end

-- Emphasis: a delimiter run of * or _ becomes a node; process_emphasis pairs
-- closers with the nearest fitting opener (CommonMark's algorithm) and hangs
-- the tags on both. Other inline content is already HTML in its own node.
local function delimiter_flags(char, before, after)
  local left = not is_space(after) and (not is_punct(after) or is_space(before) or is_punct(before))
  local right = not is_space(before) and (not is_punct(before) or is_space(after) or is_punct(after))
  if char == "*" then return left, right end
  return left and (not right or is_punct(before)), right and (not left or is_punct(after))
end

local function process_emphasis(first)
  -- where the search for an opener may stop, per kind of closer: a closer
  -- that found nothing once finds nothing further back the next time
  local bottom = {}
  local closer = first
  while closer do
    if closer.delim and closer.can_close and closer.count > 0 then
      local key = closer.delim .. (closer.length % 3) .. (closer.can_open and "o" or "")
      local opener = closer.prev_delim
      local stop = bottom[key]
      while opener and opener ~= stop do
        if opener.delim == closer.delim and opener.can_open and opener.count > 0 then
          -- the "rule of 3": a run that can open and close only pairs with
          -- one whose length keeps the sum off a multiple of 3
          local both = opener.can_close or closer.can_open
          if not (both and (opener.length + closer.length) % 3 == 0
              and not (opener.length % 3 == 0 and closer.length % 3 == 0)) then
            break
          end
        end
        opener = opener.prev_delim
      end
      if opener and opener ~= stop then
        local strong = opener.count >= 2 and closer.count >= 2
        local used = strong and 2 or 1
        local tag = strong and "strong" or "em"
        opener.count = opener.count - used
        closer.count = closer.count - used
        table.insert(opener.opens, 1, "<" .. tag .. ">")
        closer.closes[#closer.closes + 1] = "</" .. tag .. ">"
        -- runs between them can no longer pair with anything outside:
        -- unlink them from the chain later closers search
        closer.prev_delim = opener
        if closer.count == 0 then closer = closer.next_delim end
      else
        bottom[key] = closer.prev_delim
        closer = closer.next_delim
      end
    else
      closer = closer.next_delim
    end
  end
end

-- depth: 0 for a block's text, more inside a link's text or an image's alt.
-- Links do not nest, and images nest only once: that also bounds the
-- recursion, so bracket-heavy text stays linear.
render_inline = function(s, depth)
  depth = depth or 0
  local failed_titles = {}
  local code_close, bracket_close = scan_closers(s)
  local nodes = {}
  local first_delim, last_delim
  local text = {}

  local function flush()
    if #text > 0 then
      nodes[#nodes + 1] = { html = table.concat(text) }
      text = {}
    end
  end
  local function add(piece) text[#text + 1] = piece end

  local i, n = 1, #s
  while i <= n do
    local c = s:sub(i, i)
    if c == "\\" then
      local next_char = s:sub(i + 1, i + 1)
      if next_char == "\n" then
        add("<br />\n")
        i = i + 2
      elseif is_punct(next_char) then
        add(escape(next_char))
        i = i + 2
      else
        add("\\")
        i = i + 1
      end
    elseif c == "`" then
      local run = s:match("^`+", i)
      local close = code_close(i, #run)
      if close then
        local code = s:sub(i + #run, close - 1):gsub("\n", " ")
        if code:match("^ .* $") and code:match("[^ ]") then code = code:sub(2, -2) end
        add("<code>" .. escape(code) .. "</code>")
        i = close + #run
      else
        add(run)
        i = i + #run
      end
    elseif c == "*" or c == "_" then
      local run = s:match("^%" .. c .. "+", i)
      local before = i > 1 and s:sub(i - 1, i - 1) or ""
      local after = s:sub(i + #run, i + #run)
      local can_open, can_close = delimiter_flags(c, before, after)
      flush()
      local node = { delim = c, length = #run, count = #run, can_open = can_open, can_close = can_close,
                     opens = {}, closes = {}, prev_delim = last_delim }
      if last_delim then last_delim.next_delim = node else first_delim = node end
      last_delim = node
      nodes[#nodes + 1] = node
      i = i + #run
    elseif c == "!" and s:sub(i + 1, i + 1) == "[" and depth < 2 then
      local close = bracket_close[i + 1]
      local url, title, after
      if close then url, title, after = link_target(s, close + 1, failed_titles) end
      if url then
        add(image_html(plain_text(s:sub(i + 2, close - 1), depth + 1), url, title))
        i = after
      else
        add("!")
        i = i + 1
      end
    elseif c == "[" and depth == 0 then
      local close = bracket_close[i]
      local url, title, after
      if close then url, title, after = link_target(s, close + 1, failed_titles) end
      if url then
        -- the text is parsed on its own: emphasis does not cross a link's edge
        add(link_html(render_inline(s:sub(i + 1, close - 1), depth + 1), url, title))
        i = after
      else
        add("[")
        i = i + 1
      end
    elseif c == "<" and depth == 0 then
      local url, after = s:match("^<([%a][%w+.%-]+:[^%s<>]*)>()", i)
      local email
      if not url then
        email, after = s:match("^<([%w.!#$%%&'*+/=?^_`{|}~%-]+@[%w%-]+[%w.%-]*)>()", i)
      end
      if url and html.safe_url(url) then
        add('<a href="' .. escape(url) .. '">' .. escape(url) .. "</a>")
        i = after
      elseif email then
        add('<a href="mailto:' .. escape(email) .. '">' .. escape(email) .. "</a>")
        i = after
      else
        add("&lt;")
        i = i + 1
      end
    elseif c == "&" then
      local entity = entity_at(s, i)
      add(entity or "&amp;")
      i = i + (entity and #entity or 1)
    elseif c == "\n" then
      -- two spaces before a line end make a hard break
      local spaces = 0
      local t = text[#text]
      if t then
        local trailing = t:match(" +$")
        if trailing then
          spaces = #trailing
          text[#text] = t:sub(1, -spaces - 1)
        end
      end
      add(spaces >= 2 and "<br />\n" or "\n")
      i = i + 1
    else
      local plain = s:match("^[^\\`*_!%[<&\n]+", i) or c
      add(escape(plain))
      i = i + #plain
    end
  end
  flush()

  process_emphasis(first_delim)

  local out = {}
  for _, node in ipairs(nodes) do
    if node.delim then
      out[#out + 1] = table.concat(node.closes)
      out[#out + 1] = string.rep(node.delim, node.count)
      out[#out + 1] = table.concat(node.opens)
    else
      out[#out + 1] = node.html
    end
  end
  return table.concat(out)
end

---------------------------------------------------------------------------
-- Blocks

local function is_blank(line) return line:match("^%s*$") ~= nil end

local function indent_of(line) return #line:match("^ *") end

local function atx_heading(line)
  local hashes, rest = line:match("^ ? ? ?(#+)(.*)$")
  if not hashes or #hashes > 6 then return nil end
  if rest ~= "" and not rest:match("^[ \t]") then return nil end
  rest = rest:gsub("^%s+", ""):gsub("%s+$", "")
  -- a closing run of # goes, when it stands apart from the text
  if rest:match("^#+$") then
    rest = ""
  else
    rest = rest:gsub("%s+#+$", "")
  end
  return #hashes, rest
end

local function is_hr(line)
  local char = line:match("^ ? ? ?([-*_])")
  if not char then return false end
  local rest = line:gsub("%s", "")
  return #rest >= 3 and rest:match("^%" .. char .. "+$") ~= nil
end

local function fence_open(line)
  local indent, fence, info = line:match("^( ? ? ?)(```+)([^`]*)$")
  if not fence then indent, fence, info = line:match("^( ? ? ?)(~~~+)(.*)$") end
  if not fence then return nil end
  return { indent = #indent, char = fence:sub(1, 1), length = #fence, info = info:match("^%s*(.-)%s*$") }
end

local function setext_level(line)
  if line:match("^ ? ? ?=+%s*$") then return 1 end
  if line:match("^ ? ? ?%-+%s*$") then return 2 end
end

-- A list item's marker: {ordered=, char=, start=, content=, width=} where
-- width is the column the item's content starts at.
local function list_marker(line)
  local indent, bullet, spaces, content = line:match("^( ? ? ?)([-+*])( *)(.*)$")
  local ordered, number, char
  if not bullet then
    indent, number, char, spaces, content = line:match("^( ? ? ?)(%d%d?%d?%d?%d?%d?%d?%d?%d?)([.)])( *)(.*)$")
    if not number then return nil end
    ordered = true
  else
    char = bullet
  end
  local marker_width = #indent + (ordered and #number + 1 or 1)
  if content ~= "" and spaces == "" then return nil end
  if content == "" then
    return { ordered = ordered, char = char, start = tonumber(number), content = "", width = marker_width + 1, empty = true }
  end
  -- five or more spaces: the item starts with indented code, one space is the gap
  if #spaces > 4 then
    return { ordered = ordered, char = char, start = tonumber(number), content = spaces:sub(2) .. content,
             width = marker_width + 1 }
  end
  return { ordered = ordered, char = char, start = tonumber(number), content = content, width = marker_width + #spaces }
end

-- Whether line ends a paragraph before it (CommonMark: an ordered list
-- interrupts only when it starts at 1, an empty item never does).
local function interrupts_paragraph(line)
  if is_blank(line) or atx_heading(line) or fence_open(line) or is_hr(line) then return true end
  if line:match("^ ? ? ?>") then return true end
  local marker = list_marker(line)
  return marker ~= nil and not marker.empty and (not marker.ordered or marker.start == 1)
end

-- Leading tabs become spaces up to the next multiple of 4, so indentation
-- counts the same whichever was typed.
local function expand_leading_tabs(line)
  local lead, rest = line:match("^([ \t]*)(.*)$")
  if not lead:find("\t") then return line end
  local column = 0
  for c in lead:gmatch(".") do
    column = c == "\t" and (column - column % 4 + 4) or column + 1
  end
  return string.rep(" ", column) .. rest
end

local parse_blocks

-- lines -> array of blocks: {kind="paragraph"|"heading"|"code"|"hr"|"quote"|"list", ...}.
-- Also says whether a blank line separated two of its blocks (a list item
-- with that makes its list loose).
parse_blocks = function(lines)
  local blocks, i, blank_between = {}, 1, false
  local seen_blank = false
  while i <= #lines do
    local line = lines[i]
    local fence = fence_open(line)
    local level, heading_text = atx_heading(line)
    local marker = list_marker(line)
    if is_blank(line) then
      seen_blank = true
      i = i + 1
    else
      if seen_blank and #blocks > 0 then blank_between = true end
      seen_blank = false
      if fence then
        local body = {}
        i = i + 1
        while i <= #lines do
          local close = lines[i]:match("^ ? ? ?(" .. (fence.char == "`" and "`" or "~") .. "+)%s*$")
          if close and #close >= fence.length then
            i = i + 1
            break
          end
          -- the opening fence's indentation is taken off the code
          local text = lines[i]
          local remove = math.min(fence.indent, indent_of(text))
          body[#body + 1] = text:sub(remove + 1)
          i = i + 1
        end
        local language = fence.info:match("^(%S+)")
        blocks[#blocks + 1] = { kind = "code", text = table.concat(body, "\n"), language = language and unescape(language) }
      elseif indent_of(line) >= 4 then
        local body = {}
        while i <= #lines and (indent_of(lines[i]) >= 4 or is_blank(lines[i])) do
          body[#body + 1] = lines[i]:sub(5)
          i = i + 1
        end
        while #body > 0 and is_blank(body[#body]) do
          body[#body] = nil
        end
        blocks[#blocks + 1] = { kind = "code", text = table.concat(body, "\n") }
      elseif level then
        blocks[#blocks + 1] = { kind = "heading", level = level, text = heading_text }
        i = i + 1
      elseif is_hr(line) then
        blocks[#blocks + 1] = { kind = "hr" }
        i = i + 1
      elseif line:match("^ ? ? ?>") then
        local inner = {}
        local lazy_ok = false
        while i <= #lines do
          local quoted = lines[i]:match("^ ? ? ?> ?(.*)$")
          if quoted then
            inner[#inner + 1] = quoted
            lazy_ok = not is_blank(quoted) and not fence_open(quoted) and indent_of(quoted) < 4
          elseif lazy_ok and not interrupts_paragraph(lines[i]) then
            -- a lazy line: it goes on with the quote's paragraph
            inner[#inner + 1] = lines[i]
          else
            break
          end
          i = i + 1
        end
        blocks[#blocks + 1] = { kind = "quote", children = (parse_blocks(inner)) }
      elseif marker then
        local list = { kind = "list", ordered = marker.ordered, start = marker.start, items = {}, loose = false }
        local item_lines, width = { marker.content }, marker.width
        local blank_run = 0
        local function close_item()
          while #item_lines > 0 and is_blank(item_lines[#item_lines]) do item_lines[#item_lines] = nil end
          local children, inner_blank = parse_blocks(item_lines)
          if inner_blank then list.loose = true end
          list.items[#list.items + 1] = children
        end
        i = i + 1
        while i <= #lines do
          local next_line = lines[i]
          local next_marker = list_marker(next_line)
          if is_blank(next_line) then
            blank_run = blank_run + 1
            item_lines[#item_lines + 1] = ""
          elseif indent_of(next_line) >= width then
            blank_run = 0
            item_lines[#item_lines + 1] = next_line:sub(width + 1)
          elseif next_marker and next_marker.ordered == marker.ordered and next_marker.char == marker.char
              and not is_hr(next_line) then
            if blank_run > 0 then list.loose = true end
            blank_run = 0
            close_item()
            item_lines, width = { next_marker.content }, next_marker.width
          elseif blank_run == 0 and not interrupts_paragraph(next_line) and not is_blank(item_lines[#item_lines]) then
            item_lines[#item_lines + 1] = next_line
          else
            break
          end
          i = i + 1
        end
        close_item()
        -- blank lines after the last item belong to no one
        blocks[#blocks + 1] = list
        if blank_run > 0 then seen_blank = true end
      else
        local text = { (line:gsub("^%s+", "")) }
        i = i + 1
        local heading
        while i <= #lines do
          local next_line = lines[i]
          local setext = setext_level(next_line)
          if setext then
            heading = setext
            i = i + 1
            break
          end
          if interrupts_paragraph(next_line) then break end
          text[#text + 1] = (next_line:gsub("^%s+", ""))
          i = i + 1
        end
        local joined = table.concat(text, "\n"):gsub("%s+$", "")
        if heading then
          blocks[#blocks + 1] = { kind = "heading", level = heading, text = joined }
        else
          blocks[#blocks + 1] = { kind = "paragraph", text = joined }
        end
      end
    end
  end
  return blocks, blank_between
end

local render_blocks

local function render_block(block, tight, out)
  local kind = block.kind
  if kind == "paragraph" then
    if tight then
      out[#out + 1] = render_inline(block.text)
    else
      out[#out + 1] = "<p>" .. render_inline(block.text) .. "</p>"
    end
  elseif kind == "heading" then
    out[#out + 1] = string.format("<h%d>%s</h%d>", block.level, render_inline(block.text), block.level)
  elseif kind == "code" then
    local class = block.language and (' class="language-' .. escape(block.language) .. '"') or ""
    local text = block.text ~= "" and block.text .. "\n" or ""
    out[#out + 1] = "<pre><code" .. class .. ">" .. escape(text) .. "</code></pre>"
  elseif kind == "hr" then
    out[#out + 1] = "<hr />"
  elseif kind == "quote" then
    out[#out + 1] = "<blockquote>\n" .. render_blocks(block.children, false) .. "</blockquote>"
  elseif kind == "list" then
    local tag = block.ordered and "ol" or "ul"
    local start = (block.ordered and block.start ~= 1) and (' start="' .. block.start .. '"') or ""
    local items = {}
    for _, children in ipairs(block.items) do
      local inner = render_blocks(children, not block.loose)
      if not block.loose then
        -- a tight item's text sits right after <li>; blocks after it on lines of their own
        inner = inner:gsub("\n$", "")
        items[#items + 1] = "<li>" .. inner .. "</li>"
      else
        items[#items + 1] = "<li>\n" .. inner .. "</li>"
      end
    end
    out[#out + 1] = "<" .. tag .. start .. ">\n" .. table.concat(items, "\n") .. "\n</" .. tag .. ">"
  end
end

render_blocks = function(blocks, tight)
  local out = {}
  for _, block in ipairs(blocks) do render_block(block, tight, out) end
  if #out == 0 then return "" end
  return table.concat(out, "\n") .. "\n"
end

function markdown.render(text)
  if type(text) ~= "string" then error("markdown.render: text must be a string", 2) end
  text = text:gsub("\r\n?", "\n"):gsub("\0", "\u{FFFD}")
  local lines = {}
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    lines[#lines + 1] = expand_leading_tabs(line)
  end
  return render_blocks((parse_blocks(lines)), false)
end

return markdown
