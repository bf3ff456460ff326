// The single-page app: a sign-in screen, then a sidebar of chats beside the open chat.
// Routes (history API; the static server answers every non-file path with index.html):
//   /           a new chat (created on the first message, titled by the server from it)
//   /c/<id>     a stored chat
// App composes the components: the sign-in screen (signin.ts), the page's layout (layout.ts),
// the sidebar's chat list (sidebar.ts), the open chat (chatview.ts), the turn being answered
// (turn.ts; following its answer: follow.ts; editing a question: edit.ts and fork.ts; the versions
// at a fork: versions.ts), the confirmation dialog (confirm.ts), the API keys
// dialog (apikeys.ts), the export and import of chats (transfer.ts) and the search over them
// (search.ts).

import { Api, type Chat } from "./api";
import { ApiKeysPanel } from "./apikeys";
import {
  clearToken,
  fetchUiConfig,
  isExpired,
  loadToken,
  readClaims,
  saveToken,
  type UiConfig,
} from "./auth";
import { ChatView } from "./chatview";
import { ConfirmDialog } from "./confirm";
import { append, h } from "./dom";
import { describeError } from "./errors";
import { Shell } from "./layout";
import { chatIdFromPath, chatPath } from "./routes";
import { ChatSearchBox } from "./search";
import { ChatList, UNTITLED } from "./sidebar";
import { signInScreen } from "./signin";
import { TransferControls } from "./transfer";
import { TurnStream } from "./turn";
import { VersionSwitch } from "./versions";

export class App {
  private readonly api = new Api(() => this.token);
  private token: string | null = null;
  private config: UiConfig = { dev_tokens: false };

  private sidebar: ChatList | null = null;
  private readonly chatView: ChatView;
  private readonly turns: TurnStream;
  private readonly versions: VersionSwitch;
  private shell: Shell | null = null;
  private dialog!: ConfirmDialog;
  private apiKeys: ApiKeysPanel | null = null;

  constructor(private readonly root: HTMLElement) {
    this.chatView = new ChatView(this.api, {
      sidebar: () => this.sidebar,
      failed: (err) => this.showError(err),
      streaming: () => this.turns.active || this.versions.switching,
      send: (content) => void this.turns.send(content, false),
      stop: () => this.turns.stop(),
      regenerate: (answer) => this.turns.regenerate(answer),
      edit: (question, content) => this.turns.edit(question, content),
      select: (_message, versionId) => void this.versions.select(versionId, this.turns.active),
    });
    this.turns = new TurnStream(this.api, this.chatView, {
      sidebar: () => this.sidebar,
      failed: (err) => this.showError(err),
    });
    this.versions = new VersionSwitch(this.api, this.chatView, {
      failed: (err) => this.showError(err),
      resume: () => this.turns.resume(),
    });
  }

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
    this.turns.detach(); // signing out leaves a running answer to finish on the server
    this.sidebar?.stop();
    this.apiKeys?.close(); // forgets a new key's secret
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
    this.chatView.clear();
    if (location.pathname !== "/") {
      history.replaceState(null, "", "/"); // the next sign-in (maybe someone else's) starts afresh
    }
    this.showSignIn(notice);
  }

  // --- layout -----------------------------------------------------------------------------

  private async showMain(): Promise<void> {
    const claims = this.token ? readClaims(this.token) : null;
    this.sidebar?.stop();
    const chats = new ChatList(this.api, {
      open: (chatId) => {
        this.navigate(chatPath(chatId));
        this.shell?.closeSidebarOnMobile();
      },
      remove: (chatId, title, button) => void this.confirmDelete(chatId, title, button),
      renamed: (chatId, title) => this.chatView.setTitle(chatId, title),
      failed: (err) => this.showError(err),
    });
    this.sidebar = chats;
    const dialog = new ConfirmDialog();
    this.dialog = dialog;
    const apiKeys = new ApiKeysPanel(this.api, {
      confirm: (title, body, action) => dialog.ask(title, body, action),
      failed: (err) => this.showError(err),
    });
    this.apiKeys = apiKeys;
    const transfer = new TransferControls(this.api, {
      imported: (result) => this.showImported(result.chats),
      failed: (err) => this.showError(err),
    });
    const search = new ChatSearchBox(this.api, {
      open: (chatId) => this.navigate(chatPath(chatId)),
      showing: (active) => {
        chats.scroller.hidden = active;
      },
      failed: (err) => this.showError(err),
    });
    this.shell = new Shell({
      userName: claims?.sub || "signed in",
      chats,
      search,
      newChat: () => this.navigate("/"),
      apiKeys: () => void apiKeys.open(),
      transfer: transfer.el,
      signOut: () => this.signOut(),
      main: (menu) => this.chatView.render(menu),
      dialogs: [dialog.el, apiKeys.el],
    });
    this.root.replaceChildren(this.shell.el);
    await Promise.all([chats.start(), this.route()]);
  }

  private showError(err: unknown): void {
    const { text, action } = describeError(err);
    if (action === "sign-in") {
      this.signOut(text);
      return;
    }
    this.chatView.banner.show(text, action);
  }

  /** Imported chats go to the top of the list (the newest first), as if just active. */
  private showImported(chats: Chat[]): void {
    const time = (chat: Chat): number => Date.parse(chat.create_time ?? "") || 0;
    for (const chat of [...chats].sort((a, b) => time(a) - time(b))) {
      this.sidebar?.bump(chat);
    }
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
    this.turns.detach(); // leaving a chat stops following its answer, not the answer
    this.chatView.banner.hide();
    const chatId = chatIdFromPath(location.pathname);
    if (chatId) {
      await this.chatView.open(chatId);
      this.turns.resume(); // its answer may still be being generated: follow it again
    } else {
      if (location.pathname !== "/") {
        history.replaceState(null, "", "/");
      }
      this.chatView.show(null, []);
      this.chatView.composer.focus();
    }
  }

  // --- deleting a chat ----------------------------------------------------------------------

  private async confirmDelete(chatId: string, title: string, button: HTMLButtonElement): Promise<void> {
    const confirmed = await this.dialog.ask(
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
    if (this.chatView.chat?.chat_id === chatId) {
      this.navigate("/");
    } else {
      (next ?? this.chatView.composer).focus();
    }
  }
}

export function mount(root: HTMLElement): void {
  const app = new App(root);
  void app.start().catch((err: unknown) => {
    append(root, h("p", { class: "fatal", role: "alert" }, describeError(err).text));
  });
}
