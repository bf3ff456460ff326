// The single-page app: a sign-in screen, then a sidebar of chats beside the open chat.
// Routes (history API; the static server answers every non-file path with index.html):
//   /           a new chat (created on the first message, titled by the server from it)
//   /c/<id>     a stored chat

import { Api, ApiError, newRequestId, StreamError, type Chat } from "./api";
import {
  clearToken,
  fetchUiConfig,
  isExpired,
  loadToken,
  readClaims,
  saveToken,
  type UiConfig,
} from "./auth";
import { append, h, icon } from "./dom";
import { describeError } from "./errors";
import { fromStored, renderContent, renderMessage, updateMessage, type UiMessage } from "./messages";
import { chatIdFromPath, chatPath } from "./routes";
import { ChatList, UNTITLED } from "./sidebar";
import { signInScreen } from "./signin";

const MESSAGES_PAGE = 100;

export class App {
  private readonly api = new Api(() => this.token);
  private token: string | null = null;
  private config: UiConfig = { dev_tokens: false };

  // sidebar
  private sidebar: ChatList | null = null;
  private readonly onRegenerate = (): void => this.regenerate();

  // the open chat
  private chat: Chat | null = null;
  private messages: UiMessage[] = [];
  private olderToken = "";
  private olderLoading = false;
  private view = 0; // bumped on every navigation: late answers for an old view are dropped
  private abort: AbortController | null = null;

  // elements of the main view
  private titleEl!: HTMLHeadingElement;
  private log!: HTMLElement;
  private olderButton!: HTMLButtonElement;
  private emptyState!: HTMLElement;
  private form!: HTMLFormElement;
  private input!: HTMLTextAreaElement;
  private sendButton!: HTMLButtonElement;
  private stopButton!: HTMLButtonElement;
  private banner!: HTMLElement;
  private bannerText!: HTMLElement;
  private bannerAction!: HTMLButtonElement;
  private dialog!: HTMLDialogElement;
  private shell!: HTMLElement;

  constructor(private readonly root: HTMLElement) {}

  async start(): Promise<void> {
    this.config = await fetchUiConfig();
    window.addEventListener("popstate", () => void this.route());
    const token = loadToken();
    const claims = token ? readClaims(token) : null;
    if (token && !(claims && isExpired(claims))) {
      this.token = token;
      await this.showMain();
    } else {
      if (token) {
        clearToken();
      }
      this.showSignIn(token ? "Your session has expired. Please sign in again." : "");
    }
  }

  // --- sign-in --------------------------------------------------------------------------

  private showSignIn(notice: string): void {
    this.abort?.abort();
    this.sidebar?.stop();
    this.token = null;
    document.title = "Sign in · chatstack";
    const { screen, focus } = signInScreen(this.config, notice, (token) => this.signIn(token));
    this.root.replaceChildren(screen);
    focus();
  }

  private signIn(token: string): void {
    saveToken(token);
    this.token = token;
    void this.showMain();
  }

  private signOut(notice = ""): void {
    clearToken();
    this.sidebar?.stop();
    this.chat = null;
    this.messages = [];
    this.showSignIn(notice);
  }

  // --- layout -----------------------------------------------------------------------------

