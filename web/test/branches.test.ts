// @vitest-environment jsdom
// Edit and branch in the chat view (docs/branches.md): editing a question in place, a new answer
// beside the old one (Regenerate), and the "< 2 / 3 >" pagers that switch between versions.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ApiError, type Chat, type GetChatResponse, type Message } from "../src/api";
import { ChatView } from "../src/chatview";
import { TurnStream } from "../src/turn";
import { deferred, settle } from "./async";
import { mountChat } from "./mount";
import { type FakeStreams } from "./streams";

const chat: Chat = { chat_id: "c1", title: "Dragons", system_prompt: "" };

function stored(
  role: "user" | "assistant",
  content: string,
  id: string,
  parentId: string,
  siblingIds: string[] = [],
  status: Message["status"] = "MESSAGE_STATUS_COMPLETE",
): Message {
  return {
    message_id: id,
    role: role === "user" ? "ROLE_USER" : "ROLE_ASSISTANT",
    content,
    status,
    client_request_id: `r-${id}`,
    model: "",
    cached: false,
    finish_reason: "",
    error: "",
    parent_id: parentId,
    sibling_ids: siblingIds,
  };
}

function chatPage(...messages: Message[]): GetChatResponse {
  return { chat, messages, next_page_token: "" };
}

// Two turns: q0 -> r0 -> q1 -> r1. A new turn's messages are u1 and a1 (as the fake stream's
// final event tells).
const TWO_TURNS = [
  stored("user", "Who are you?", "q0", ""),
  stored("assistant", "A model.", "r0", "q0"),
  stored("user", "Tell me about dragons", "q1", "r0"),
  stored("assistant", "They fly.", "r1", "q1"),
];

