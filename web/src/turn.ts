// One turn of a chat: sending a message and following its answer into a bubble. The answer is
// generated on the server (SubmitCompletion) whatever the page does, so the page only follows
// it (follow.ts): leaving the chat, reloading or closing the tab stops following, not the
// answer, and coming back (resume) follows it again from the text stored so far. Only Stop
// stops an answer (CancelTurn). A new chat ("/") is created first, on its first message.
// An edited question or a regenerated answer is a turn off the branch shown (fork.ts): the new
// version takes the place of the old one, and of everything below it, in the view.

import { type Api, type Chat, type CompleteRequest, newRequestId, StreamError } from "./api";
import { type ChatView } from "./chatview";
import { frameScheduler } from "./dom";
import { describeError } from "./errors";
import { editFork, type Fork, questionOf, regenerateFork } from "./fork";
import { type FollowEnd, type FollowTiming, followTurn, ReplyText } from "./follow";
import { assignId, newMessage, renderContent, takeStored, type UiMessage } from "./messages";
import { chatPath } from "./routes";
import { type ChatList } from "./sidebar";

export interface TurnHost {
  sidebar(): ChatList | null;
  failed(err: unknown): void; // shown on the banner (or back to sign-in)
}

/** A turn being followed. */
interface Turn {
  chat: Chat;
  requestId: string; // the turn's client_request_id
  user: UiMessage | null; // null for a resumed turn or a new answer (the question is stored)
  answer: UiMessage;
  reply: ReplyText; // the answer's text, as the offsets of the stream count it
  abort: AbortController; // aborted: stop following (a switch away, or Stop)
  view: number; // the chat view's navigation when the turn started
  titled: boolean; // the chat has its title (or is being given it)
  submitted: Promise<boolean>; // the server has the turn (false: it could not be submitted)
  cancelling: boolean; // Stop was pressed: CancelTurn's answer ends the bubble
}

// Error reasons of a turn that was stopped (by Stop, here or in another tab): not a failure.
const STOPPED_REASONS = new Set(["TURN_INTERRUPTED", "TURN_STOPPED"]);
const CANCELLED = 1; // google.rpc.Code

export class TurnStream {
  /** Set while a turn is being started or followed: the composer is busy (Stop shown). */
  private abort: AbortController | null = null;
  private turn: Turn | null = null;

  constructor(
    private readonly api: Api,
    private readonly chatView: ChatView,
    private readonly host: TurnHost,
    private readonly timing: Partial<FollowTiming> = {}, // tests shorten the reconnect delays
  ) {}

  /** An answer is being started or followed. */
  get active(): boolean {
    return this.abort !== null;
  }

  /** Stop: stops the answer on the server, wherever it runs. */
  stop(): void {
    if (this.turn) {
      void this.cancel(this.turn);
    } else {
      this.abort?.abort(); // nothing was submitted yet (the chat is loading or being created)
    }
  }

  /** Stops following (a switch to another chat, signing out): the answer goes on. */
  detach(): void {
    if (this.abort) {
      this.abort.abort();
      this.abort = null;
      this.turn = null;
      this.chatView.setStreaming(false); // the composer is free for the next chat
    }
  }

  /** A new answer to `answer`'s question, beside it (a version, never from the cache); a
   * question the server never stored (its turn was refused) is asked again instead. */
  regenerate(answer: UiMessage): void {
    const fork = regenerateFork(this.chatView.messages, answer);
    const question = questionOf(this.chatView.messages, answer);
    if (fork) {
      void this.fork(fork);
    } else if (question) {
      void this.send(question.content, true);
    }
  }

  /** An edited question: a new version beside it, answered; the view shows its branch. */
  edit(question: UiMessage, content: string): void {
    void this.fork(editFork(this.chatView.messages, question, content));
  }

  /** One turn: creates the chat first if needed, submits the turn, then follows its answer
   * into a new bubble. */
  async send(content: string, bypassCache: boolean): Promise<void> {
    if (this.abort) {
      return;
    }
    this.chatView.banner.hide();
    const abort = new AbortController();
    this.abort = abort;
    this.chatView.setStreaming(true);
    // Sent while the chat was loading: its turn goes below the messages being loaded (showing
    // them starts the view afresh, which would drop a bubble added before).
    await this.chatView.loaded;
    if (abort.signal.aborted) {
      this.giveBack(abort, content); // stopped (or left) before anything was sent
      return;
    }
    const chat = await this.openOrCreate(content, abort);
    if (!chat) {
      return;
    }
    const requestId = newRequestId();
    const user = newMessage("user", content, requestId);
    // An append follows the last message shown (the server may leave that implicit).
    user.parentId = this.chatView.messages.at(-1)?.id ?? "";
    const turn = this.newTurn(chat, requestId, user, abort);
    this.chatView.addTurn(user, turn.answer);
    await this.run(turn, { content, client_request_id: requestId, bypass_cache: bypassCache });
  }

