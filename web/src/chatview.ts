// The open chat: its title, the error banner, the message list (paged back in time as it
// scrolls up) and the composer. A chat is opened from its route; a new one ("/") has no chat
// until its first message creates it (turn.ts).

import { type Api, ApiError, type Chat } from "./api";
import { ErrorBanner } from "./banner";
import { Composer } from "./composer";
import { h } from "./dom";
import { fromStored, renderMessage, updateMessage, type UiMessage } from "./messages";
import { type ChatList, UNTITLED } from "./sidebar";

const MESSAGES_PAGE = 100;

export interface ChatViewHost {
  sidebar(): ChatList | null;
  failed(err: unknown): void; // shown on the banner (or back to sign-in)
  streaming(): boolean; // an answer is streaming: no Regenerate, nothing sent
  send(content: string): void;
  stop(): void;
  regenerate(): void;
}

export class ChatView {
  /** The open chat; null for a new one (until its first message creates it). */
  chat: Chat | null = null;
  messages: UiMessage[] = [];
  private olderToken = "";
  private olderLoading = false;
  private viewId = 0;
  private loading: Promise<void> = Promise.resolve();
  private readonly onRegenerate = (): void => this.host.regenerate();

  // elements, built afresh by render()
  banner!: ErrorBanner;
  composer!: Composer;
  private titleEl!: HTMLHeadingElement;
  private log!: HTMLElement;
  private olderButton!: HTMLButtonElement;
  private emptyState!: HTMLElement;

  constructor(
    private readonly api: Api,
    private readonly host: ChatViewHost,
  ) {}

  /** Bumped on every navigation: late answers for an old view are dropped. */
  get view(): number {
    return this.viewId;
  }

  /** The chat pane (a <main>), with `menu` (the sidebar's toggle) in its header. */
  render(menu: HTMLElement): HTMLElement {
    this.titleEl = h("h1", { class: "chat-title", id: "chat-title" }, UNTITLED);
    this.banner = new ErrorBanner();
    this.composer = new Composer({
      busy: () => this.host.streaming(),
      send: (content) => this.host.send(content),
      stop: () => this.host.stop(),
    });
    return h(
      "main",
      { class: "chat", id: "chat" },
      h("header", { class: "chat-header" }, menu, this.titleEl),
      this.banner.el,
      this.renderScroller(),
      this.composer.el,
    );
  }

  private renderScroller(): HTMLElement {
    this.olderButton = h(
      "button",
      { type: "button", class: "older", id: "load-older" },
      "Load earlier messages",
    );
    this.olderButton.hidden = true;
    this.olderButton.addEventListener("click", () => void this.loadOlder());
    this.emptyState = h("div", { class: "empty-state" }, h("h2", {}, "How can I help you today?"));
    this.log = h("div", {
      class: "messages",
      id: "messages",
      role: "log",
      "aria-label": "Conversation",
      "aria-live": "polite",
      tabindex: "-1",
    });
    const scroller = h(
      "div",
      { class: "scroller", id: "scroller" },
      h("div", { class: "column" }, this.olderButton, this.emptyState, this.log),
    );
    scroller.addEventListener("scroll", () => {
      if (scroller.scrollTop < 80 && this.olderToken && !this.olderLoading) {
        void this.loadOlder();
      }
    });
    return scroller;
  }

  /** Forgets the open chat (signing out); late answers for it are dropped. */
  clear(): void {
    this.viewId++;
    this.chat = null;
    this.messages = [];
  }

  show(chat: Chat | null, messages: UiMessage[]): void {
    this.viewId++;
    this.chat = chat;
    this.messages = messages;
    this.olderToken = "";
    this.olderButton.hidden = true;
    this.titleEl.textContent = chat?.title || UNTITLED;
    document.title = `${chat?.title || UNTITLED} · chatstack`;
    this.log.replaceChildren();
    for (const message of messages) {
      this.log.append(renderMessage(message, this.onRegenerate));
    }
    this.refreshEmptyState();
    this.refreshActions();
    this.markCurrent();
    this.scrollToBottom(true);
  }

  /** Settles once the open chat's messages are shown (a turn sent before goes after them). */
  get loaded(): Promise<void> {
    return this.loading;
  }

  open(chatId: string): Promise<void> {
    this.loading = this.load(chatId);
    return this.loading;
  }

