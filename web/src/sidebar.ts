// The sidebar's list of chats: most recently active first, paged in as it scrolls, one item per
// chat with its title, a rename button (the title is edited in place: rename.ts) and a delete
// button. The app decides what a click or a delete does, and shows a rename elsewhere.

import { type Api, type Chat } from "./api";
import { h, icon } from "./dom";
import { editTitle } from "./rename";
import { chatPath } from "./routes";

const CHATS_PAGE = 30;
export const UNTITLED = "New chat";

interface SidebarItem {
  chat: Chat;
  li: HTMLLIElement;
  link: HTMLAnchorElement;
  rename: HTMLButtonElement;
  del: HTMLButtonElement;
  saving: boolean; // a new title is on its way to the server
  renames: number; // titles stored by a rename: a title read started before is stale
  bumped: boolean; // had a turn while being renamed: moves to the top once the rename closes
}

export interface SidebarActions {
  open(chatId: string): void; // a plain click on a chat's link
  remove(chatId: string, title: string, button: HTMLButtonElement): void; // its delete button
  renamed(chatId: string, title: string): void; // a new title is stored
  failed(err: unknown): void; // a page of chats could not be read, or a title not stored
}

export class ChatList {
  readonly list: HTMLUListElement;
  readonly scroller: HTMLElement;
  private readonly sentinel: HTMLElement;
  private readonly items = new Map<string, SidebarItem>();
  private pageToken = "";
  private done = false;
  private loading = false;
  private observer: IntersectionObserver | null = null;
  private current: string | null = null;

  constructor(
    private readonly api: Api,
    private readonly actions: SidebarActions,
  ) {
    this.list = h("ul", { class: "chat-list", id: "chat-list", "aria-label": "Your chats" });
    this.sentinel = h("div", { class: "chat-list-sentinel", "aria-hidden": "true" });
    this.scroller = h(
      "nav",
      { class: "chat-scroller", "aria-label": "Chats" },
      h("h2", { class: "sidebar-heading" }, "Chats"),
      this.list,
      this.sentinel,
    );
  }

  /** Starts paging in chats as the end of the list comes into view. */
  start(): Promise<void> {
    this.observer = new IntersectionObserver(
      (entries) => {
        if (entries.some((e) => e.isIntersecting)) {
          void this.loadMore();
        }
      },
      { root: this.scroller, rootMargin: "200px" },
    );
    this.observer.observe(this.sentinel);
    return this.loadMore();
  }

  stop(): void {
    this.observer?.disconnect();
    this.items.clear();
  }

  title(chatId: string): string | undefined {
    return this.items.get(chatId)?.chat.title;
  }

  /** Taken as a read of a chat's title starts; given back to readTitle with what it read. */
  titleStamp(chatId: string): number {
    return this.items.get(chatId)?.renames ?? 0;
  }

  /**
   * A title read from the server (the read started at `stamp`): shown unless a rename of the
   * chat is being saved or was stored since the read started (it may predate the rename).
   * Returns the chat's title now.
   */
  readTitle(chatId: string, title: string, stamp: number): string {
    const item = this.items.get(chatId);
    if (!item) {
      return title;
    }
    if (!item.saving && item.renames === stamp && item.chat.title !== title) {
      this.setItemTitle(item, title);
    }
    return item.chat.title;
  }

  /** The open chat's item is marked as the current page. */
  markCurrent(chatId: string | null): void {
    this.current = chatId;
    for (const [id, item] of this.items) {
      if (id === chatId) {
        item.link.setAttribute("aria-current", "page");
      } else {
        item.link.removeAttribute("aria-current");
      }
    }
  }

  /** A chat that just had a turn moves to the top (the list is most recently active first). */
  bump(chat: Chat): void {
    const item = this.items.get(chat.chat_id) ?? this.item(chat);
    if (item.li.classList.contains("renaming")) {
      item.bumped = true; // moving its title field now would blur it: a half-typed title saved
      return;
    }
    this.list.prepend(item.li);
    this.markCurrent(this.current);
  }

