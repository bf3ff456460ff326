// A message as the chat view shows it: its state (streaming, interrupted, failed, cached ...)
// and its element: the content (plain text for the user, sanitized markdown for answers), its
// badges, its actions (copy and regenerate an answer, edit a question) and, at a fork, the
// pager of its versions (versions.ts).

import { type Message } from "./api";
import { h, icon, type IconName } from "./dom";
import { renderMarkdown } from "./markdown";
import { versionPager } from "./versions";

export type Status = "complete" | "streaming" | "pending" | "interrupted" | "failed";

export interface UiMessage {
  id: string;
  role: "user" | "assistant";
  content: string;
  status: Status;
  cached: boolean;
  error: string;
  truncated: boolean; // the answer hit max_tokens
  requestId: string; // the turn's client_request_id: how a running answer is followed or stopped
  parentId: string; // the message it follows ("": a first message)
  // The versions at its fork, itself included, oldest first (empty: none). "" stands for a new
  // version whose id the server has not told yet.
  siblingIds: string[];
  el: HTMLElement | null;
}

/** What the buttons of a message do (the chat view decides). */
export interface MessageActions {
  regenerate(answer: UiMessage): void;
  edit(question: UiMessage): void; // opens the editor in place (edit.ts)
  select(message: UiMessage, versionId: string): void; // shows another version's branch
}

function statusOf(message: Message): Status {
  switch (message.status) {
    case "MESSAGE_STATUS_INTERRUPTED":
      return "interrupted";
    case "MESSAGE_STATUS_FAILED":
      return "failed";
    case "MESSAGE_STATUS_PENDING":
    case "MESSAGE_STATUS_QUEUED": // submitted through the API, not generated yet
      return "pending";
    default:
      return "complete";
  }
}

/** Takes a stored message's state (as GetChat, SubmitCompletion or CancelTurn tell it) into a
 * shown one, keeping its element. */
export function takeStored(message: UiMessage, stored: Message): void {
  const fresh = fromStored(stored);
  if (fresh) {
    Object.assign(message, {
      ...fresh,
      el: message.el,
      requestId: fresh.requestId || message.requestId,
      // Only GetChat tells versions, and an append's answer may leave its parent implicit.
      parentId: fresh.parentId || message.parentId,
      siblingIds: fresh.siblingIds.length ? fresh.siblingIds : message.siblingIds,
    });
  }
}

/** The server's id for a new message; it takes its place ("" until then) among its versions. */
export function assignId(message: UiMessage, id: string): void {
  if (!id) {
    return;
  }
  const old = message.id;
  message.siblingIds = message.siblingIds.map((sibling) =>
    sibling === "" || sibling === old ? id : sibling,
  );
  message.id = id;
}

/** A message of a turn being sent: a question, or its answer (streaming until it ends). */
export function newMessage(role: UiMessage["role"], content: string, requestId: string): UiMessage {
  return {
    id: "",
    role,
    content,
    status: role === "user" ? "complete" : "streaming",
    cached: false,
    error: "",
    truncated: false,
    requestId,
    parentId: "",
    siblingIds: [],
    el: null,
  };
}

export function fromStored(message: Message): UiMessage | null {
  if (message.role !== "ROLE_USER" && message.role !== "ROLE_ASSISTANT") {
    return null;
  }
  return {
    id: message.message_id,
    role: message.role === "ROLE_USER" ? "user" : "assistant",
    content: message.content,
    status: statusOf(message),
    cached: message.cached,
    error: message.error,
    truncated: message.finish_reason === "FINISH_REASON_LENGTH",
    requestId: message.client_request_id ?? "",
    parentId: message.parent_id ?? "",
    siblingIds: message.sibling_ids ?? [],
    el: null,
  };
}

export function renderMessage(message: UiMessage, actions: MessageActions): HTMLElement {
  const content = h("div", {
    class: message.role === "user" ? "msg-content plain" : "msg-content markdown",
  });
  const meta = h("div", { class: "msg-meta" });
  const bubble = h("div", { class: "msg-body" }, content, meta);
  const el = h(
    "article",
    {
      class: `msg msg-${message.role}`,
      "data-role": message.role,
      "aria-label": message.role === "user" ? "You said" : "Assistant said",
    },
    message.role === "assistant" ? h("div", { class: "msg-avatar", "aria-hidden": "true" }, "✦") : null,
    bubble,
  );
  message.el = el;
  updateMessage(message, actions);
  return el;
}

