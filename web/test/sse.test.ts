import { describe, expect, it } from "vitest";
import {
  parseCompletionEvent,
  ProtocolError,
  readCompletion,
  readSse,
  SseParser,
  type SseEvent,
} from "../src/sse";

const encoder = new TextEncoder();

function streamOf(chunks: (string | Uint8Array)[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) {
        controller.enqueue(typeof chunk === "string" ? encoder.encode(chunk) : chunk);
      }
      controller.close();
    },
  });
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) {
    out.push(item);
  }
  return out;
}

function feedAll(chunks: string[]): SseEvent[] {
  const parser = new SseParser();
  return chunks.flatMap((chunk) => parser.feed(chunk));
}

const data = (events: SseEvent[]): string[] => events.map((e) => e.data);

describe("SseParser", () => {
  it("parses events separated by blank lines", () => {
    const events = feedAll(['data: {"a":1}\n\ndata: {"b":2}\n\n']);
    expect(data(events)).toEqual(['{"a":1}', '{"b":2}']);
    expect(events[0]?.event).toBe("message");
  });

  it("completes an event only at its blank line, whatever the chunking", () => {
    const text = 'data: {"delta":{"text":"Hel"}}\n\ndata: {"delta":{"text":"lo"}}\n\n';
    for (let size = 1; size <= text.length; size++) {
      const chunks: string[] = [];
      for (let i = 0; i < text.length; i += size) {
        chunks.push(text.slice(i, i + size));
      }
      expect(data(feedAll(chunks))).toEqual(['{"delta":{"text":"Hel"}}', '{"delta":{"text":"lo"}}']);
    }
  });

  it("holds back an event until its terminating blank line arrives", () => {
    const parser = new SseParser();
    expect(parser.feed("data: one\n")).toEqual([]);
    expect(parser.pending).toBe(true);
    expect(data(parser.feed("\n"))).toEqual(["one"]);
    expect(parser.pending).toBe(false);
  });

  it("accepts CRLF, CR and LF line ends, a CRLF split across chunks included", () => {
    expect(data(feedAll(["data: a\r\n\r\ndata: b\r\rdata: c\n\n"]))).toEqual(["a", "b", "c"]);
    expect(data(feedAll(["data: x\r", "\n\r", "\ndata: y\r\n\r\n"]))).toEqual(["x", "y"]);
  });

  it("joins multi-line data with newlines and strips one leading space only", () => {
    expect(data(feedAll(["data: line1\ndata:  line2\ndata:line3\n\n"]))).toEqual(["line1\n line2\nline3"]);
  });

  it("ignores comments, unknown fields and blank lines without data", () => {
    const events = feedAll([": keep-alive\n\nretry: 100\nfoo: bar\n\n\n\ndata: x\n\n"]);
    expect(data(events)).toEqual(["x"]);
  });

  it("reads event names and ids", () => {
    const [event] = feedAll(["event: ping\nid: 7\ndata: {}\n\n"]);
    expect(event).toEqual({ event: "ping", data: "{}", id: "7" });
  });

  it("drops an event left open at the end of the stream", () => {
    const parser = new SseParser();
    parser.feed("data: half");
    expect(parser.end()).toEqual([]);
  });
});

describe("readSse", () => {
  it("decodes UTF-8 characters split between chunks", async () => {
    const bytes = encoder.encode('data: {"delta":{"text":"héllo 🌍"}}\n\n');
    const emoji = bytes.indexOf(0xf0);
    const chunks = [bytes.slice(0, 25), bytes.slice(25, emoji + 2), bytes.slice(emoji + 2)];
    const events = await collect(readSse(streamOf(chunks)));
    expect(data(events)).toEqual(['{"delta":{"text":"héllo 🌍"}}']);
  });
});

