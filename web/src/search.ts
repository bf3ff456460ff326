// Searching one's chats from the sidebar (GET /chats:search, docs/search.md): a search field
// above the list; typing (debounced) shows the hits in place of the chat list, each a link to
// its chat with the snippet that matched; clearing the field (or Escape) shows the list again.
// An answer that arrives after a newer query was typed is dropped.

import { h, icon } from "./dom";

export interface SearchHit {
  chat: { chat_id: string; title: string };
  message_id: string;
  snippet: string;
  create_time?: string;
}

export interface SearchApi {
  searchChats(query: string, pageToken?: string): Promise<{ hits: SearchHit[]; next_page_token: string }>;
}

export interface SearchActions {
  /** Opens a chat (a hit was chosen). */
  open(chatId: string): void;
  /** The results replace the chat list while a query is shown (true), or go (false). */
  showing(active: boolean): void;
  failed(err: unknown): void;
}

export const DEBOUNCE_MS = 250;

export class ChatSearchBox {
  readonly el: HTMLElement;
  readonly results: HTMLElement;
  private readonly input: HTMLInputElement;
  private readonly list: HTMLUListElement;
  private readonly status: HTMLElement;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private asked = 0; // the newest query's number: older answers are dropped

  constructor(
    private readonly api: SearchApi,
    private readonly actions: SearchActions,
  ) {
    this.input = h("input", {
      type: "search",
      id: "chat-search",
      class: "chat-search-input",
      placeholder: "Search chats",
      "aria-label": "Search chats",
      autocomplete: "off",
      maxlength: "200",
    });
    this.el = h("div", { class: "chat-search", role: "search" }, icon("search"), this.input);
    this.list = h("ul", { class: "search-results", id: "search-results", "aria-label": "Search results" });
    this.status = h("p", { class: "search-status", id: "search-status", role: "status" });
    this.results = h("section", { class: "search-panel", hidden: "" }, this.status, this.list);
    this.input.addEventListener("input", () => this.schedule());
    this.input.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        this.clear();
      }
    });
  }

  clear(): void {
    this.input.value = "";
    this.schedule();
  }

  private schedule(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
    }
    this.timer = setTimeout(() => void this.run(), DEBOUNCE_MS);
  }

  /** Runs the query now (the debounce's end; tests call it directly). */
  async run(): Promise<void> {
    this.timer = null;
    const query = this.input.value.trim();
    const mine = ++this.asked;
    if (!query) {
      this.results.hidden = true;
      this.actions.showing(false);
      return;
    }
    this.results.hidden = false;
    this.actions.showing(true);
    this.status.textContent = "Searching…";
    try {
      const { hits } = await this.api.searchChats(query);
      if (mine === this.asked) {
        this.render(hits);
      }
    } catch (err) {
      if (mine === this.asked) {
        this.status.textContent = "";
        this.actions.failed(err);
      }
    }
  }

  private render(hits: SearchHit[]): void {
    this.list.replaceChildren(...hits.map((hit) => this.item(hit)));
    this.status.textContent = hits.length ? `${hits.length} found` : "No chat matches";
  }

  private item(hit: SearchHit): HTMLLIElement {
    const link = h(
      "a",
      { href: `/c/${hit.chat.chat_id}`, class: "search-hit", "data-chat-id": hit.chat.chat_id },
      h("span", { class: "search-hit-title" }, hit.chat.title || "New chat"),
      h("span", { class: "search-hit-snippet" }, hit.snippet),
    );
    link.addEventListener("click", (event) => {
      event.preventDefault();
      this.actions.open(hit.chat.chat_id);
    });
    return h("li", {}, link);
  }
}