/** Redraws a message's content, marks and actions from its state. */
export function updateMessage(message: UiMessage, actions: MessageActions): void {
  const el = message.el;
  if (!el) {
    return;
  }
  el.dataset.status = message.status;
  if (message.id) {
    el.dataset.messageId = message.id;
  }
  el.setAttribute("aria-busy", String(message.status === "streaming"));
  renderContent(message);
  const meta = el.querySelector<HTMLElement>(".msg-meta");
  if (!meta) {
    return;
  }
  meta.replaceChildren();
  const pager = message.siblingIds.length > 1 ? versionPager(message, actions) : null;
  if (pager) {
    meta.append(pager);
  }
  if (message.role === "user") {
    meta.append(editButton(() => actions.edit(message)));
    return;
  }
  if (message.cached) {
    meta.append(cachedBadge());
  }
  appendEndingMarks(meta, message);
  if (message.status !== "streaming" && message.content) {
    meta.append(copyAnswerButton(message));
  }
  meta.append(regenerateButton(() => actions.regenerate(message)));
}

/** Edit, hidden until the chat view shows it (on a stored question, while nothing streams). */
function editButton(onEdit: () => void): HTMLButtonElement {
  return hiddenAction("msg-edit", "Edit message", "Edit", "pencil", onEdit);
}

/** A message's action button, hidden until the chat view shows it. */
function hiddenAction(
  cls: string,
  label: string,
  title: string,
  iconName: IconName,
  onClick: () => void,
): HTMLButtonElement {
  const button = h(
    "button",
    { type: "button", class: `icon-button msg-action ${cls}`, "aria-label": label, title },
    icon(iconName),
  );
  button.hidden = true;
  button.addEventListener("click", onClick);
  return button;
}

/** The badge of an answer that came from the answer cache. */
function cachedBadge(): HTMLElement {
  return h(
    "span",
    {
      class: "badge badge-cached",
      title: "This answer came from the answer cache: the same question was answered before.",
    },
    "cached",
  );
}

/** How an answer ended, if not plainly: stopped, failed (with the error), pending or cut short. */
function appendEndingMarks(meta: HTMLElement, message: UiMessage): void {
  if (message.status === "interrupted") {
    meta.append(
      h(
        "span",
        { class: "badge badge-interrupted", title: "Generation was stopped: the answer is incomplete." },
        "interrupted",
      ),
    );
  } else if (message.status === "failed") {
    meta.append(h("span", { class: "badge badge-failed" }, "failed"));
    meta.append(h("span", { class: "msg-error" }, message.error || "The answer could not be generated."));
  } else if (message.status === "pending") {
    meta.append(
      h(
        "span",
        {
          class: "badge badge-pending",
          title: "The answer was still being generated when the page loaded.",
        },
        "incomplete",
      ),
    );
  } else if (message.truncated) {
    meta.append(
      h(
        "span",
        { class: "badge badge-truncated", title: "The answer reached the length limit." },
        "cut at length limit",
      ),
    );
  }
}

/** Copies the answer's text as it is when clicked. */
function copyAnswerButton(message: UiMessage): HTMLButtonElement {
  const copy = h(
    "button",
    {
      type: "button",
      class: "icon-button msg-action msg-copy",
      "aria-label": "Copy answer",
      title: "Copy",
    },
    icon("copy"),
  );
  copy.addEventListener("click", () => void navigator.clipboard?.writeText(message.content));
  return copy;
}

/** Regenerate, hidden until the chat view shows it (on an answer, while nothing streams). */
function regenerateButton(onRegenerate: () => void): HTMLButtonElement {
  return hiddenAction(
    "msg-regenerate",
    "Regenerate: a fresh answer, not from the cache",
    "Regenerate (fresh answer)",
    "regenerate",
    onRegenerate,
  );
}

export function renderContent(message: UiMessage): void {
  const content = message.el?.querySelector<HTMLElement>(".msg-content");
  if (!content) {
    return;
  }
  if (message.role === "user") {
    content.textContent = message.content; // plain text, as typed
    return;
  }
  if (!message.content && message.status === "streaming") {
    content.replaceChildren(
      h(
        "span",
        { class: "thinking", role: "img", "aria-label": "Thinking" },
        h("span"),
        h("span"),
        h("span"),
      ),
    );
    return;
  }
  content.innerHTML = renderMarkdown(message.content); // sanitized (markdown.ts)
  for (const pre of content.querySelectorAll("pre")) {
    const copy = h("button", { type: "button", class: "code-copy", "aria-label": "Copy code" }, "Copy");
    copy.addEventListener("click", () => {
      void navigator.clipboard?.writeText(pre.querySelector("code")?.textContent ?? pre.textContent ?? "");
      copy.textContent = "Copied";
      window.setTimeout(() => (copy.textContent = "Copy"), 1500);
    });
    pre.append(copy);
  }
  if (message.status === "streaming") {
    const last = content.lastElementChild ?? content;
    last.append(h("span", { class: "cursor", "aria-hidden": "true" }));
  }
}
