/**
 * A final answer is Markdown from a task, so hostile: the renderer keeps raw
 * HTML off (every tag escaped), turns no unsafe link into one, loads no
 * image, and still renders the Markdown people write.
 */
import { describe, expect, it } from "vitest";
import { renderMarkdown } from "../../console/src/markdown.js";

describe("renderMarkdown", () => {
  it.each([
    ["a script element", "<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"],
    ["an image with an error handler", '<img src=x onerror="alert(1)">', "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;"],
    ["an inline tag", "Hello <b onclick=alert(1)>there</b>", "Hello &lt;b onclick=alert(1)&gt;there&lt;/b&gt;"],
    ["an HTML block", "<div>\n<iframe src=//evil.example></iframe>\n</div>", "&lt;iframe src=//evil.example&gt;&lt;/iframe&gt;"],
    ["an HTML comment", "<!-- <script>alert(1)</script> -->", "&lt;!-- &lt;script&gt;"],
    ["an SVG with a script", "<svg><script>alert(1)</script></svg>", "&lt;svg&gt;&lt;script&gt;"],
  ])("escapes %s", (_name, markdown, escaped) => {
    const html = renderMarkdown(markdown);
    expect(html).toContain(escaped);
    expect(html).not.toMatch(/<(script|img|b |iframe|svg|div)/i);
  });

  it.each([
    ["javascript:", "[click](javascript:alert(1))"],
    ["JavaScript: with spaces and case", "[click]( JaVaScRiPt:alert(1) )"],
    ["an encoded javascript:", "[click](javascript&#58;alert(1))"],
    ["vbscript:", "[click](vbscript:msgbox(1))"],
    ["data:", "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)"],
    ["file:", "[click](file:///etc/passwd)"],
    ["an autolink to javascript:", "<javascript:alert(1)>"],
  ])("makes no link of %s", (_name, markdown) => {
    const html = renderMarkdown(markdown);
    expect(html).not.toContain("<a");
    expect(html).not.toMatch(/href=/i);
  });

  it("loads no image, even from https: it is a link the person may open", () => {
    const html = renderMarkdown("![chart](https://tracker.example/pixel.png)");
    expect(html).not.toContain("<img");
    expect(html).toContain('<a href="https://tracker.example/pixel.png" target="_blank" rel="noopener noreferrer nofollow">chart</a>');
  });

  it("renders the Markdown answers are written in: headings, lists, code, tables, links that open apart", () => {
    const html = renderMarkdown(
      ["## Done", "", "- fixed `a.ts`", "- **tests** pass", "", "```ts", "const x = 1 < 2;", "```", "", "| file | lines |", "|---|---|", "| a.ts | 3 |", "", "[PR](https://github.com/o/r/pull/1)"].join("\n"),
    );
    expect(html).toContain("<h2>Done</h2>");
    expect(html).toContain("<li>fixed <code>a.ts</code></li>");
    expect(html).toContain("<strong>tests</strong>");
    expect(html).toContain('<code class="language-ts">const x = 1 &lt; 2;\n</code>');
    expect(html).toContain("<td>a.ts</td>");
    expect(html).toContain('<a href="https://github.com/o/r/pull/1" target="_blank" rel="noopener noreferrer nofollow">PR</a>');
  });
});
