// Server-sent events over fetch(): a completion is a POST with a JSON body, which EventSource
// cannot send, so the response body (a ReadableStream) is parsed here, following the WHATWG
// "event stream interpretation" rules: lines end in CRLF, LF or CR (a CRLF may be split across
// two chunks), `:` starts a comment, `data` lines of one event are joined with "\n", a blank
// line dispatches the event, and an event still open when the stream ends is dropped.

export interface SseEvent {
  event: string; // "message" unless the server named it
  data: string;
  id: string | null;
}

export class SseParser {
  private buffer = "";
  private afterCR = false; // the previous chunk ended in CR: a leading LF belongs to it
  private data: string[] = [];
  private hasData = false;
  private eventType = "";
  private lastId: string | null = null;

  /** Parses a chunk of decoded text; returns the events it completed, in order. */
  feed(chunk: string): SseEvent[] {
    let text = chunk;
    if (this.afterCR && text.startsWith("\n")) {
      text = text.slice(1);
    }
    this.afterCR = false;
    this.buffer += text;
    const events: SseEvent[] = [];
    let start = 0;
    for (let i = 0; i < this.buffer.length; i++) {
      const ch = this.buffer[i];
      if (ch !== "\n" && ch !== "\r") {
        continue;
      }
      const line = this.buffer.slice(start, i);
      if (ch === "\r") {
        if (i + 1 === this.buffer.length) {
          this.afterCR = true; // maybe the first half of a CRLF split across chunks
        } else if (this.buffer[i + 1] === "\n") {
          i++;
        }
      }
      start = i + 1;
      const event = this.line(line);
      if (event !== null) {
        events.push(event);
      }
    }
    this.buffer = this.buffer.slice(start);
    return events;
  }

  /** End of stream: an event without its terminating blank line is discarded (per spec). */
  end(): SseEvent[] {
    this.buffer = "";
    this.reset();
    return [];
  }

  /** Whether the stream ended in the middle of an event (for error reporting). */
  get pending(): boolean {
    return this.buffer.length > 0 || this.hasData;
  }

  private reset(): void {
    this.data = [];
    this.hasData = false;
    this.eventType = "";
  }

  private line(line: string): SseEvent | null {
    if (line === "") {
      if (!this.hasData) {
        this.eventType = "";
        return null;
      }
      const event = { event: this.eventType || "message", data: this.data.join("\n"), id: this.lastId };
      this.reset();
      return event;
    }
    if (line.startsWith(":")) {
      return null; // comment (keep-alive)
    }
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) {
      value = value.slice(1);
    }
    switch (field) {
      case "data":
        this.data.push(value);
        this.hasData = true;
        break;
      case "event":
        this.eventType = value;
        break;
      case "id":
        if (!value.includes("\0")) {
          this.lastId = value;
        }
        break;
      default:
        break; // "retry" and unknown fields: ignored
    }
    return null;
  }
}

/** The events of a byte stream, decoded as UTF-8 (a character may span two chunks). */
export async function* readSse(body: ReadableStream<Uint8Array>): AsyncGenerator<SseEvent> {
  const reader = body.getReader();
  const decoder = new TextDecoder("utf-8");
  const parser = new SseParser();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) {
        yield* parser.feed(decoder.decode());
        parser.end();
        return;
      }
      yield* parser.feed(decoder.decode(value, { stream: true }));
    }
  } finally {
    reader.releaseLock();
  }
}

// --- the completion stream's events (chatstack.chat.v1.CompleteResponse as JSON) -------------

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
}

export interface CompleteFinal {
  user_message_id: string;
  assistant_message_id: string;
  usage?: Usage;
  finish_reason: string;
  cached: boolean;
  cache_similarity: number;
  model: string;
}

export interface CompleteError {
  code: number; // google.rpc.Code
  message: string;
  reason: string;
  assistant_message_id: string;
}

export type CompletionEvent =
  // offset: where `text` starts in the reply, in code points (StreamTurn; 0 elsewhere);
  // attempt: the run of the turn the text belongs to (StreamTurn, when known; "" otherwise).
  | { kind: "delta"; text: string; offset: number; attempt: string }
  | { kind: "final"; final: CompleteFinal }
  | { kind: "error"; error: CompleteError };

export class ProtocolError extends Error {
  override name = "ProtocolError";
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function str(value: unknown): string {
  return typeof value === "string" ? value : "";
}

function num(value: unknown): number {
  return typeof value === "number" && Number.isFinite(value) ? value : 0;
}

/** A delta's offset: an int32, a number in proto3 JSON (absent when 0); a numeric string is
 * taken too, as proto3 JSON parsers must accept one. */
function offsetOf(value: unknown): number {
  const n = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
  return typeof n === "number" && Number.isInteger(n) && n > 0 ? n : 0;
}

/** One `data:` payload of the completion stream. */
export function parseCompletionEvent(data: string): CompletionEvent {
  let parsed: unknown;
  try {
    parsed = JSON.parse(data);
  } catch {
    throw new ProtocolError(`the server sent an unreadable event: ${data.slice(0, 80)}`);
  }
  if (!isObject(parsed)) {
    throw new ProtocolError("the server sent an event that is not an object");
  }
  // The transcoder may wrap a streamed message as {"result": {...}} (grpc-gateway style).
  const event = isObject(parsed.result) ? parsed.result : parsed;
  if (isObject(event.delta)) {
    const delta = event.delta;
    return {
      kind: "delta",
      text: str(delta.text),
      offset: offsetOf(delta.offset),
      attempt: str(delta.attempt),
    };
  }
  if (isObject(event.final)) {
    const f = event.final;
    const usage = isObject(f.usage)
      ? { prompt_tokens: num(f.usage.prompt_tokens), completion_tokens: num(f.usage.completion_tokens) }
      : undefined;
    return {
      kind: "final",
      final: {
        user_message_id: str(f.user_message_id),
        assistant_message_id: str(f.assistant_message_id),
        usage,
        finish_reason: str(f.finish_reason),
        cached: f.cached === true,
        cache_similarity: num(f.cache_similarity),
        model: str(f.model),
      },
    };
  }
  if (isObject(event.error)) {
    const e = event.error;
    return {
      kind: "error",
      error: {
        code: num(e.code),
        message: str(e.message),
        reason: str(e.reason),
        assistant_message_id: str(e.assistant_message_id),
      },
    };
  }
  // {"code": .., "message": ..}: an error status printed as the body of a stream.
  if (typeof parsed.code === "number" && typeof parsed.message === "string") {
    return {
      kind: "error",
      error: { code: parsed.code, message: parsed.message, reason: "", assistant_message_id: "" },
    };
  }
  throw new ProtocolError("the server sent an event of an unknown kind");
}

/** The completion events of a response body, ending after `final` or `error`. */
export async function* readCompletion(body: ReadableStream<Uint8Array>): AsyncGenerator<CompletionEvent> {
  for await (const sse of readSse(body)) {
    if (sse.event !== "message" || sse.data === "") {
      continue;
    }
    const event = parseCompletionEvent(sse.data);
    yield event;
    if (event.kind !== "delta") {
      return;
    }
  }
}