  /** A turn off the branch shown: `fork.from` and the messages below it leave the view, the
   * new version (a question and its answer, or an answer) takes their place. */
  private async fork(fork: Fork): Promise<void> {
    const chat = this.chatView.chat;
    if (this.abort || !chat || !this.chatView.messages.includes(fork.from)) {
      return;
    }
    this.chatView.banner.hide();
    const abort = new AbortController();
    this.abort = abort;
    this.chatView.setStreaming(true);
    const requestId = newRequestId();
    const user = fork.request.regenerate_message_id ? null : newMessage("user", fork.content, requestId);
    const turn = this.newTurn(chat, requestId, user, abort);
    const version = user ?? turn.answer;
    version.parentId = fork.parentId;
    version.siblingIds = [...fork.versions, ""]; // "": its id, once the server tells it
    this.chatView.replaceFrom(fork.from, user, turn.answer);
    await this.run(turn, { content: fork.content, client_request_id: requestId, ...fork.request });
  }

  /** Submits the turn, then follows its answer (or ends the bubble if it was refused). */
  private async run(turn: Turn, request: CompleteRequest): Promise<void> {
    turn.submitted = this.submit(turn, request);
    this.turn = turn;
    if (await turn.submitted) {
      await this.follow(turn);
    } else {
      this.finish(turn);
    }
  }

  /** Follows the open chat's answer if it is still being generated (GetChat says so): after a
   * reload, in a new tab, or back from another chat. */
  resume(): void {
    const chat = this.chatView.chat;
    const last = this.chatView.messages.at(-1);
    if (this.abort || !chat || last?.role !== "assistant" || last.status !== "pending" || !last.requestId) {
      return;
    }
    const abort = new AbortController();
    this.abort = abort;
    const turn = this.newTurn(chat, last.requestId, null, abort, last);
    this.turn = turn;
    this.chatView.setStreaming(true);
    void this.follow(turn);
  }

  private newTurn(
    chat: Chat,
    requestId: string,
    user: UiMessage | null,
    abort: AbortController,
    answer = newMessage("assistant", "", requestId),
  ): Turn {
    return {
      chat,
      requestId,
      user,
      answer,
      reply: new ReplyText(answer.content),
      abort,
      view: this.chatView.view,
      titled: Boolean(chat.title),
      submitted: Promise.resolve(true),
      cancelling: false,
    };
  }

  /** The open chat, else a new one (null if it could not be created: the message goes back). */
  private async openOrCreate(content: string, abort: AbortController): Promise<Chat | null> {
    let chat = this.chatView.chat;
    if (chat) {
      return chat;
    }
    const view = this.chatView.view;
    try {
      chat = await this.api.createChat();
    } catch (err) {
      this.host.failed(err);
      chat = null;
    }
    if (!chat || abort.signal.aborted || view !== this.chatView.view) {
      this.giveBack(abort, content); // failed, stopped, or left meanwhile: no turn is sent
      return null;
    }
    this.chatView.chat = chat;
    history.pushState(null, "", chatPath(chat.chat_id));
    this.host.sidebar()?.bump(chat);
    return chat;
  }

  /** Nothing was sent: the composer is free again, with the message back in its box. */
  private giveBack(abort: AbortController, content: string): void {
    if (this.abort === abort) {
      this.abort = null;
      this.chatView.setStreaming(false);
      this.chatView.composer.restore(content);
    }
  }

  /** Starts the turn on the server; false (the bubble failed, in words) if it was refused. */
  private async submit(turn: Turn, request: CompleteRequest): Promise<boolean> {
    const { chat, user, answer } = turn;
    try {
      const submitted = await this.api.submitTurn(chat.chat_id, request);
      if (user) {
        assignId(user, submitted.user_message?.message_id ?? "");
        user.parentId = submitted.user_message?.parent_id || user.parentId;
      }
      assignId(answer, submitted.assistant_message?.message_id ?? "");
      // An append's answer may come with its parent left implicit: it is its question.
      answer.parentId =
        submitted.assistant_message?.parent_id || submitted.user_message?.message_id || answer.parentId;
      this.host.sidebar()?.bump(chat);
      return true;
    } catch (err) {
      answer.status = "failed";
      answer.error = describeError(err).text;
      if (this.inView(turn)) {
        this.host.failed(err);
      }
      return false;
    }
  }

