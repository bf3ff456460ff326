// A fake of Api.streamTurn for the follow and turn tests: each call (a connection) gets its own
// channel, which the test feeds with events, breaks (a dropped connection) or ends; aborting the
// call's signal rejects it as fetch does (an AbortError).
import { type CompletionEvent } from "../src/sse";

export class Connection {
  private readonly queue: (CompletionEvent | { fail: unknown } | { end: true })[] = [];
  private wake: (() => void) | null = null;

  constructor(
    readonly offset: number,
    readonly signal: AbortSignal,
    readonly attempt = "",
  ) {
    signal.addEventListener("abort", () => this.wake?.());
  }

  delta(text: string, offset: number, attempt = ""): this {
    return this.push({ kind: "delta", text, offset, attempt });
  }

  final(cached = false): this {
    return this.push({
      kind: "final",
      final: {
        user_message_id: "u1",
        assistant_message_id: "a1",
        finish_reason: "FINISH_REASON_STOP",
        cached,
        cache_similarity: 0,
        model: "m",
      },
    });
  }

  error(code: number, reason: string, message = "it broke"): this {
    return this.push({ kind: "error", error: { code, message, reason, assistant_message_id: "a1" } });
  }

  /** The connection drops (as a body read fails when the network goes). */
  fail(err: unknown = new TypeError("network error")): this {
    return this.push({ fail: err });
  }

  /** The server closes the stream without an end event. */
  end(): this {
    return this.push({ end: true });
  }

  private push(item: CompletionEvent | { fail: unknown } | { end: true }): this {
    this.queue.push(item);
    this.wake?.();
    return this;
  }

  async *events(): AsyncGenerator<CompletionEvent> {
    for (;;) {
      if (this.signal.aborted) {
        throw new DOMException("aborted", "AbortError");
      }
      const item = this.queue.shift();
      if (item === undefined) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = null;
        continue;
      }
      if ("fail" in item) {
        throw item.fail;
      }
      if ("end" in item) {
        return;
      }
      yield item;
    }
  }
}

/** streamTurn's fake: `connections` lists the calls made, in order, each with its offset. */
export class FakeStreams {
  readonly connections: Connection[] = [];
  private readonly waiting: ((c: Connection) => void)[] = [];

  readonly streamTurn = (
    _chatId: string,
    _requestId: string,
    offset: number,
    signal: AbortSignal,
    attempt = "",
  ): AsyncGenerator<CompletionEvent> => {
    const connection = new Connection(offset, signal, attempt);
    this.connections.push(connection);
    this.waiting.shift()?.(connection);
    return connection.events();
  };

  /** The connection made `n`-th (0-based), once it is made. */
  async connection(n: number): Promise<Connection> {
    for (;;) {
      const made = this.connections[n];
      if (made) {
        return made;
      }
      await new Promise<Connection>((resolve) => this.waiting.push(resolve));
    }
  }
}
