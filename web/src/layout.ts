// The signed-in page: the sidebar (New chat, the list of chats, API keys, Export and Import, the
// user and Sign out) beside the chat. On narrow screens the sidebar slides over the chat from the
// header's menu button; a click beside it or Escape closes it.

import { h, icon } from "./dom";
import { type ChatList } from "./sidebar";

export interface ShellParts {
  userName: string;
  chats: ChatList;
  newChat(): void;
  /** Opens the API keys dialog (apikeys.ts). */
  apiKeys(): void;
  /** Export and import of chats (transfer.ts), below the API keys. */
  transfer: HTMLElement;
  /** The search field (search.ts) above the list, and its results, shown in the list's place. */
  search: { el: HTMLElement; results: HTMLElement };
  signOut(): void;
  /** The chat pane, with the sidebar's toggle (`menu`) in its header. */
  main(menu: HTMLElement): HTMLElement;
  /** The modal dialogs (the confirmation, API keys). */
  dialogs: HTMLElement[];
}

function sidebarPanel(parts: ShellParts, closeOnMobile: () => void): HTMLElement {
  const { userName } = parts;
  const newChat = h(
    "button",
    { type: "button", class: "new-chat", id: "new-chat" },
    icon("plus"),
    "New chat",
  );
  newChat.addEventListener("click", () => {
    parts.newChat();
    closeOnMobile();
  });
  const apiKeys = h(
    "button",
    { type: "button", class: "sidebar-button", id: "api-keys-open", "aria-haspopup": "dialog" },
    icon("key"),
    "API keys",
  );
  apiKeys.addEventListener("click", () => parts.apiKeys());
  const signOut = h("button", { type: "button", class: "link-button", id: "sign-out" }, "Sign out");
  signOut.addEventListener("click", () => parts.signOut());
  return h(
    "aside",
    { class: "sidebar", id: "sidebar" },
    h("div", { class: "sidebar-top" }, newChat, parts.search.el),
    parts.search.results,
    parts.chats.scroller,
    h("div", { class: "sidebar-settings" }, apiKeys, parts.transfer),
    h(
      "div",
      { class: "sidebar-user" },
      h("span", { class: "avatar", "aria-hidden": "true" }, userName.slice(0, 1).toUpperCase()),
      h("span", { class: "user-name", id: "user-name", title: userName }, userName),
      signOut,
    ),
  );
}

export class Shell {
  readonly el: HTMLElement;

  constructor(parts: ShellParts) {
    const sidebar = sidebarPanel(parts, () => this.closeSidebarOnMobile());
    const menu = h(
      "button",
      {
        type: "button",
        class: "icon-button menu-button",
        "aria-label": "Show chats",
        "aria-controls": "sidebar",
        "aria-expanded": "false",
      },
      icon("menu"),
    );
    menu.addEventListener("click", () => {
      const open = this.el.classList.toggle("sidebar-open");
      menu.setAttribute("aria-expanded", String(open));
    });
    const main = parts.main(menu);
    main.addEventListener("click", (ev) => {
      if (this.el.classList.contains("sidebar-open") && !menu.contains(ev.target as Node)) {
        this.closeSidebarOnMobile();
      }
    });
    sidebar.addEventListener("keydown", (ev) => {
      if (ev.key === "Escape" && this.el.classList.contains("sidebar-open")) {
        this.closeSidebarOnMobile();
        menu.focus();
      }
    });
    this.el = h("div", { class: "shell" }, sidebar, main, ...parts.dialogs);
  }

  closeSidebarOnMobile(): void {
    this.el.classList.remove("sidebar-open");
    this.el.querySelector(".menu-button")?.setAttribute("aria-expanded", "false");
  }
}
