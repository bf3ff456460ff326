// Following a turn that runs on the server (StreamTurn) into the reply text the page holds.
// The turn does not depend on the page: following it is only reading. So a dropped connection
// is simply followed again from the text held (the server sends only what is missing), backing
// off, until the turn ends or the follower stops (Stop, a switch to another chat, signing out).

import { type Api, ApiError } from "./api";
import { type CompleteError, type CompleteFinal } from "./sse";

/** The reply text held, with its length in Unicode code points: the unit of the server's
 * offsets (a JS string's length counts UTF-16 units, which differ for emoji and the like). */
export class ReplyText {
  private text: string;
  private points: number;
  /** The run of the turn the text belongs to, once a delta said (sent back on resuming). */
  attempt = "";

  constructor(text = "") {
    this.text = text;
    this.points = Array.from(text).length;
  }

  get value(): string {
    return this.text;
  }

  /** Code points held: the offset to resume from. */
  get length(): number {
    return this.points;
  }

  /** A delta: `text` starts at `offset`. An offset below what is held means the turn restarted
   * (another replica took it over): what is held from there is dropped, then `text` appended.
   * False for an offset past what is held: text is missing, so nothing is taken. */
  apply(offset: number, text: string): boolean {
    if (offset > this.points) {
      return false;
    }
    if (offset < this.points) {
      this.text = Array.from(this.text).slice(0, offset).join("");
      this.points = offset;
    }
    this.text += text;
    this.points += Array.from(text).length;
    return true;
  }
}

/** How following ended: the turn's end (final or error event), the follower stopped (aborted),
 * or the server refused to stream it (signed out, the chat deleted ...): retrying is useless. */
export type FollowEnd =
  | { kind: "final"; final: CompleteFinal }
  | { kind: "error"; error: CompleteError }
  | { kind: "aborted" }
  | { kind: "refused"; err: unknown };

export interface FollowTiming {
  firstDelayMs: number; // the first reconnect waits this long, each next one twice as long ...
  maxDelayMs: number; // ... up to this
  quietMs: number; // failing for this long is worth telling the user (before, it is a blip)
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  now(): number;
}

export interface FollowOptions {
  signal: AbortSignal; // aborted: stop following (the turn goes on)
  onText(): void; // the reply changed
  onTrouble(err: unknown): void; // reconnecting has failed for `quietMs`: once per outage
  onRecovered(): void; // connected again after onTrouble
  timing?: Partial<FollowTiming>;
}

/** Waits `ms`, or less if `signal` aborts meanwhile. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

const DEFAULT_TIMING: FollowTiming = {
  firstDelayMs: 500,
  maxDelayMs: 5000,
  quietMs: 10_000,
  sleep,
  now: () => Date.now(),
};

/** A client error (4xx but timeouts and rate limits) will be answered the same way again. */
export function isRetryable(err: unknown): boolean {
  if (err instanceof ApiError) {
    return err.status === 0 || err.status === 408 || err.status === 429 || err.status >= 500;
  }
  return true; // a connection dropped mid-body (TypeError), an unreadable event ...
}

/** Reconnection bookkeeping: the next delay, and whether the outage has lasted long enough to
 * be told (a short blip is not worth a banner). */
class Backoff {
  private delay: number;
  private since: number | null = null; // the first failure since the last good event
  private told = false;

  constructor(
    private readonly timing: FollowTiming,
    private readonly options: FollowOptions,
  ) {
    this.delay = timing.firstDelayMs;
  }

  /** An event arrived: the connection works. */
  connected(): void {
    this.delay = this.timing.firstDelayMs;
    this.since = null;
    if (this.told) {
      this.told = false;
      this.options.onRecovered();
    }
  }

  /** A connection failed or closed early: waits before the next try. */
  async failed(err: unknown): Promise<void> {
    const now = this.timing.now();
    this.since ??= now;
    if (!this.told && now - this.since >= this.timing.quietMs) {
      this.told = true;
      this.options.onTrouble(err);
    }
    const delay = this.delay;
    this.delay = Math.min(this.delay * 2, this.timing.maxDelayMs);
    await this.timing.sleep(delay, this.options.signal);
  }
}

/** Follows the turn into `reply` until it ends (its final or error event), the server refuses
 * it, or `signal` aborts; reconnects from `reply.length` whenever the stream drops. */
export async function followTurn(
  api: Pick<Api, "streamTurn">,
  chatId: string,
  requestId: string,
  reply: ReplyText,
  options: FollowOptions,
): Promise<FollowEnd> {
  const backoff = new Backoff({ ...DEFAULT_TIMING, ...options.timing }, options);
  const { signal } = options;
  while (!signal.aborted) {
    let failure: unknown;
    try {
      const end = await followOnce(api, chatId, requestId, reply, options, backoff);
      if (end) {
        return end;
      }
      failure = new ApiError(0, "the connection closed before the answer was complete");
    } catch (err) {
      if (signal.aborted) {
        break;
      }
      if (!isRetryable(err)) {
        return { kind: "refused", err };
      }
      failure = err;
    }
    await backoff.failed(failure);
  }
  return { kind: "aborted" };
}

/** One connection: the turn's end, or null when the stream closed early or skipped text. */
async function followOnce(
  api: Pick<Api, "streamTurn">,
  chatId: string,
  requestId: string,
  reply: ReplyText,
  options: FollowOptions,
  backoff: Backoff,
): Promise<FollowEnd | null> {
  const events = api.streamTurn(chatId, requestId, reply.length, options.signal, reply.attempt);
  for await (const event of events) {
    backoff.connected();
    if (event.kind === "final") {
      return { kind: "final", final: event.final };
    }
    if (event.kind === "error") {
      return { kind: "error", error: event.error };
    }
    if (event.text === "" && event.offset >= reply.length) {
      continue; // a keepalive (an empty delta below what is held cuts the text back to it)
    }
    if (!reply.apply(event.offset, event.text)) {
      return null; // a gap: follow again from what is held
    }
    reply.attempt = event.attempt || reply.attempt;
    options.onText();
  }
  return null;
}
