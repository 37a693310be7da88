local html = require("leither.html")

describe("leither.html", function()
  it("escapes the characters that make markup", function()
    assert.equal("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; it&#39;s",
      html.escape([[<script>alert("x")</script> & it's]]))
  end)

  it("escapes nil as the empty string and other values as their text", function()
    assert.equal("", html.escape(nil))
    assert.equal("42", html.escape(42))
  end)

  it("escapes attribute values so they cannot leave their quotes", function()
    local value = [[x" onmouseover="alert(1)]]
    local tag = '<a title="' .. html.attr(value) .. '">'
    assert.equal('<a title="x&quot; onmouseover=&quot;alert(1)">', tag)
  end)

  describe("safe_url", function()
    it("keeps http, https, mailto and relative URLs", function()
      for _, url in ipairs({ "http://a.b/", "HTTPS://a.b/c?d=e", "mailto:me@x.org", "/mm/MID/a.png", "b/c", "#top", "?raw=1" }) do
        assert.equal(url, html.safe_url(url))
      end
    end)

    it("refuses script and other schemes however they are spelled", function()
      for _, url in ipairs({ "javascript:alert(1)", "JavaScript:alert(1)", " javascript:x", "java\tscript:x",
                             "vbscript:x", "data:text/html,<script>", "file:///etc/passwd" }) do
        assert.is_nil(html.safe_url(url), url)
      end
    end)

    it("allows raster data: images only where images were asked for", function()
      assert.is_nil(html.safe_url("data:image/png;base64,AAAA"))
      assert.equal("data:image/png;base64,AAAA", html.safe_url("data:image/png;base64,AAAA", true))
      assert.is_nil(html.safe_url("data:image/svg+xml,<svg onload=alert(1)>", true))
    end)
  end)

  describe("fill", function()
    it("escapes {{name}} and inserts {{{name}}} as it is", function()
      assert.equal("<h1>&lt;b&gt;</h1><b>ok</b>",
        html.fill("<h1>{{title}}</h1>{{{body}}}", { title = "<b>", body = "<b>ok</b>" }))
    end)

    it("reaches into tables with dotted names and leaves missing values empty", function()
      assert.equal("a.txt (3) []", html.fill("{{file.name}} ({{file.size}}) [{{missing}}{{file.x.y}}]",
        { file = { name = "a.txt", size = 3 } }))
    end)

    it("does not expand placeholders that a value brings in", function()
      assert.equal("{{secret}} / &lt;{{secret}}&gt;",
        html.fill("{{{a}}} / {{b}}", { a = "{{secret}}", b = "<{{secret}}>", secret = "leak" }))
    end)
  end)
end)