describe("parseCompletionEvent", () => {
  it("reads deltas, finals and errors", () => {
    expect(parseCompletionEvent('{"delta":{"text":"Hi"}}')).toEqual({
      kind: "delta",
      text: "Hi",
      offset: 0,
      attempt: "",
    });
    const final = parseCompletionEvent(
      '{"final":{"user_message_id":"u","assistant_message_id":"a","usage":{"prompt_tokens":3,"completion_tokens":5},' +
        '"finish_reason":"FINISH_REASON_STOP","cached":true,"cache_similarity":0.98,"model":"m"}}',
    );
    expect(final).toEqual({
      kind: "final",
      final: {
        user_message_id: "u",
        assistant_message_id: "a",
        usage: { prompt_tokens: 3, completion_tokens: 5 },
        finish_reason: "FINISH_REASON_STOP",
        cached: true,
        cache_similarity: 0.98,
        model: "m",
      },
    });
    expect(
      parseCompletionEvent('{"error":{"code":14,"message":"down","reason":"INFERENCE_UNAVAILABLE"}}'),
    ).toEqual({
      kind: "error",
      error: { code: 14, message: "down", reason: "INFERENCE_UNAVAILABLE", assistant_message_id: "" },
    });
  });

  it("defaults missing fields (proto3 JSON may omit them)", () => {
    const event = parseCompletionEvent('{"final":{}}');
    expect(event.kind === "final" && event.final.cached).toBe(false);
    expect(parseCompletionEvent('{"delta":{}}')).toEqual({ kind: "delta", text: "", offset: 0, attempt: "" });
  });

  it("reads a delta's offset (StreamTurn), absent meaning 0", () => {
    expect(parseCompletionEvent('{"delta":{"text":"é","offset":7,"attempt":"a1"}}')).toEqual({
      kind: "delta",
      text: "é",
      offset: 7,
      attempt: "a1",
    });
    expect(parseCompletionEvent('{"delta":{"text":"a","offset":"12"}}')).toMatchObject({ offset: 12 });
    expect(parseCompletionEvent('{"delta":{"text":"a","offset":-3}}')).toMatchObject({ offset: 0 });
  });

  it("unwraps grpc-gateway style results and reads bare status bodies", () => {
    expect(parseCompletionEvent('{"result":{"delta":{"text":"x"}}}')).toEqual({
      kind: "delta",
      text: "x",
      offset: 0,
      attempt: "",
    });
    expect(parseCompletionEvent('{"code":8,"message":"busy","details":[]}')).toMatchObject({
      kind: "error",
      error: { code: 8, message: "busy" },
    });
  });

  it("rejects what is not a completion event", () => {
    expect(() => parseCompletionEvent("not json")).toThrow(ProtocolError);
    expect(() => parseCompletionEvent("[1]")).toThrow(ProtocolError);
    expect(() => parseCompletionEvent('{"other":1}')).toThrow(ProtocolError);
  });
});

describe("readCompletion", () => {
  it("yields deltas then the final event, and stops there", async () => {
    const body = streamOf([
      'data: {"delta":{"text":"Hel"}}\n\ndata: {"delta":',
      '{"text":"lo"}}\n\n: comment\n\ndata: {"final":{"cached":false}}\n\n',
      'data: {"delta":{"text":"after the end"}}\n\n',
    ]);
    const events = await collect(readCompletion(body));
    expect(events.map((e) => e.kind)).toEqual(["delta", "delta", "final"]);
    expect(events.flatMap((e) => (e.kind === "delta" ? [e.text] : [])).join("")).toBe("Hello");
  });

  it("ends without a final event when the stream is cut", async () => {
    const events = await collect(readCompletion(streamOf(['data: {"delta":{"text":"par"}}\n\ndata: {"del'])));
    expect(events).toEqual([{ kind: "delta", text: "par", offset: 0, attempt: "" }]);
  });

  it("stops at an error event", async () => {
    const events = await collect(
      readCompletion(
        streamOf(['data: {"delta":{"text":"a"}}\n\ndata: {"error":{"code":13,"message":"boom"}}\n\n']),
      ),
    );
    expect(events.map((e) => e.kind)).toEqual(["delta", "error"]);
  });
});