  /** Follows the answer into its bubble until the turn ends, or following stops. */
  private async follow(turn: Turn): Promise<void> {
    const { answer } = turn;
    answer.status = "streaming";
    this.chatView.update(answer); // a resumed bubble: its cursor, not its "incomplete" mark
    const redraw = frameScheduler(() => {
      renderContent(answer);
      this.chatView.scrollToBottom();
    });
    const end = await followTurn(this.api, turn.chat.chat_id, turn.requestId, turn.reply, {
      signal: turn.abort.signal,
      timing: this.timing,
      onText: () => {
        answer.content = turn.reply.value;
        redraw.request();
        this.titleOnce(turn);
      },
      onTrouble: () => {
        if (this.inView(turn)) {
          this.host.failed(new Error("The connection to the answer was lost. Reconnecting…"));
        }
      },
      onRecovered: () => {
        if (this.inView(turn)) {
          this.chatView.banner.hide();
        }
      },
    });
    redraw.cancel();
    if (end.kind === "aborted") {
      return; // left (nothing to show), or Stop (cancel() ends the bubble)
    }
    answer.content = turn.reply.value;
    this.ended(turn, end);
    this.finish(turn);
    if (!this.host.sidebar()?.title(turn.chat.chat_id)) {
      await this.chatView.refreshTitle(turn.chat.chat_id);
    }
  }

  /** The server titled the chat when the turn started: shown once its answer begins. */
  private titleOnce(turn: Turn): void {
    if (!turn.titled) {
      turn.titled = true;
      void this.chatView.refreshTitle(turn.chat.chat_id);
    }
  }

  private ended(turn: Turn, end: Exclude<FollowEnd, { kind: "aborted" }>): void {
    const { user, answer } = turn;
    if (end.kind === "final") {
      answer.status = "complete";
      assignId(answer, end.final.assistant_message_id);
      if (user) {
        assignId(user, end.final.user_message_id);
      }
      answer.cached = end.final.cached;
      answer.truncated = end.final.finish_reason === "FINISH_REASON_LENGTH";
      return;
    }
    if (end.kind === "error" && (STOPPED_REASONS.has(end.error.reason) || end.error.code === CANCELLED)) {
      answer.status = "interrupted"; // stopped, maybe from another tab: not an error
      return;
    }
    const err =
      end.kind === "error" ? new StreamError(end.error.code, end.error.message, end.error.reason) : end.err;
    answer.status = "failed";
    answer.error = describeError(err).text;
    if (this.inView(turn)) {
      this.host.failed(err);
    }
  }

  /** Stop: stops following at once, then the turn on the server; its answer (the stopped
   * reply as stored) ends the bubble. */
  private async cancel(turn: Turn): Promise<void> {
    if (turn.cancelling) {
      return;
    }
    turn.cancelling = true;
    turn.abort.abort();
    if (!(await turn.submitted)) {
      return; // nothing runs on the server: send() ends the bubble
    }
    try {
      const stopped = await this.api.cancelTurn(turn.chat.chat_id, turn.requestId);
      takeStored(turn.answer, stopped.assistant_message);
    } catch (err) {
      if (this.inView(turn)) {
        this.host.failed(err);
      }
      this.followAgain(turn); // still running: followed on, and Stop can be pressed again
      return;
    }
    if (turn.answer.status === "pending") {
      this.followAgain(turn); // not stopped yet: its stream tells how it ends
      return;
    }
    this.finish(turn);
  }

  private followAgain(turn: Turn): void {
    if (this.turn !== turn) {
      return; // left meanwhile
    }
    turn.cancelling = false;
    turn.abort = new AbortController();
    turn.reply = new ReplyText(turn.answer.content);
    this.abort = turn.abort;
    void this.follow(turn);
  }

  /** The turn is over: its bubble shows how it ended, and the composer is free again. */
  private finish(turn: Turn): void {
    if (this.turn === turn) {
      this.turn = null;
      this.abort = null;
    }
    if (this.inView(turn)) {
      this.chatView.update(turn.answer);
      if (turn.user) {
        this.chatView.update(turn.user);
      }
      this.chatView.setStreaming(false);
      this.chatView.scrollToBottom();
    }
  }

  private inView(turn: Turn): boolean {
    return turn.view === this.chatView.view;
  }
}