  /** Removes a deleted chat; returns the link to focus next (its neighbour), if any. */
  remove(chatId: string): HTMLElement | null {
    const item = this.items.get(chatId);
    if (!item) {
      return null;
    }
    const next = (item.li.nextElementSibling ?? item.li.previousElementSibling)?.querySelector<HTMLElement>(
      ".chat-link",
    );
    item.li.remove();
    this.items.delete(chatId);
    return next ?? null;
  }

  private async loadMore(): Promise<void> {
    if (this.loading || this.done) {
      return;
    }
    this.loading = true;
    this.scroller.setAttribute("aria-busy", "true");
    try {
      const page = await this.api.listChats(this.pageToken, CHATS_PAGE);
      for (const chat of page.chats) {
        if (!this.items.has(chat.chat_id)) {
          this.list.append(this.item(chat).li);
        }
      }
      this.pageToken = page.next_page_token;
      this.done = !page.next_page_token;
      this.markCurrent(this.current);
    } catch (err) {
      this.actions.failed(err);
      return;
    } finally {
      this.loading = false;
      this.scroller.removeAttribute("aria-busy");
    }
    // The sentinel may still be in view (a tall window): keep filling it.
    if (!this.done && this.sentinelVisible()) {
      await this.loadMore();
    }
  }

  private sentinelVisible(): boolean {
    const box = this.sentinel.getBoundingClientRect();
    const view = this.scroller.getBoundingClientRect();
    return box.top <= view.bottom + 200;
  }

  private item(chat: Chat): SidebarItem {
    const link = h("a", { class: "chat-link", href: chatPath(chat.chat_id) }, chat.title || UNTITLED);
    link.addEventListener("click", (ev) => {
      if (ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) {
        return; // let the browser open a new tab
      }
      ev.preventDefault();
      this.actions.open(chat.chat_id);
    });
    const rename = h(
      "button",
      { type: "button", class: "icon-button chat-rename", title: "Rename chat" },
      icon("pencil"),
    );
    rename.addEventListener("click", () => this.startRename(item));
    const del = h(
      "button",
      { type: "button", class: "icon-button chat-delete", title: "Delete chat" },
      icon("trash"),
    );
    del.addEventListener("click", () => this.actions.remove(chat.chat_id, item.chat.title, del));
    const li = h("li", { class: "chat-item", "data-chat-id": chat.chat_id }, link, rename, del);
    const item = { chat, li, link, rename, del, saving: false, renames: 0, bumped: false };
    this.items.set(chat.chat_id, item);
    this.setItemTitle(item, chat.title);
    return item;
  }

  private setItemTitle(item: SidebarItem, title: string): void {
    item.chat.title = title;
    item.link.textContent = title || UNTITLED;
    item.link.title = title || UNTITLED;
    item.rename.setAttribute("aria-label", `Rename chat: ${title || UNTITLED}`);
    item.del.setAttribute("aria-label", `Delete chat: ${title || UNTITLED}`);
  }

  /** The title becomes a text field (rename.ts); its buttons are hidden meanwhile. */
  private startRename(item: SidebarItem): void {
    if (item.li.classList.contains("renaming")) {
      return;
    }
    item.li.classList.add("renaming");
    editTitle(item.link, item.chat.title, {
      save: (title) => this.saveTitle(item, title),
      closed: (keyboard) => {
        item.li.classList.remove("renaming");
        if (item.bumped && this.items.get(item.chat.chat_id) === item) {
          this.bump(item.chat); // the move deferred while it was renamed
        }
        item.bumped = false;
        if (keyboard) {
          item.rename.focus();
        }
      },
    });
  }

  /** Stores the title; the item shows it only once stored (else the old one stays). */
  private async saveTitle(item: SidebarItem, title: string): Promise<void> {
    const chatId = item.chat.chat_id;
    item.saving = true;
    try {
      const chat = await this.api.renameChat(chatId, title);
      item.renames++;
      this.setItemTitle(item, chat.title ?? title);
    } catch (err) {
      this.actions.failed(err);
      return;
    } finally {
      item.saving = false;
    }
    this.actions.renamed(chatId, item.chat.title);
  }
}
