// The open chat: its title, the error banner, the message list (paged back in time as it
// scrolls up) and the composer. A chat is opened from its route; a new one ("/") has no chat
// until its first message creates it (turn.ts). The list is the branch shown (docs/branches.md):
// a question edited or an answer regenerated replaces it and what follows (fork.ts), and a
// version picked on a pager is read afresh (versions.ts).

import { type Api, ApiError, type Chat } from "./api";
import { ErrorBanner } from "./banner";
import { Composer } from "./composer";
import { h } from "./dom";
import { cancelEditing, openEditor } from "./edit";
import { questionOf } from "./fork";
import { fromStored, type MessageActions, renderMessage, updateMessage, type UiMessage } from "./messages";
import { type ChatList, UNTITLED } from "./sidebar";

const MESSAGES_PAGE = 100;

export interface ChatViewHost {
  sidebar(): ChatList | null;
  failed(err: unknown): void; // shown on the banner (or back to sign-in)
  streaming(): boolean; // an answer is streaming (or a version is being shown): nothing sent
  send(content: string): void;
  stop(): void;
  regenerate(answer: UiMessage): void;
  edit(question: UiMessage, content: string): void;
  select(message: UiMessage, versionId: string): void; // another version's branch
}

export class ChatView {
  /** The open chat; null for a new one (until its first message creates it). */
  chat: Chat | null = null;
  messages: UiMessage[] = [];
  private olderToken = "";
  private olderLoading = false;
  private viewId = 0;
  private loading: Promise<void> = Promise.resolve();
  private readonly actions: MessageActions = {
    regenerate: (answer) => {
      if (!this.host.streaming()) {
        this.host.regenerate(answer);
      }
    },
    edit: (question) =>
      openEditor(question, (content) => {
        if (this.host.streaming()) {
          return false;
        }
        this.host.edit(question, content);
        return true;
      }),
    select: (message, versionId) => this.host.select(message, versionId),
  };

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
    cancelEditing();
    this.log.replaceChildren();
    for (const message of messages) {
      this.log.append(renderMessage(message, this.actions));
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
    const loading = this.load(chatId);
    this.loading = loading.then(() => undefined);
    return this.loading;
  }

  /** The open chat read again (it shows another branch now), its messages kept on screen
   * meanwhile; the message `focusId` is scrolled into view. False if it could not be shown. */
  reload(focusId: string): Promise<boolean> {
    if (!this.chat) {
      return Promise.resolve(false);
    }
    const loading = this.load(this.chat.chat_id, focusId);
    this.loading = loading.then(() => undefined);
    return loading;
  }

  private async load(chatId: string, focusId = ""): Promise<boolean> {
    if (!focusId) {
      this.show({ chat_id: chatId, title: this.host.sidebar()?.title(chatId) ?? "", system_prompt: "" }, []);
    }
    const view = this.viewId;
    const stamp = this.host.sidebar()?.titleStamp(chatId) ?? 0;
    this.log.setAttribute("aria-busy", "true");
    try {
      const page = await this.api.getChat(chatId, "", MESSAGES_PAGE);
      if (view !== this.viewId) {
        return false;
      }
      const messages = page.messages.map(fromStored).filter((m): m is UiMessage => m !== null);
      page.chat.title = this.host.sidebar()?.readTitle(chatId, page.chat.title, stamp) ?? page.chat.title;
      this.show(page.chat, messages);
      this.olderToken = page.next_page_token;
      this.olderButton.hidden = !this.olderToken;
      if (focusId) {
        this.reveal(focusId);
      } else {
        this.composer.focus();
      }
      return true;
    } catch (err) {
      if (view !== this.viewId) {
        return false;
      }
      if (err instanceof ApiError && err.status === 404) {
        history.replaceState(null, "", "/");
        this.show(null, []);
        this.banner.show("That chat does not exist (any more).");
        return false;
      }
      this.host.failed(err);
      return false;
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
      this.log.prepend(...older.map((m) => renderMessage(m, this.actions)));
      if (scroller) {
        scroller.scrollTop = scroller.scrollHeight - fromBottom;
      }
      this.olderToken = page.next_page_token;
      this.olderButton.hidden = !this.olderToken;
      this.refreshEmptyState();
      this.refreshActions(); // the older questions can be edited, their answers regenerated
    } catch (err) {
      if (view === this.viewId) {
        this.host.failed(err);
      }
    } finally {
      this.olderLoading = false;
      this.olderButton.disabled = false;
    }
  }

  /** The version picked, once its branch is read: scrolled into view, and its pager keeps the
   * focus (a keyboard user goes on paging from where they were). */
  private reveal(focusId: string): void {
    const el = this.messages.find((m) => m.id === focusId)?.el;
    // Not in every DOM (jsdom has no scrollIntoView): the view then stays at the bottom.
    el?.scrollIntoView?.({ block: "nearest" });
    el?.querySelector<HTMLButtonElement>(".msg-versions button:not(:disabled)")?.focus({
      preventScroll: true,
    });
  }

  /** A new turn: the user's message (none for a new answer) and the (empty, streaming) answer
   * below it. */
  addTurn(user: UiMessage | null, answer: UiMessage): void {
    const added = user ? [user, answer] : [answer];
    this.messages.push(...added);
    this.log.append(...added.map((m) => renderMessage(m, this.actions)));
    this.refreshEmptyState();
    this.refreshActions();
    this.scrollToBottom(true);
  }

  /** A turn off the branch shown: `from` and the messages below it give way to it (they stay
   * on their own branch, on the server). */
  replaceFrom(from: UiMessage, user: UiMessage | null, answer: UiMessage): void {
    const index = this.messages.indexOf(from);
    if (index >= 0) {
      cancelEditing();
      for (const gone of this.messages.splice(index)) {
        gone.el?.remove();
      }
    }
    this.addTurn(user, answer);
  }

  /** Redraws a message from its state. */
  update(message: UiMessage): void {
    updateMessage(message, this.actions);
    this.refreshActionsOf(message, this.lastAnswer());
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

  /** Regenerate is offered on the last answer and on any answer to a stored question, Edit on
   * stored questions, the version pagers work: none while an answer streams or a version is
   * being shown. */
  refreshActions(): void {
    const lastAnswer = this.lastAnswer();
    for (const message of this.messages) {
      this.refreshActionsOf(message, lastAnswer);
    }
  }

  private lastAnswer(): UiMessage | undefined {
    return [...this.messages].reverse().find((m) => m.role === "assistant");
  }

  private refreshActionsOf(message: UiMessage, lastAnswer: UiMessage | undefined): void {
    const el = message.el;
    if (!el) {
      return;
    }
    const busy = this.host.streaming();
    const regenerate = el.querySelector<HTMLButtonElement>(".msg-regenerate");
    if (regenerate) {
      const answered = message.status !== "streaming" && message.status !== "pending";
      const stored = Boolean(message.parentId || questionOf(this.messages, message)?.id);
      regenerate.hidden = busy || !answered || (message !== lastAnswer && !stored);
    }
    const edit = el.querySelector<HTMLButtonElement>(".msg-edit");
    if (edit) {
      edit.hidden = busy || !message.id;
    }
    for (const button of el.querySelectorAll<HTMLButtonElement>(".msg-versions button")) {
      button.disabled = busy || !button.dataset.target;
    }
  }
}