  private async load(chatId: string): Promise<void> {
    this.show({ chat_id: chatId, title: this.host.sidebar()?.title(chatId) ?? "", system_prompt: "" }, []);
    const view = this.viewId;
    const stamp = this.host.sidebar()?.titleStamp(chatId) ?? 0;
    this.log.setAttribute("aria-busy", "true");
    try {
      const page = await this.api.getChat(chatId, "", MESSAGES_PAGE);
      if (view !== this.viewId) {
        return;
      }
      const messages = page.messages.map(fromStored).filter((m): m is UiMessage => m !== null);
      page.chat.title = this.host.sidebar()?.readTitle(chatId, page.chat.title, stamp) ?? page.chat.title;
      this.show(page.chat, messages);
      this.olderToken = page.next_page_token;
      this.olderButton.hidden = !this.olderToken;
      this.composer.focus();
    } catch (err) {
      if (view !== this.viewId) {
        return;
      }
      if (err instanceof ApiError && err.status === 404) {
        history.replaceState(null, "", "/");
        this.show(null, []);
        this.banner.show("That chat does not exist (any more).");
        return;
      }
      this.host.failed(err);
    } finally {
      this.log.removeAttribute("aria-busy");
    }
  }

  /** The previous page of messages (pages go back in time), kept at the same scroll spot. */
  private async loadOlder(): Promise<void> {
    if (!this.chat || !this.olderToken || this.olderLoading) {
      return;
    }
    const view = this.viewId;
    this.olderLoading = true;
    this.olderButton.disabled = true;
    try {
      const page = await this.api.getChat(this.chat.chat_id, this.olderToken, MESSAGES_PAGE);
      if (view !== this.viewId) {
        return;
      }
      const older = page.messages.map(fromStored).filter((m): m is UiMessage => m !== null);
      const scroller = this.log.closest(".scroller");
      const fromBottom = scroller ? scroller.scrollHeight - scroller.scrollTop : 0;
      this.messages = [...older, ...this.messages];
      this.log.prepend(...older.map((m) => renderMessage(m, this.onRegenerate)));
      if (scroller) {
        scroller.scrollTop = scroller.scrollHeight - fromBottom;
      }
      this.olderToken = page.next_page_token;
      this.olderButton.hidden = !this.olderToken;
      this.refreshEmptyState();
    } catch (err) {
      if (view === this.viewId) {
        this.host.failed(err);
      }
    } finally {
      this.olderLoading = false;
      this.olderButton.disabled = false;
    }
  }

  /** A new turn: the user's message and the (empty, streaming) answer below it. */
  addTurn(user: UiMessage, answer: UiMessage): void {
    this.messages.push(user, answer);
    this.log.append(renderMessage(user, this.onRegenerate), renderMessage(answer, this.onRegenerate));
    this.refreshEmptyState();
    this.refreshActions();
    this.scrollToBottom(true);
  }

  /** Redraws a message from its state. */
  update(message: UiMessage): void {
    updateMessage(message, this.onRegenerate);
  }

  setStreaming(on: boolean): void {
    this.composer.setStreaming(on);
    this.log.setAttribute("aria-busy", String(on));
    if (!on) {
      this.log.removeAttribute("aria-busy");
    }
    this.refreshActions();
  }

  scrollToBottom(force = false): void {
    const scroller = this.log.closest(".scroller");
    if (!scroller) {
      return;
    }
    const near = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 120;
    if (force || near) {
      scroller.scrollTop = scroller.scrollHeight;
    }
  }

  /** The server titles a chat from its first message (unless it is renamed meanwhile). */
  async refreshTitle(chatId: string): Promise<void> {
    const stamp = this.host.sidebar()?.titleStamp(chatId) ?? 0;
    try {
      const page = await this.api.getChat(chatId, "", 1);
      this.setTitle(
        chatId,
        this.host.sidebar()?.readTitle(chatId, page.chat.title, stamp) ?? page.chat.title,
      );
    } catch {
      // the title is cosmetic: the next list refresh brings it
    }
  }

  /** A chat's new title (titled by the server, or renamed), shown if it is the open chat. */
  setTitle(chatId: string, title: string): void {
    if (this.chat?.chat_id !== chatId) {
      return;
    }
    this.chat.title = title;
    this.titleEl.textContent = title || UNTITLED;
    document.title = `${title || UNTITLED} · chatstack`;
  }

  private markCurrent(): void {
    this.host.sidebar()?.markCurrent(this.chat?.chat_id ?? null);
  }

  private refreshEmptyState(): void {
    this.emptyState.hidden = this.messages.length > 0 || this.olderToken !== "";
  }

  /** Only the last answer offers Regenerate, and not while one is streaming. */
  private refreshActions(): void {
    const lastAssistant = [...this.messages].reverse().find((m) => m.role === "assistant");
    for (const message of this.messages) {
      const button = message.el?.querySelector<HTMLButtonElement>(".msg-regenerate");
      if (button) {
        button.hidden = this.host.streaming() || message !== lastAssistant;
      }
    }
  }
}
