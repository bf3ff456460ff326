// @vitest-environment jsdom
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ApiError, type Chat, type GetChatResponse, type Message } from "../src/api";
import { ChatView } from "../src/chatview";
import { TurnStream } from "../src/turn";
import { deferred, settle } from "./async";
import { mountChat } from "./mount";
import { type FakeStreams } from "./streams";

const chat: Chat = { chat_id: "c1", title: "Dragons", system_prompt: "" };

function stored(role: "user" | "assistant", content: string, status: Message["status"], id: string): Message {
  return {
    message_id: id,
    role: role === "user" ? "ROLE_USER" : "ROLE_ASSISTANT",
    content,
    status,
    client_request_id: "r-old",
    model: "",
    cached: false,
    finish_reason: "",
    error: "",
  };
}

function chatPage(...messages: Message[]): GetChatResponse {
  return { chat, messages, next_page_token: "" };
}

describe("TurnStream", () => {
  let streams: FakeStreams;
  let api: Record<string, ReturnType<typeof vi.fn>>;
  let failed: ReturnType<typeof vi.fn>;
  let view: ChatView;
  let turns: TurnStream;

  beforeEach(() => {
    ({ streams, api, failed, view, turns } = mountChat(chat, {
      user_message: stored("user", "", "MESSAGE_STATUS_COMPLETE", "u1"),
      assistant_message: stored("assistant", "", "MESSAGE_STATUS_QUEUED", "a1"),
    }));
  });

  afterEach(() => {
    vi.unstubAllGlobals();
  });

  const bubbles = (): HTMLElement[] => [...document.querySelectorAll<HTMLElement>("article.msg-assistant")];
  const lastBubble = (): HTMLElement => bubbles().at(-1) as HTMLElement;
  const shownText = (): string | undefined => lastBubble().querySelector(".msg-content")?.textContent?.trim();
  const stopShown = (): boolean => !document.querySelector<HTMLButtonElement>("#stop")?.hidden;

  async function open(...messages: Message[]): Promise<void> {
    api.getChat?.mockResolvedValueOnce(chatPage(...messages));
    await view.open("c1");
    turns.resume();
  }

  it("submits the message, then follows the turn into its bubble", async () => {
    await open();
    const sending = turns.send("Tell me a story", false);
    const connection = await streams.connection(0);
    const [chatId, request] = api.submitTurn?.mock.calls[0] as [string, Record<string, unknown>];
    expect(chatId).toBe("c1");
    expect(request).toMatchObject({ content: "Tell me a story", bypass_cache: false });
    expect(request.client_request_id).toEqual(expect.any(String));
    expect(connection.offset).toBe(0);
    expect(stopShown()).toBe(true);
    connection.delta("Once ", 0).delta("upon a time", 5).final(true);
    await sending;
    expect(lastBubble().dataset.status).toBe("complete");
    expect(shownText()).toBe("Once upon a time");
    expect(lastBubble().querySelector(".badge-cached")).not.toBeNull();
    expect(stopShown()).toBe(false);
  });

  it("regenerates a question the server never stored by asking it again, past the cache", async () => {
    await open();
    api.submitTurn?.mockRejectedValueOnce(new ApiError(429, "the inference queue is full"));
    await turns.send("Hi", false);
    expect(lastBubble().dataset.status).toBe("failed");
    lastBubble().querySelector<HTMLButtonElement>(".msg-regenerate")?.click();
    (await streams.connection(0)).delta("Hey", 0).final();
    await settle();
    expect(api.submitTurn?.mock.calls[1]?.[1]).toMatchObject({ content: "Hi", bypass_cache: true });
    expect(api.submitTurn?.mock.calls[1]?.[1]).not.toHaveProperty("regenerate_message_id");
  });

  it("resumes a running answer in its own bubble, from the code points stored", async () => {
    await open(
      stored("user", "Story?", "MESSAGE_STATUS_COMPLETE", "u0"),
      stored("assistant", "Once 🐉", "MESSAGE_STATUS_PENDING", "a0"),
    );
    const connection = await streams.connection(0);
    expect(connection.offset).toBe(6); // 7 UTF-16 units
    const bubble = lastBubble();
    expect(bubble.dataset.status).toBe("streaming");
    expect(bubble.querySelector(".badge-pending")).toBeNull();
    expect(stopShown()).toBe(true);
    connection.delta(" flew", 6).final();
    await settle();
    expect(bubbles()).toEqual([bubble]);
    expect(bubble.dataset.status).toBe("complete");
    expect(shownText()).toBe("Once 🐉 flew");
    expect(stopShown()).toBe(false);
  });

  it("resumes a queued answer too, but nothing that has ended", async () => {
    await open(
      stored("user", "Story?", "MESSAGE_STATUS_COMPLETE", "u0"),
      stored("assistant", "", "MESSAGE_STATUS_QUEUED", "a0"),
    );
    expect((await streams.connection(0)).offset).toBe(0);
    turns.detach();
    for (const status of ["MESSAGE_STATUS_COMPLETE", "MESSAGE_STATUS_INTERRUPTED"] as const) {
      await open(
        stored("user", "Q", "MESSAGE_STATUS_COMPLETE", "u0"),
        stored("assistant", "A", status, "a0"),
      );
    }
    await open(stored("user", "Q", "MESSAGE_STATUS_COMPLETE", "u0")); // a question without its reply
    expect(streams.connections).toHaveLength(1);
    expect(turns.active).toBe(false);
  });

  it("leaving the chat stops following, not the answer", async () => {
    await open(
      stored("user", "Story?", "MESSAGE_STATUS_COMPLETE", "u0"),
      stored("assistant", "Once", "MESSAGE_STATUS_PENDING", "a0"),
    );
    const connection = await streams.connection(0);
    turns.detach();
    view.show(null, []);
    expect(connection.signal.aborted).toBe(true);
    await settle();
    expect(api.cancelTurn).not.toHaveBeenCalled();
    expect(turns.active).toBe(false);
    expect(stopShown()).toBe(false);
    expect(failed).not.toHaveBeenCalled();
  });

  it("Stop cancels the turn and ends the bubble as the server stored it", async () => {
    await open();
    void turns.send("Tell me a story", false);
    const connection = await streams.connection(0);
    connection.delta("Once upon", 0);
    const cancelled = deferred<unknown>();
    api.cancelTurn?.mockReturnValue(cancelled.promise);
    document.querySelector<HTMLButtonElement>("#stop")?.click();
    expect(connection.signal.aborted).toBe(true);
    const requestId = (api.submitTurn?.mock.calls[0]?.[1] as { client_request_id: string }).client_request_id;
    await settle();
    expect(api.cancelTurn).toHaveBeenCalledWith("c1", requestId);
    cancelled.resolve({
      user_message: stored("user", "Tell me a story", "MESSAGE_STATUS_COMPLETE", "u1"),
      assistant_message: stored("assistant", "Once upon a", "MESSAGE_STATUS_INTERRUPTED", "a1"),
    });
    await settle();
    expect(lastBubble().dataset.status).toBe("interrupted");
    expect(shownText()).toBe("Once upon a");
    expect(stopShown()).toBe(false);
    expect(streams.connections).toHaveLength(1);
  });

  it("a Stop that does not reach the server keeps following, and can be pressed again", async () => {
    await open();
    void turns.send("Tell me a story", false);
    (await streams.connection(0)).delta("Once", 0);
    await settle();
    api.cancelTurn?.mockRejectedValueOnce(new ApiError(0, "network error"));
    document.querySelector<HTMLButtonElement>("#stop")?.click();
    const again = await streams.connection(1);
    expect(again.offset).toBe(4);
    expect(failed).toHaveBeenCalledTimes(1);
    expect(stopShown()).toBe(true);
    api.cancelTurn?.mockResolvedValueOnce({
      user_message: stored("user", "Tell me a story", "MESSAGE_STATUS_COMPLETE", "u1"),
      assistant_message: stored("assistant", "Once upon", "MESSAGE_STATUS_INTERRUPTED", "a1"),
    });
    document.querySelector<HTMLButtonElement>("#stop")?.click();
    await settle();
    expect(again.signal.aborted).toBe(true);
    expect(lastBubble().dataset.status).toBe("interrupted");
    expect(shownText()).toBe("Once upon");
    expect(stopShown()).toBe(false);
  });

  it("a message sent while the chat loads goes below its messages", async () => {
    const loading = deferred<GetChatResponse>();
    api.getChat?.mockReturnValueOnce(loading.promise);
    const opening = view.open("c1");
    const sending = turns.send("And then?", false);
    await settle();
    expect(api.submitTurn).not.toHaveBeenCalled();
    loading.resolve(
      chatPage(
        stored("user", "Story?", "MESSAGE_STATUS_COMPLETE", "u0"),
        stored("assistant", "Once", "MESSAGE_STATUS_COMPLETE", "a0"),
      ),
    );
    await opening;
    turns.resume(); // as the app does once the chat is open: the send goes on instead
    (await streams.connection(0)).delta("The end", 0).final();
    await sending;
    const texts = [...document.querySelectorAll("article .msg-content")].map((el) => el.textContent?.trim());
    expect(texts).toEqual(["Story?", "Once", "And then?", "The end"]);
    expect(streams.connections).toHaveLength(1);
  });

  it("a turn stopped elsewhere ends interrupted, without an error", async () => {
    await open(
      stored("user", "Story?", "MESSAGE_STATUS_COMPLETE", "u0"),
      stored("assistant", "Once", "MESSAGE_STATUS_PENDING", "a0"),
    );
    (await streams.connection(0)).error(14, "TURN_INTERRUPTED", "the turn was interrupted");
    await settle();
    expect(lastBubble().dataset.status).toBe("interrupted");
    expect(failed).not.toHaveBeenCalled();
  });

  it("a dropped stream is followed again from the text held, quietly", async () => {
    await open();
    const sending = turns.send("Tell me a story", false);
    (await streams.connection(0)).delta("Once ", 0).fail();
    const again = await streams.connection(1);
    expect(again.offset).toBe(5);
    again.delta("upon", 5).final();
    await sending;
    expect(shownText()).toBe("Once upon");
    expect(failed).not.toHaveBeenCalled();
  });

  it("a refused submission fails the bubble in words", async () => {
    await open();
    api.submitTurn?.mockRejectedValueOnce(new ApiError(429, "the inference queue is full"));
    await turns.send("Busy?", false);
    expect(lastBubble().dataset.status).toBe("failed");
    expect(lastBubble().querySelector(".msg-error")?.textContent).toMatch(/slow down/);
    expect(failed).toHaveBeenCalledTimes(1);
    expect(streams.connections).toHaveLength(0);
    expect(stopShown()).toBe(false);
  });
});
