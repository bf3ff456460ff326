// @vitest-environment jsdom
import { describe, expect, it } from "vitest";
import { escapeHtml, renderMarkdown } from "../src/markdown";

function dom(html: string): HTMLElement {
  const div = document.createElement("div");
  div.innerHTML = html;
  return div;
}

describe("renderMarkdown", () => {
  it("renders markdown: emphasis, lists, code blocks with their language", () => {
    const el = dom(renderMarkdown("**bold** and `code`\n\n- one\n- two\n\n```python\nprint('<hi>')\n```"));
    expect(el.querySelector("strong")?.textContent).toBe("bold");
    expect(el.querySelectorAll("li")).toHaveLength(2);
    const code = el.querySelector("pre code");
    expect(code?.className).toBe("language-python");
    expect(code?.textContent).toBe("print('<hi>')\n");
  });

  it("shows raw HTML as text: no element, no handler", () => {
    for (const attack of [
      "<img src=x onerror=alert(1)>",
      "text <img src=x onerror=alert(1)> inline",
      "<script>alert(1)</script>",
      '<a href="javascript:alert(1)">x</a>',
      "<svg onload=alert(1)>",
      "<iframe src=//evil></iframe>",
      '<div style="position:fixed">x</div>',
    ]) {
      const el = dom(renderMarkdown(attack));
      expect(el.querySelector("img, script, svg, iframe, div, [onerror], [onload], [style]")).toBeNull();
      expect(el.textContent).toContain(attack.slice(0, 8));
    }
    expect(dom(renderMarkdown("<img src=x onerror=alert(1)>")).textContent?.trim()).toBe(
      "<img src=x onerror=alert(1)>",
    );
  });

  it("keeps only http(s) and mailto links, opened in a new tab without referrer", () => {
    const el = dom(
      renderMarkdown("[ok](https://example.com) [bad](javascript:alert(1)) [data](data:text/html,x)"),
    );
    const links = [...el.querySelectorAll("a")];
    const ok = links.find((a) => a.textContent === "ok");
    expect(ok?.getAttribute("href")).toBe("https://example.com");
    expect(ok?.getAttribute("target")).toBe("_blank");
    expect(ok?.getAttribute("rel")).toContain("noopener");
    for (const a of links.filter((a) => a.textContent !== "ok")) {
      expect(a.getAttribute("href")).toBeNull();
    }
  });

  it("turns images into links (nothing loads by itself)", () => {
    const el = dom(renderMarkdown("![a cat](https://example.com/cat.png) ![x](javascript:alert(1))"));
    expect(el.querySelector("img")).toBeNull();
    expect(el.querySelector("a")?.getAttribute("href")).toBe("https://example.com/cat.png");
  });

  it("drops classes other than a code block's language (no borrowed UI styles)", () => {
    const el = dom(renderMarkdown('```js" onmouseover="x\nx\n```'));
    expect(el.querySelector("[onmouseover]")).toBeNull();
    expect(dom(renderMarkdown("x")).querySelector("[class]")).toBeNull();
  });

  it("escapes text for HTML", () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe("&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
  });
});
