// The versions of a message at a fork (an edited question, a regenerated answer: Message.
// sibling_ids): the "< 2 / 3 >" pager under it, and switching to a neighbouring version's
// branch. The server keeps the branch shown (SelectMessage sets the chat's current message), so
// the chat is read again to show it, and a reload shows it too.

import { type Api } from "./api";
import { type ChatView } from "./chatview";
import { h } from "./dom";
import { type MessageActions, type UiMessage } from "./messages";

/** "< 2 / 3 >" for a message with versions; null when its own place among them is unknown. A
 * button's data-target is the version it shows ("" at either end: disabled). */
export function versionPager(message: UiMessage, actions: MessageActions): HTMLElement | null {
  const versions = message.siblingIds;
  const index = versions.indexOf(message.id);
  if (index < 0 || versions.length < 2) {
    return null;
  }
  const button = (className: string, label: string, text: string, target: string): HTMLButtonElement => {
    const el = h("button", { type: "button", class: className, "aria-label": label, title: label }, text);
    el.dataset.target = target;
    el.disabled = !target;
    el.addEventListener("click", () => {
      if (el.dataset.target) {
        actions.select(message, el.dataset.target);
      }
    });
    return el;
  };
  const what = message.role === "user" ? "message" : "answer";
  return h(
    "div",
    { class: "msg-versions", role: "group", "aria-label": `Versions of this ${what}` },
    button("msg-version-prev", `Previous version`, "‹", versions[index - 1] ?? ""),
    h("span", { class: "msg-version-label", "aria-live": "polite" }, `${index + 1} / ${versions.length}`),
    button("msg-version-next", `Next version`, "›", versions[index + 1] ?? ""),
  );
}

export interface VersionHost {
  failed(err: unknown): void;
  resume(): void; // the branch shown may end in an answer still being generated: follow it
}

/** Switches the open chat to another version's branch. */
export class VersionSwitch {
  private pending: number | null = null; // the view a switch runs in

  constructor(
    private readonly api: Pick<Api, "selectMessage">,
    private readonly chatView: ChatView,
    private readonly host: VersionHost,
  ) {}

  /** A switch is under way in the open chat: nothing else starts there meanwhile. */
  get switching(): boolean {
    return this.pending !== null && this.pending === this.chatView.view;
  }

  /** Shows `versionId`'s branch: the server selects it, then the chat is read again. */
  async select(versionId: string, busy: boolean): Promise<void> {
    const chat = this.chatView.chat;
    if (!chat || busy || this.switching) {
      return;
    }
    const view = this.chatView.view;
    this.pending = view;
    this.chatView.refreshActions(); // the pagers wait for this switch
    let shown = false;
    try {
      await this.api.selectMessage(chat.chat_id, versionId);
      shown = view === this.chatView.view && (await this.chatView.reload(versionId));
    } catch (err) {
      if (view === this.chatView.view) {
        this.host.failed(err);
      }
    } finally {
      if (this.pending === view) {
        this.pending = null; // (a switch started since, in another view, is its own)
      }
    }
    if (shown) {
      this.host.resume();
    } else if (view === this.chatView.view) {
      this.chatView.refreshActions(); // not switched: the pagers work again
    }
  }
}