  private async showMain(): Promise<void> {
    const claims = this.token ? readClaims(this.token) : null;
    const userName = claims?.sub || "signed in";

    // sidebar
    const newChat = h(
      "button",
      { type: "button", class: "new-chat", id: "new-chat" },
      icon("plus"),
      "New chat",
    );
    newChat.addEventListener("click", () => {
      this.navigate("/");
      this.closeSidebarOnMobile();
    });
    this.sidebar?.stop();
    const chats = new ChatList(this.api, {
      open: (chatId) => {
        this.navigate(chatPath(chatId));
        this.closeSidebarOnMobile();
      },
      remove: (chatId, title, button) => void this.confirmDelete(chatId, title, button),
      failed: (err) => this.showError(err),
    });
    this.sidebar = chats;
    const signOut = h("button", { type: "button", class: "link-button", id: "sign-out" }, "Sign out");
    signOut.addEventListener("click", () => this.signOut());
    const sidebar = h(
      "aside",
      { class: "sidebar", id: "sidebar" },
      h("div", { class: "sidebar-top" }, newChat),
      chats.scroller,
      h(
        "div",
        { class: "sidebar-user" },
        h("span", { class: "avatar", "aria-hidden": "true" }, userName.slice(0, 1).toUpperCase()),
        h("span", { class: "user-name", id: "user-name", title: userName }, userName),
        signOut,
      ),
    );

    // main
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
      const open = this.shell.classList.toggle("sidebar-open");
      menu.setAttribute("aria-expanded", String(open));
    });
    this.titleEl = h("h1", { class: "chat-title", id: "chat-title" }, UNTITLED);
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

    this.bannerText = h("span", { class: "banner-text" });
    this.bannerAction = h("button", { type: "button", class: "banner-action" });
    const dismiss = h(
      "button",
      { type: "button", class: "icon-button banner-dismiss", "aria-label": "Dismiss" },
      icon("close"),
    );
    dismiss.addEventListener("click", () => this.hideError());
    this.banner = h(
      "div",
      { class: "banner", id: "error-banner", role: "alert" },
      this.bannerText,
      this.bannerAction,
      dismiss,
    );
    this.banner.hidden = true;

    this.input = h("textarea", {
      id: "prompt",
      name: "prompt",
      rows: "1",
      placeholder: "Message chatstack",
      "aria-describedby": "prompt-hint",
      autocomplete: "off",
    });
    this.input.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing && !ev.altKey && !ev.ctrlKey && !ev.metaKey) {
        ev.preventDefault();
        this.form.requestSubmit();
      }
    });
    this.input.addEventListener("input", () => this.autosize());
    this.sendButton = h(
      "button",
      { type: "submit", class: "send", id: "send", "aria-label": "Send message", title: "Send (Enter)" },
      icon("send"),
    );
    this.stopButton = h(
      "button",
      { type: "button", class: "stop", id: "stop", "aria-label": "Stop generating", title: "Stop" },
      icon("stop"),
    );
    this.stopButton.hidden = true;
    this.stopButton.addEventListener("click", () => this.stop());
    this.form = h(
      "form",
      { class: "composer", id: "composer", "aria-label": "Send a message" },
      h("label", { for: "prompt", class: "visually-hidden" }, "Message"),
      this.input,
      this.sendButton,
      this.stopButton,
    );
    this.form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const content = this.input.value;
      if (!content.trim() || this.abort) {
        return;
      }
      this.input.value = "";
      this.autosize();
      void this.send(content, false);
    });

    const main = h(
      "main",
      { class: "chat", id: "chat" },
      h("header", { class: "chat-header" }, menu, this.titleEl),
      this.banner,
      scroller,
      h(
        "div",
        { class: "composer-wrap" },
        this.form,
        h(
          "p",
          { class: "hint", id: "prompt-hint" },
          "Enter sends, Shift+Enter adds a line. Answers can be wrong: check what matters.",
        ),
      ),
    );

    // Narrow screens: the sidebar slides over the chat; a click beside it or Escape closes it.
    main.addEventListener("click", (ev) => {
      if (this.shell.classList.contains("sidebar-open") && !menu.contains(ev.target as Node)) {
        this.closeSidebarOnMobile();
      }
    });
    sidebar.addEventListener("keydown", (ev) => {
      if (ev.key === "Escape" && this.shell.classList.contains("sidebar-open")) {
        this.closeSidebarOnMobile();
        menu.focus();
      }
    });

    this.dialog = h("dialog", { class: "confirm", id: "confirm-dialog", "aria-labelledby": "confirm-title" });
    this.shell = h("div", { class: "shell" }, sidebar, main, this.dialog);
    this.root.replaceChildren(this.shell);

    await Promise.all([chats.start(), this.route()]);
  }

  private closeSidebarOnMobile(): void {
    this.shell.classList.remove("sidebar-open");
    this.shell.querySelector(".menu-button")?.setAttribute("aria-expanded", "false");
  }

  private autosize(): void {
    this.input.style.height = "auto";
    this.input.style.height = `${Math.min(this.input.scrollHeight, 240)}px`;
  }

  // --- errors -------------------------------------------------------------------------------

  private showError(err: unknown): void {
    const { text, action } = describeError(err);
    if (action === "sign-in") {
      this.signOut(text);
      return;
    }
    this.bannerText.textContent = text;
    this.banner.dataset.action = action;
    this.bannerAction.hidden = true;
    this.banner.hidden = false;
  }

  private hideError(): void {
    this.banner.hidden = true;
  }

  // --- navigation ---------------------------------------------------------------------------

  private navigate(path: string): void {
    if (location.pathname !== path) {
      history.pushState(null, "", path);
    }
    void this.route();
  }

  private async route(): Promise<void> {
    if (!this.token) {
      return;
    }
    this.stop();
    this.hideError();
    const chatId = chatIdFromPath(location.pathname);
    if (chatId) {
      await this.openChat(chatId);
    } else {
      if (location.pathname !== "/") {
        history.replaceState(null, "", "/");
      }
      this.showChat(null, []);
      this.input.focus();
    }
  }

  private markCurrent(): void {
    this.sidebar?.markCurrent(this.chat?.chat_id ?? null);
  }

  // --- deleting a chat ----------------------------------------------------------------------

  private async confirmDelete(chatId: string, title: string, button: HTMLButtonElement): Promise<void> {
    const confirmed = await this.confirm(
      "Delete chat?",
      `This deletes “${title || UNTITLED}” and all its messages. This cannot be undone.`,
      "Delete",
    );
    if (!confirmed) {
      button.focus();
      return;
    }
    try {
      await this.api.deleteChat(chatId);
    } catch (err) {
      this.showError(err);
      return;
    }
    const next = this.sidebar?.remove(chatId);
    if (this.chat?.chat_id === chatId) {
      this.navigate("/");
    } else {
      (next ?? this.input).focus();
    }
  }

  private confirm(title: string, body: string, action: string): Promise<boolean> {
    const cancel = h("button", { type: "button", class: "secondary", id: "confirm-cancel" }, "Cancel");
    const ok = h("button", { type: "button", class: "danger", id: "confirm-ok" }, action);
    this.dialog.replaceChildren(
      h("h2", { id: "confirm-title" }, title),
      h("p", { id: "confirm-body" }, body),
      h("div", { class: "dialog-actions" }, cancel, ok),
    );
    this.dialog.setAttribute("aria-describedby", "confirm-body");
    return new Promise((resolve) => {
      const done = (value: boolean): void => {
        this.dialog.removeEventListener("close", onClose);
        if (this.dialog.open) {
          this.dialog.close();
        }
        resolve(value);
      };
      const onClose = (): void => done(false); // Escape
      this.dialog.addEventListener("close", onClose);
      cancel.addEventListener("click", () => done(false));
      ok.addEventListener("click", () => done(true));
      this.dialog.showModal();
      cancel.focus();
    });
  }

  // --- the open chat --------------------------------------------------------------------------

  private showChat(chat: Chat | null, messages: UiMessage[]): void {
    this.view++;
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

  private async openChat(chatId: string): Promise<void> {
    this.showChat({ chat_id: chatId, title: this.sidebar?.title(chatId) ?? "", system_prompt: "" }, []);
    const view = this.view;
    this.log.setAttribute("aria-busy", "true");
    try {
      const page = await this.api.getChat(chatId, "", MESSAGES_PAGE);
      if (view !== this.view) {
        return;
      }
      const messages = page.messages.map(fromStored).filter((m): m is UiMessage => m !== null);
      this.showChat(page.chat, messages);
      this.olderToken = page.next_page_token;
      this.olderButton.hidden = !this.olderToken;
      if (this.sidebar?.title(chatId) !== page.chat.title) {
        this.sidebar?.setTitle(chatId, page.chat.title);
      }
      this.input.focus();
    } catch (err) {
      if (view !== this.view) {
        return;
      }
      if (err instanceof ApiError && err.status === 404) {
        history.replaceState(null, "", "/");
        this.showChat(null, []);
        this.bannerText.textContent = "That chat does not exist (any more).";
        this.bannerAction.hidden = true;
        this.banner.hidden = false;
        return;
      }
      this.showError(err);
    } finally {
      this.log.removeAttribute("aria-busy");
    }
  }

  /** The previous page of messages (pages go back in time), kept at the same scroll spot. */
  private async loadOlder(): Promise<void> {
    if (!this.chat || !this.olderToken || this.olderLoading) {
      return;
    }
    const view = this.view;
    this.olderLoading = true;
    this.olderButton.disabled = true;
    try {
      const page = await this.api.getChat(this.chat.chat_id, this.olderToken, MESSAGES_PAGE);
      if (view !== this.view) {
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
      this.showError(err);
    } finally {
      this.olderLoading = false;
      this.olderButton.disabled = false;
    }
  }

  private refreshEmptyState(): void {
    this.emptyState.hidden = this.messages.length > 0 || this.olderToken !== "";
  }

  private scrollToBottom(force = false): void {
    const scroller = this.log.closest(".scroller");
    if (!scroller) {
      return;
    }
    const near = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 120;
    if (force || near) {
      scroller.scrollTop = scroller.scrollHeight;
    }
  }

  /** Only the last answer offers Regenerate, and not while one is streaming. */
  private refreshActions(): void {
    const lastAssistant = [...this.messages].reverse().find((m) => m.role === "assistant");
    for (const message of this.messages) {
      const button = message.el?.querySelector<HTMLButtonElement>(".msg-regenerate");
      if (button) {
        button.hidden = this.abort !== null || message !== lastAssistant;
      }
    }
  }

  private setStreaming(on: boolean): void {
    // The button that had the focus is about to hide: keep the focus in the message box.
    const moveFocus =
      document.activeElement === this.sendButton || document.activeElement === this.stopButton;
    this.sendButton.hidden = on;
    this.stopButton.hidden = !on;
    if (moveFocus || (!on && document.activeElement === document.body)) {
      this.input.focus();
    }
    this.log.setAttribute("aria-busy", String(on));
    if (!on) {
      this.log.removeAttribute("aria-busy");
    }
    this.refreshActions();
  }

  private stop(): void {
    this.abort?.abort();
  }

  private regenerate(): void {
    const lastUser = [...this.messages].reverse().find((m) => m.role === "user");
    if (lastUser && !this.abort) {
      void this.send(lastUser.content, true);
    }
  }

  /** One turn: creates the chat first if needed, then streams the answer into a new bubble. */
  private async send(content: string, bypassCache: boolean): Promise<void> {
    if (this.abort) {
      return;
    }
    this.hideError();
    const abort = new AbortController();
    this.abort = abort;
    this.setStreaming(true);
    let chat = this.chat;
    if (!chat) {
      try {
        chat = await this.api.createChat();
      } catch (err) {
        this.abort = null;
        this.setStreaming(false);
        this.input.value = content;
        this.showError(err);
        return;
      }
      this.chat = chat;
      history.pushState(null, "", chatPath(chat.chat_id));
      this.sidebar?.bump(chat);
    }
    const view = this.view;
    const user: UiMessage = {
      id: "",
      role: "user",
      content,
      status: "complete",
      cached: false,
      error: "",
      truncated: false,
      el: null,
    };
    const answer: UiMessage = {
      id: "",
      role: "assistant",
      content: "",
      status: "streaming",
      cached: false,
      error: "",
      truncated: false,
      el: null,
    };
    this.messages.push(user, answer);
    this.log.append(renderMessage(user, this.onRegenerate), renderMessage(answer, this.onRegenerate));
    this.refreshEmptyState();
    this.refreshActions();
    this.scrollToBottom(true);

    let frame = 0;
    const redraw = (): void => {
      if (frame) {
        return;
      }
      frame = requestAnimationFrame(() => {
        frame = 0;
        renderContent(answer);
        this.scrollToBottom();
      });
    };
    let ended = false;
    let titled = Boolean(chat.title);
    try {
      const request = { content, client_request_id: newRequestId(), bypass_cache: bypassCache };
      for await (const event of this.api.complete(chat.chat_id, request, abort.signal)) {
        if (event.kind === "delta") {
          answer.content += event.text;
          redraw();
          if (!titled) {
            titled = true; // the server titled the chat when the turn started
            void this.refreshTitle(chat.chat_id);
          }
        } else if (event.kind === "final") {
          ended = true;
          answer.status = "complete";
          answer.id = event.final.assistant_message_id;
          user.id = event.final.user_message_id;
          answer.cached = event.final.cached;
          answer.truncated = event.final.finish_reason === "FINISH_REASON_LENGTH";
        } else {
          ended = true;
          const err = new StreamError(event.error.code, event.error.message, event.error.reason);
          answer.status = "failed";
          answer.id = event.error.assistant_message_id;
          answer.error = describeError(err).text;
          if (view === this.view) {
            this.showError(err);
          }
        }
      }
      if (!ended) {
        answer.status = abort.signal.aborted ? "interrupted" : "failed";
        answer.error = "The connection closed before the answer was complete.";
      }
    } catch (err) {
      if (abort.signal.aborted) {
        answer.status = "interrupted";
      } else {
        answer.status = "failed";
        answer.error =
          err instanceof ApiError || err instanceof StreamError
            ? describeError(err).text
            : "The connection was lost while the answer was streaming.";
        if (view === this.view) {
          this.showError(err instanceof ApiError ? err : new Error(answer.error));
        }
      }
    } finally {
      if (frame) {
        cancelAnimationFrame(frame);
      }
      this.abort = null;
      if (view === this.view) {
        updateMessage(answer, this.onRegenerate);
        updateMessage(user, this.onRegenerate);
        this.setStreaming(false);
        this.scrollToBottom();
      }
    }
    this.sidebar?.bump(chat);
    if (!this.sidebar?.title(chat.chat_id)) {
      await this.refreshTitle(chat.chat_id);
    }
  }

  /** The server titles a chat from its first message. */
  private async refreshTitle(chatId: string): Promise<void> {
    try {
      const page = await this.api.getChat(chatId, "", 1);
      this.sidebar?.setTitle(chatId, page.chat.title);
      if (this.chat?.chat_id === chatId) {
        this.chat.title = page.chat.title;
        this.titleEl.textContent = page.chat.title || UNTITLED;
        document.title = `${page.chat.title || UNTITLED} · chatstack`;
      }
    } catch {
      // the title is cosmetic: the next list refresh brings it
    }
  }
}

export function mount(root: HTMLElement): void {
  const app = new App(root);
  void app.start().catch((err: unknown) => {
    append(root, h("p", { class: "fatal", role: "alert" }, describeError(err).text));
  });
}