describe("edit and branch", () => {
  let streams: FakeStreams;
  let api: Record<string, ReturnType<typeof vi.fn>>;
  let failed: ReturnType<typeof vi.fn>;
  let view: ChatView;
  let turns: TurnStream;

  beforeEach(() => {
    ({ streams, api, failed, view, turns } = mountChat(chat, {
      user_message: stored("user", "", "u1", ""),
      assistant_message: stored("assistant", "", "a1", "", [], "MESSAGE_STATUS_QUEUED"),
    }));
  });

  afterEach(() => {
    vi.unstubAllGlobals();
  });

  const articles = (): HTMLElement[] => [...document.querySelectorAll<HTMLElement>("#messages article")];
  const texts = (): (string | undefined)[] =>
    articles().map((el) => el.querySelector(".msg-content")?.textContent?.trim());
  const byId = (id: string): HTMLElement =>
    document.querySelector<HTMLElement>(`article[data-message-id="${id}"]`) as HTMLElement;
  const pager = (el: HTMLElement): string | null | undefined =>
    el.querySelector(".msg-version-label")?.textContent;
  const button = (el: HTMLElement, selector: string): HTMLButtonElement =>
    el.querySelector<HTMLButtonElement>(selector) as HTMLButtonElement;
  const lastRequest = (): Record<string, unknown> =>
    api.submitTurn?.mock.calls.at(-1)?.[1] as Record<string, unknown>;

  async function open(...messages: Message[]): Promise<void> {
    api.getChat?.mockResolvedValueOnce(chatPage(...messages));
    await view.open("c1");
    turns.resume();
  }

  function typeInEditor(el: HTMLElement, text: string, key = "Enter"): void {
    const input = el.querySelector<HTMLTextAreaElement>(".msg-edit-input") as HTMLTextAreaElement;
    input.value = text;
    input.dispatchEvent(new Event("input"));
    input.dispatchEvent(new KeyboardEvent("keydown", { key, bubbles: true, cancelable: true }));
  }

  it("edits a question in place: Escape cancels, Enter sends it under the same parent", async () => {
    await open(...TWO_TURNS);
    const question = byId("q1");
    expect(button(question, ".msg-edit").hidden).toBe(false);
    button(question, ".msg-edit").click();
    expect(question.querySelector<HTMLTextAreaElement>(".msg-edit-input")?.value).toBe(
      "Tell me about dragons",
    );
    typeInEditor(question, "changed my mind", "Escape");
    expect(question.querySelector(".msg-edit-form")).toBeNull();
    expect(api.submitTurn).not.toHaveBeenCalled();

    button(question, ".msg-edit").click();
    typeInEditor(question, "Tell me about unicorns");
    const connection = await streams.connection(0);
    expect(lastRequest()).toMatchObject({ content: "Tell me about unicorns", parent_message_id: "r0" });
    expect(lastRequest()).not.toHaveProperty("edit_first_message");
    expect(texts().slice(0, 3)).toEqual(["Who are you?", "A model.", "Tell me about unicorns"]);
    expect(articles()).toHaveLength(4); // the old question's answer went with it
    expect(document.querySelector(".msg-edit-form")).toBeNull();
    connection.delta("They sparkle.", 0).final();
    await settle();
    const edited = articles()[2] as HTMLElement;
    expect(pager(edited)).toBe("2 / 2");
    expect(button(edited, ".msg-version-prev").disabled).toBe(false);
    expect(button(edited, ".msg-version-next").disabled).toBe(true);
    expect(texts()[3]).toBe("They sparkle.");
  });

  it("the first question is edited with edit_first_message", async () => {
    await open(...TWO_TURNS);
    button(byId("q0"), ".msg-edit").click();
    typeInEditor(byId("q0"), "Who made you?");
    (await streams.connection(0)).delta("People.", 0).final();
    await settle();
    expect(lastRequest()).toMatchObject({ content: "Who made you?", edit_first_message: true });
    expect(lastRequest()).not.toHaveProperty("parent_message_id");
    expect(texts()).toEqual(["Who made you?", "People."]);
  });

  it("a question sent in this page is edited under the answer above it", async () => {
    await open(...TWO_TURNS.slice(0, 2));
    // An append to a chat that never branched comes back with its parent left implicit.
    void turns.send("And then?", false);
    (await streams.connection(0)).delta("The end.", 0).final();
    await settle();
    button(byId("u1"), ".msg-edit").click();
    typeInEditor(byId("u1"), "And after that?");
    await streams.connection(1);
    expect(lastRequest()).toMatchObject({ content: "And after that?", parent_message_id: "r0" });
  });

  it("an empty edit is not saved, nor one made while an answer streams", async () => {
    await open(...TWO_TURNS.slice(0, 2));
    button(byId("q0"), ".msg-edit").click();
    typeInEditor(byId("q0"), "   ");
    expect(button(byId("q0"), ".msg-edit-save").disabled).toBe(true);
    void turns.send("Meanwhile", false); // another tab's turn would do the same
    await streams.connection(0);
    typeInEditor(byId("q0"), "Who made you?");
    expect(api.submitTurn).toHaveBeenCalledTimes(1);
    expect(byId("q0").querySelector(".msg-edit-form")).not.toBeNull(); // the text is kept
  });

  it("Regenerate asks for a new answer beside the old one, under the same question", async () => {
    await open(...TWO_TURNS);
    const regenerate = button(byId("r1"), ".msg-regenerate");
    expect(regenerate.hidden).toBe(false);
    regenerate.click();
    const connection = await streams.connection(0);
    expect(lastRequest()).toMatchObject({ content: "", regenerate_message_id: "q1" });
    expect(lastRequest()).not.toHaveProperty("bypass_cache");
    expect(articles()).toHaveLength(4); // no second question: the answer is replaced
    const answer = articles()[3] as HTMLElement;
    expect(answer.dataset.status).toBe("streaming");
    expect(pager(answer)).toBe("2 / 2");
    expect(button(answer, ".msg-version-prev").disabled).toBe(true); // while it streams
    expect(button(byId("q0"), ".msg-edit").hidden).toBe(true);
    connection.delta("They breathe fire.", 0).final();
    await settle();
    expect(texts()[3]).toBe("They breathe fire.");
    expect(button(articles()[3] as HTMLElement, ".msg-version-prev").disabled).toBe(false);
  });

  it("Regenerate is offered on an earlier answer too: what followed it leaves the view", async () => {
    await open(...TWO_TURNS);
    const earlier = button(byId("r0"), ".msg-regenerate");
    expect(earlier.hidden).toBe(false);
    earlier.click();
    await streams.connection(0);
    expect(lastRequest()).toMatchObject({ regenerate_message_id: "q0" });
    expect(texts()).toEqual(["Who are you?", ""]);
  });

  it("the pager switches to a neighbouring version: selected, then the chat read again", async () => {
    await open(
      stored("user", "Who are you?", "q0", "", ["q0", "q2"]),
      stored("assistant", "A model.", "r0", "q0"),
    );
    const question = byId("q0");
    expect(pager(question)).toBe("1 / 2");
    expect(button(question, ".msg-version-prev").disabled).toBe(true);
    const read = deferred<GetChatResponse>();
    api.getChat?.mockReturnValueOnce(read.promise);
    button(question, ".msg-version-next").click();
    await settle();
    expect(api.selectMessage).toHaveBeenCalledWith("c1", "q2");
    expect(button(question, ".msg-version-next").disabled).toBe(true); // one switch at a time
    expect(texts()).toEqual(["Who are you?", "A model."]); // shown until the branch is read
    read.resolve(
      chatPage(
        stored("user", "Who made you?", "q2", "", ["q0", "q2"]),
        stored("assistant", "People", "r2", "q2", [], "MESSAGE_STATUS_PENDING"),
      ),
    );
    const connection = await streams.connection(0); // its answer is still being generated
    expect(texts()).toEqual(["Who made you?", "People"]);
    expect(pager(byId("q2"))).toBe("2 / 2");
    expect(connection.offset).toBe(6);
    expect(button(byId("q2"), ".msg-version-prev").disabled).toBe(true); // it streams
    connection.final();
    await settle();
    expect(button(byId("q2"), ".msg-version-prev").disabled).toBe(false);
  });

  it("a switch the server refuses is told, and the pager works again", async () => {
    await open(stored("user", "Q", "q0", ""), stored("assistant", "A", "r0", "q0", ["r0", "r2", "r3"]));
    expect(pager(byId("r0"))).toBe("1 / 3");
    api.selectMessage?.mockRejectedValueOnce(new ApiError(503, "unavailable"));
    button(byId("r0"), ".msg-version-next").click();
    await settle();
    expect(failed).toHaveBeenCalledTimes(1);
    expect(api.getChat).toHaveBeenCalledTimes(1);
    expect(button(byId("r0"), ".msg-version-next").disabled).toBe(false);
  });
});
