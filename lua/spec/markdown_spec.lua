local markdown = require("leither.markdown")
local render = markdown.render

-- Each case: markdown in, the HTML a reader's browser gets.
local function renders(cases)
  for _, case in ipairs(cases) do
    it(case[1], function() assert.equal(case[3], render(case[2])) end)
  end
end

describe("leither.markdown", function()
  describe("headings", renders {
    { "ATX levels 1 to 6", "# One\n###### Six", "<h1>One</h1>\n<h6>Six</h6>\n" },
    { "a closing run of # is dropped", "## Title ##", "<h2>Title</h2>\n" },
    { "seven # or no space is text", "####### no\n#tag", "<p>####### no\n#tag</p>\n" },
    { "setext with = and -", "Big\n===\nSmall\n---", "<h1>Big</h1>\n<h2>Small</h2>\n" },
    { "inline markup inside", "# A *b*", "<h1>A <em>b</em></h1>\n" },
  })

  describe("paragraphs and breaks", renders {
    { "blank lines separate paragraphs", "one\ntwo\n\nthree", "<p>one\ntwo</p>\n<p>three</p>\n" },
    { "two trailing spaces make a hard break", "a  \nb", "<p>a<br />\nb</p>\n" },
    { "a trailing backslash makes a hard break", "a\\\nb", "<p>a<br />\nb</p>\n" },
    { "one trailing space is a soft break", "a \nb", "<p>a\nb</p>\n" },
    { "CRLF line ends", "a\r\n\r\nb", "<p>a</p>\n<p>b</p>\n" },
    { "empty input", "", "" },
  })

  describe("emphasis", renders {
    { "em and strong", "*a* _b_ **c** __d__", "<p><em>a</em> <em>b</em> <strong>c</strong> <strong>d</strong></p>\n" },
    { "both at once", "***a***", "<p><em><strong>a</strong></em></p>\n" },
    { "nested", "*a **b** c*", "<p><em>a <strong>b</strong> c</em></p>\n" },
    { "underscores inside words stay", "snake_case_name", "<p>snake_case_name</p>\n" },
    { "stars inside words work", "un*frigging*believable", "<p>un<em>frigging</em>believable</p>\n" },
    { "spaced stars stay", "a * b * c", "<p>a * b * c</p>\n" },
    { "unmatched runs stay as text", "**a *b", "<p>**a *b</p>\n" },
    { "backslash escapes", "\\*a\\* \\_b\\_", "<p>*a* _b_</p>\n" },
  })

  describe("code", renders {
    { "inline code is escaped and not parsed", "`<b> *x*`", "<p><code>&lt;b&gt; *x*</code></p>\n" },
    { "longer backtick runs hold backticks", "`` a`b ``", "<p><code>a`b</code></p>\n" },
    { "an unclosed backtick is text", "a `b", "<p>a `b</p>\n" },
    { "fenced with a language", "```lua\nlocal x = 1 < 2\n\nreturn x\n```",
      '<pre><code class="language-lua">local x = 1 &lt; 2\n\nreturn x\n</code></pre>\n' },
    { "tilde fences and a longer closing fence", "~~~\n```\n~~~~", "<pre><code>```\n</code></pre>\n" },
    { "an unclosed fence runs to the end", "```\na", "<pre><code>a\n</code></pre>\n" },
    { "indented code", "    # not a heading\n      <x>\n\n    end", "<pre><code># not a heading\n  &lt;x&gt;\n\nend\n</code></pre>\n" },
    { "indented lines go on a paragraph", "text\n    more", "<p>text\nmore</p>\n" },
  })

  describe("block quotes", renders {
    { "with blocks inside", "> # H\n> text", "<blockquote>\n<h1>H</h1>\n<p>text</p>\n</blockquote>\n" },
    { "a lazy line continues the paragraph", "> a\nb", "<blockquote>\n<p>a\nb</p>\n</blockquote>\n" },
    { "nested", "> a\n>> b", "<blockquote>\n<p>a</p>\n<blockquote>\n<p>b</p>\n</blockquote>\n</blockquote>\n" },
  })

  describe("lists", renders {
    { "unordered, tight", "- a\n- b", "<ul>\n<li>a</li>\n<li>b</li>\n</ul>\n" },
    { "ordered with its start", "3. a\n4. b", '<ol start="3">\n<li>a</li>\n<li>b</li>\n</ol>\n' },
    { "ordered from 1 has no start", "1) a", "<ol>\n<li>a</li>\n</ol>\n" },
    { "nested", "- a\n  1. b\n  2. c\n- d",
      "<ul>\n<li>a\n<ol>\n<li>b</li>\n<li>c</li>\n</ol></li>\n<li>d</li>\n</ul>\n" },
    { "loose when items are apart", "* a\n\n* b", "<ul>\n<li>\n<p>a</p>\n</li>\n<li>\n<p>b</p>\n</li>\n</ul>\n" },
    { "an item with two paragraphs", "- a\n\n  b", "<ul>\n<li>\n<p>a</p>\n<p>b</p>\n</li>\n</ul>\n" },
    { "another marker starts another list", "- a\n+ b", "<ul>\n<li>a</li>\n</ul>\n<ul>\n<li>b</li>\n</ul>\n" },
    { "a number in a paragraph does not start a list", "in\n1986. a year", "<p>in\n1986. a year</p>\n" },
    { "text after a blank line ends the list", "- a\n\nafter", "<ul>\n<li>a</li>\n</ul>\n<p>after</p>\n" },
  })

  describe("rules", renders {
    { "three or more of - * _", "---\n* * *\n___", "<hr />\n<hr />\n<hr />\n" },
    { "a rule between list items ends the list", "- a\n***\n- b", "<ul>\n<li>a</li>\n</ul>\n<hr />\n<ul>\n<li>b</li>\n</ul>\n" },
  })

  describe("links and images", renders {
    { "an inline link with a title", '[the site](https://x.org/a?b=1&c=2 "Home")',
      '<p><a href="https://x.org/a?b=1&amp;c=2" title="Home">the site</a></p>\n' },
    { "a link's text is markdown", "[*a* `b`](/p)", '<p><a href="/p"><em>a</em> <code>b</code></a></p>\n' },
    { "parentheses in a destination", "[w](https://en.wikipedia.org/wiki/Lua_(language))",
      '<p><a href="https://en.wikipedia.org/wiki/Lua_(language)">w</a></p>\n' },
    { "an image, alt as plain text", '![a *cat*](cat.png "Tom")', '<p><img src="cat.png" alt="a cat" title="Tom" /></p>\n' },
    { "an image inside a link", "[![b](b.svg)](https://ci)", '<p><a href="https://ci"><img src="b.svg" alt="b" /></a></p>\n' },
    { "autolinks", "<https://x.org> <me@x.org>",
      '<p><a href="https://x.org">https://x.org</a> <a href="mailto:me@x.org">me@x.org</a></p>\n' },
    { "brackets without a destination are text", "[a] [b] (c)", "<p>[a] [b] (c)</p>\n" },
    { "javascript: links lose their URL", "[click](javascript:alert(1)) [x](JAVASCRIPT:y)", "<p>click x</p>\n" },
    { "script images lose their URL", "![pic](javascript:alert(1))", "<p>pic</p>\n" },
    { "a quote in a URL cannot end the attribute", '[a](/x"onclick="y)', '<p><a href="/x&quot;onclick=&quot;y">a</a></p>\n' },
  })

  describe("raw HTML", renders {
    { "is shown, not run", "<script>alert(1)</script>", "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>\n" },
    { "inside a block", "# <img src=x onerror=alert(1)>", "<h1>&lt;img src=x onerror=alert(1)&gt;</h1>\n" },
    { "entity references pass, bare ampersands are escaped", "&copy; &#169; & AT&T", "<p>&copy; &#169; &amp; AT&amp;T</p>\n" },
  })

  it("renders a whole document", function()
    local doc = table.concat({
      "# Notes", "", "Intro with a [link](http://a).", "", "- one", "- two", "",
      "```sh", "make test", "```", "", "> said", "", "---",
    }, "\n")
    assert.equal(table.concat({
      "<h1>Notes</h1>", '<p>Intro with a <a href="http://a">link</a>.</p>',
      "<ul>", "<li>one</li>", "<li>two</li>", "</ul>",
      '<pre><code class="language-sh">make test', "</code></pre>",
      "<blockquote>", "<p>said</p>", "</blockquote>", "<hr />", "",
    }, "\n"), render(doc))
  end)

  it("stays fast on text built to make parsers quadratic", function()
    local started = os.clock()
    for _, text in ipairs({ ("[a]("):rep(5000), ("*a "):rep(20000), ("["):rep(20000), ("``a`"):rep(20000),
                            ("[x](u \""):rep(5000), ("["):rep(3000) .. "a" .. ("](u)"):rep(3000) }) do
      render(text)
    end
    assert.is_true(os.clock() - started < 2, "took " .. (os.clock() - started) .. " s")
  end)

  it("refuses what is not text", function()
    assert.has_error(function() render(nil) end)
  end)
end)
