// Markdown for model output and user messages, rendered so that nothing in them can run:
//
// 1. escape first: raw HTML in the source (block or inline) is printed as text, never parsed,
//    so `<img src=x onerror=...>` shows up as exactly that;
// 2. the HTML that marked generates then goes through DOMPurify with a short allow-list of
//    tags and attributes (no images: a URL in model output must not load by itself, which could
//    leak the conversation to a third party; only http(s)/mailto links, opened in a new tab
//    without a referrer; `class` only as marked's `language-*` on code blocks, so content
//    cannot borrow the UI's own classes, e.g. fake a "cached" badge).
//
// The page's Content-Security-Policy (web_static) forbids inline scripts as a second fence.

import DOMPurify from "dompurify";
import { Marked, type Tokens } from "marked";

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ESCAPES[ch] ?? ch);
}

const SAFE_URL = /^(?:https?:|mailto:)/i;

const marked = new Marked({
  gfm: true,
  breaks: true,
  async: false,
  renderer: {
    html({ text }: Tokens.HTML | Tokens.Tag): string {
      return escapeHtml(text);
    },
    image({ href, text }: Tokens.Image): string {
      const label = escapeHtml(text || href);
      return SAFE_URL.test(href) ? `<a href="${escapeHtml(href)}">${label}</a>` : label;
    },
  },
});

const ALLOWED_TAGS = [
  "a",
  "b",
  "blockquote",
  "br",
  "code",
  "del",
  "em",
  "h1",
  "h2",
  "h3",
  "h4",
  "h5",
  "h6",
  "hr",
  "i",
  "li",
  "ol",
  "p",
  "pre",
  "s",
  "strong",
  "table",
  "tbody",
  "td",
  "th",
  "thead",
  "tr",
  "ul",
];
const ALLOWED_ATTR = ["href", "title", "class", "start", "align"];
const LANGUAGE_CLASS = /^language-[\w+#.-]{1,40}$/;

let hooksInstalled = false;

function installHooks(): void {
  if (hooksInstalled) {
    return;
  }
  hooksInstalled = true;
  DOMPurify.addHook("uponSanitizeAttribute", (node, data) => {
    if (data.attrName === "class" && !(node.nodeName === "CODE" && LANGUAGE_CLASS.test(data.attrValue))) {
      data.keepAttr = false;
    }
    if (data.attrName === "href" && !SAFE_URL.test(data.attrValue.trim())) {
      data.keepAttr = false;
    }
  });
  DOMPurify.addHook("afterSanitizeAttributes", (node) => {
    if (node.nodeName === "A") {
      node.setAttribute("target", "_blank");
      node.setAttribute("rel", "noopener noreferrer nofollow");
    }
  });
}

/** Sanitized HTML for a markdown source. */
export function renderMarkdown(source: string): string {
  installHooks();
  const html = marked.parse(source, { async: false });
  return DOMPurify.sanitize(html, {
    ALLOWED_TAGS,
    ALLOWED_ATTR,
    ALLOW_DATA_ATTR: false,
    ALLOW_ARIA_ATTR: false,
  });
}
