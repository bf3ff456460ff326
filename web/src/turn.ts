// One turn of a chat: sending a message and following its answer's stream into a new bubble.
// A new chat ("/") is created first, on its first message. Stop aborts the stream: the server
// keeps the partial answer as interrupted.

import { type Api, ApiError, type Chat, newRequestId, StreamError } from "./api";
import { type ChatView } from "./chatview";
import { describeError } from "./errors";
import { renderContent, type UiMessage } from "./messages";
import { chatPath } from "./routes";
import { type ChatList } from "./sidebar";
import { type CompletionEvent } from "./sse";

export interface TurnHost {
  sidebar(): ChatList | null;
  failed(err: unknown): void; // shown on the banner (or back to sign-in)
}

/** A turn being streamed. */
interface Turn {
  chat: Chat;
  user: UiMessage;
  answer: UiMessage;
  abort: AbortController;
  view: number; // the chat view's navigation when the turn started
  titled: boolean; // the chat has its title (or is being given it)
  ended: boolean; // the stream ended with its final event or an error event
}

function newMessage(role: UiMessage["role"], content: string): UiMessage {
  return {
    id: "",
    role,
    content,
    status: role === "user" ? "complete" : "streaming",
    cached: false,
    error: "",
    truncated: false,
    el: null,
  };
}

/** Calls `draw` once per animation frame at most. */
function frameScheduler(draw: () => void): { request(): void; cancel(): void } {
  let frame = 0;
  return {
    request: () => {
      if (frame) {
        return;
      }
      frame = requestAnimationFrame(() => {
        frame = 0;
        draw();
      });
    },
    cancel: () => {
      if (frame) {
        cancelAnimationFrame(frame);
      }
    },
  };
}

export class TurnStream {
  private abort: AbortController | null = null;

  constructor(
    private readonly api: Api,
    private readonly chatView: ChatView,
    private readonly host: TurnHost,
  ) {}

  /** An answer is streaming. */
  get active(): boolean {
    return this.abort !== null;
  }

  stop(): void {
    this.abort?.abort();
  }

  /** Asks the last question again, for a fresh answer (not from the cache). */
  regenerate(): void {
    const lastUser = [...this.chatView.messages].reverse().find((m) => m.role === "user");
    if (lastUser && !this.abort) {
      void this.send(lastUser.content, true);
    }
  }

  /** One turn: creates the chat first if needed, then streams the answer into a new bubble. */
  async send(content: string, bypassCache: boolean): Promise<void> {
    if (this.abort) {
      return;
    }
    this.chatView.banner.hide();
    const abort = new AbortController();
    this.abort = abort;
    this.chatView.setStreaming(true);
    const chat = await this.openOrCreate(content);
    if (!chat) {
      return;
    }
    const user = newMessage("user", content);
    const answer = newMessage("assistant", "");
    const turn: Turn = {
      chat,
      user,
      answer,
      abort,
      view: this.chatView.view,
      titled: Boolean(chat.title),
      ended: false,
    };
    this.chatView.addTurn(user, answer);
    await this.follow(turn, content, bypassCache);
    this.host.sidebar()?.bump(chat);
    if (!this.host.sidebar()?.title(chat.chat_id)) {
      await this.chatView.refreshTitle(chat.chat_id);
    }
  }

  /** The open chat, else a new one (null if it could not be created: the message goes back). */
  private async openOrCreate(content: string): Promise<Chat | null> {
    let chat = this.chatView.chat;
    if (chat) {
      return chat;
    }
    try {
      chat = await this.api.createChat();
    } catch (err) {
      this.abort = null;
      this.chatView.setStreaming(false);
      this.chatView.composer.restore(content);
      this.host.failed(err);
      return null;
    }
    this.chatView.chat = chat;
    history.pushState(null, "", chatPath(chat.chat_id));
    this.host.sidebar()?.bump(chat);
    return chat;
  }

  /** Streams the answer into its bubble until the stream ends, fails or is stopped. */
  private async follow(turn: Turn, content: string, bypassCache: boolean): Promise<void> {
    const { user, answer, abort } = turn;
    const redraw = frameScheduler(() => {
      renderContent(answer);
      this.chatView.scrollToBottom();
    });
    try {
      const request = { content, client_request_id: newRequestId(), bypass_cache: bypassCache };
      for await (const event of this.api.complete(turn.chat.chat_id, request, abort.signal)) {
        this.apply(turn, event, redraw.request);
      }
      if (!turn.ended) {
        answer.status = abort.signal.aborted ? "interrupted" : "failed";
        answer.error = "The connection closed before the answer was complete.";
      }
    } catch (err) {
      this.lost(turn, err);
    } finally {
      redraw.cancel();
      this.abort = null;
      if (turn.view === this.chatView.view) {
        this.chatView.update(answer);
        this.chatView.update(user);
        this.chatView.setStreaming(false);
        this.chatView.scrollToBottom();
      }
    }
  }

  private apply(turn: Turn, event: CompletionEvent, redraw: () => void): void {
    const { user, answer } = turn;
    if (event.kind === "delta") {
      answer.content += event.text;
      redraw();
      if (!turn.titled) {
        turn.titled = true; // the server titled the chat when the turn started
        void this.chatView.refreshTitle(turn.chat.chat_id);
      }
    } else if (event.kind === "final") {
      turn.ended = true;
      answer.status = "complete";
      answer.id = event.final.assistant_message_id;
      user.id = event.final.user_message_id;
      answer.cached = event.final.cached;
      answer.truncated = event.final.finish_reason === "FINISH_REASON_LENGTH";
    } else {
      turn.ended = true;
      const err = new StreamError(event.error.code, event.error.message, event.error.reason);
      answer.status = "failed";
      answer.id = event.error.assistant_message_id;
      answer.error = describeError(err).text;
      if (turn.view === this.chatView.view) {
        this.host.failed(err);
      }
    }
  }

  /** The stream broke off: stopped by the user, or lost. */
  private lost(turn: Turn, err: unknown): void {
    const { answer } = turn;
    if (turn.abort.signal.aborted) {
      answer.status = "interrupted";
      return;
    }
    answer.status = "failed";
    answer.error =
      err instanceof ApiError || err instanceof StreamError
        ? describeError(err).text
        : "The connection was lost while the answer was streaming.";
    if (turn.view === this.chatView.view) {
      this.host.failed(err instanceof ApiError ? err : new Error(answer.error));
    }
  }
}
