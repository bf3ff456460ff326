import { describe, expect, it, vi } from "vitest";
import { ApiError } from "../src/api";
import { followTurn, type FollowTiming, ReplyText } from "../src/follow";
import { FakeStreams } from "./streams";

describe("ReplyText", () => {
  it("counts what it holds in code points, not UTF-16 units", () => {
    const reply = new ReplyText("héllo 🌍");
    expect(reply.length).toBe(7);
    expect(reply.apply(7, "!")).toBe(true);
    expect(reply.value).toBe("héllo 🌍!");
    expect(reply.length).toBe(8);
  });

  it("drops what it holds from an earlier offset, then appends (a restarted turn)", () => {
    const reply = new ReplyText("🐉 one two");
    expect(reply.apply(2, "three")).toBe(true);
    expect(reply.value).toBe("🐉 three");
    expect(reply.length).toBe(7);
    expect(reply.apply(0, "again")).toBe(true);
    expect(reply.value).toBe("again");
  });

  it("takes nothing from past what it holds (text would be missing)", () => {
    const reply = new ReplyText("abc");
    expect(reply.apply(5, "xyz")).toBe(false);
    expect(reply.value).toBe("abc");
    expect(reply.length).toBe(3);
  });
});

/** Timing without waiting: every delay is recorded, and the clock moves by it. */
function fakeTiming(): Partial<FollowTiming> & { delays: number[] } {
  let clock = 0;
  const delays: number[] = [];
  return {
    delays,
    now: () => clock,
    sleep: async (ms) => {
      delays.push(ms);
      clock += ms;
    },
  };
}

function follow(streams: FakeStreams, reply: ReplyText, timing: Partial<FollowTiming> = fakeTiming()) {
  const abort = new AbortController();
  const handlers = { onText: vi.fn(), onTrouble: vi.fn(), onRecovered: vi.fn() };
  const done = followTurn(streams, "c1", "r1", reply, { signal: abort.signal, timing, ...handlers });
  return { abort, done, timing, ...handlers };
}

describe("followTurn", () => {
  it("follows from the offset held, and again from there after the connection drops", async () => {
    const streams = new FakeStreams();
    const reply = new ReplyText("Once 🐉");
    const timing = fakeTiming();
    const { done, onText } = follow(streams, reply, timing);
    const first = await streams.connection(0);
    expect(first.offset).toBe(6);
    first.delta(" upon", 6).delta(" a", 11).fail();
    const second = await streams.connection(1);
    expect(second.offset).toBe(13);
    second.delta(" time", 13).final();
    await expect(done).resolves.toMatchObject({ kind: "final" });
    expect(reply.value).toBe("Once 🐉 upon a time");
    expect(onText).toHaveBeenCalledTimes(3);
    expect(timing.delays).toEqual([500]);
  });

  it("ignores keepalives (empty deltas at what it holds), and takes restarts", async () => {
    const streams = new FakeStreams();
    const reply = new ReplyText("");
    const { done } = follow(streams, reply);
    const connection = await streams.connection(0);
    connection.delta("", 0).delta("Hello wor", 0).delta("", 9).delta("Hi there", 0).delta("", 8).final();
    await expect(done).resolves.toMatchObject({ kind: "final" });
    expect(reply.value).toBe("Hi there");
  });

  it("cuts its text back on an empty delta below what it holds (the stored end is shorter)", async () => {
    const streams = new FakeStreams();
    const reply = new ReplyText("");
    const { done } = follow(streams, reply);
    const connection = await streams.connection(0);
    connection.delta("It was a dark and", 0).delta("", 13).final();
    await expect(done).resolves.toMatchObject({ kind: "final" });
    expect(reply.value).toBe("It was a dark");
  });

  it("resumes naming the attempt its text belongs to", async () => {
    const streams = new FakeStreams();
    const reply = new ReplyText("");
    const { done } = follow(streams, reply);
    const first = await streams.connection(0);
    expect(first.attempt).toBe("");
    first.delta("Once", 0, "a1").fail();
    const second = await streams.connection(1);
    expect([second.offset, second.attempt]).toEqual([4, "a1"]);
    second.delta("Long ago", 0, "a2").final();
    await expect(done).resolves.toMatchObject({ kind: "final" });
    expect([reply.value, reply.attempt]).toEqual(["Long ago", "a2"]);
  });

  it("backs off doubling up to 5 s, tells a long outage once, and its recovery", async () => {
    const streams = new FakeStreams();
    const reply = new ReplyText("ab");
    const timing = fakeTiming();
    const { done, onTrouble, onRecovered } = follow(streams, reply, timing);
    for (let i = 0; i < 6; i++) {
      (await streams.connection(i)).fail(new ApiError(503, "no healthy upstream"));
    }
    const back = await streams.connection(6);
    expect(timing.delays).toEqual([500, 1000, 2000, 4000, 5000, 5000]);
    expect(onTrouble).toHaveBeenCalledTimes(1); // 12.5 s of failing: past the 10 s of quiet
    expect(onRecovered).not.toHaveBeenCalled();
    back.delta("c", 2).end(); // closed early: followed again, after the first delay
    const last = await streams.connection(7);
    expect(onRecovered).toHaveBeenCalledTimes(1);
    expect(last.offset).toBe(3);
    last.error(14, "TURN_FAILED");
    await expect(done).resolves.toMatchObject({ kind: "error", error: { reason: "TURN_FAILED" } });
    expect(timing.delays.slice(6)).toEqual([500]);
    expect(reply.value).toBe("abc");
  });

  it("stays quiet about a short outage", async () => {
    const streams = new FakeStreams();
    const { done, onTrouble } = follow(streams, new ReplyText());
    (await streams.connection(0)).fail(new ApiError(0, "network error"));
    (await streams.connection(1)).fail();
    (await streams.connection(2)).final();
    await expect(done).resolves.toMatchObject({ kind: "final" });
    expect(onTrouble).not.toHaveBeenCalled();
  });

  it("gives up on a refusal that would be the same again (not found, signed out)", async () => {
    const streams = new FakeStreams();
    const { done } = follow(streams, new ReplyText());
    const refusal = new ApiError(404, "chat not found");
    (await streams.connection(0)).fail(refusal);
    await expect(done).resolves.toEqual({ kind: "refused", err: refusal });
    expect(streams.connections).toHaveLength(1);
  });

  it("follows again from what it holds after a gap in the offsets", async () => {
    const streams = new FakeStreams();
    const reply = new ReplyText();
    const { done } = follow(streams, reply);
    (await streams.connection(0)).delta("abc", 0).delta("xyz", 9);
    const again = await streams.connection(1);
    expect(again.offset).toBe(3);
    again.delta("def", 3).final();
    await expect(done).resolves.toMatchObject({ kind: "final" });
    expect(reply.value).toBe("abcdef");
  });

  it("stops following when aborted, during a stream or a wait", async () => {
    const streams = new FakeStreams();
    const { done, abort } = follow(streams, new ReplyText());
    (await streams.connection(0)).delta("partial", 0);
    abort.abort();
    await expect(done).resolves.toEqual({ kind: "aborted" });

    // The real wait: a minute's delay, cut short by the abort.
    const waiting = new FakeStreams();
    const second = follow(waiting, new ReplyText(), { firstDelayMs: 60_000 });
    (await waiting.connection(0)).fail();
    await new Promise((resolve) => setTimeout(resolve, 10));
    second.abort.abort();
    await expect(second.done).resolves.toEqual({ kind: "aborted" });
    expect(waiting.connections).toHaveLength(1);
  });
});
