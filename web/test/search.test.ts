// @vitest-environment jsdom
import { beforeEach, describe, expect, it, vi } from "vitest";
import { ChatSearchBox, type SearchActions, type SearchApi, type SearchHit } from "../src/search";
import { deferred } from "./async";

/** Test double of the API's search call: answers what the test hands it, per query. */
class FakeSearchApi implements SearchApi {
  readonly queries: string[] = [];
  answers = new Map<string, Promise<{ hits: SearchHit[]; next_page_token: string }>>();

  searchChats(query: string): Promise<{ hits: SearchHit[]; next_page_token: string }> {
    this.queries.push(query);
    return this.answers.get(query) ?? Promise.resolve({ hits: [], next_page_token: "" });
  }
}

function hit(chatId: string, title: string, snippet: string): SearchHit {
  return { chat: { chat_id: chatId, title }, message_id: "m", snippet };
}

function type(box: ChatSearchBox, text: string): HTMLInputElement {
  const input = box.el.querySelector("input")!;
  input.value = text;
  return input;
}

describe("ChatSearchBox", () => {
  let api: FakeSearchApi;
  let actions: SearchActions & { opened: string[]; shown: boolean[]; errors: unknown[] };
  let box: ChatSearchBox;

  beforeEach(() => {
    document.body.replaceChildren();
    api = new FakeSearchApi();
    actions = {
      opened: [],
      shown: [],
      errors: [],
      open(chatId) {
        this.opened.push(chatId);
      },
      showing(active) {
        this.shown.push(active);
      },
      failed(err) {
        this.errors.push(err);
      },
    };
    box = new ChatSearchBox(api, actions);
    document.body.append(box.el, box.results);
  });

  it("shows the hits in place of the list and opens the chosen chat", async () => {
    api.answers.set(
      "lighthouse",
      Promise.resolve({ hits: [hit("c1", "Trip", "the lighthouse keeper")], next_page_token: "" }),
    );
    type(box, " lighthouse ");
    await box.run();
    expect(api.queries).toEqual(["lighthouse"]);
    expect(box.results.hidden).toBe(false);
    expect(actions.shown).toEqual([true]);
    const link = box.results.querySelector<HTMLAnchorElement>("a.search-hit")!;
    expect(link.textContent).toContain("Trip");
    expect(link.textContent).toContain("the lighthouse keeper");
    link.click();
    expect(actions.opened).toEqual(["c1"]);
  });

  it("says when nothing matches, and an empty field brings the list back", async () => {
    type(box, "nothing");
    await box.run();
    expect(box.results.querySelector("#search-status")!.textContent).toBe("No chat matches");
    type(box, "   ");
    await box.run();
    expect(box.results.hidden).toBe(true);
    expect(actions.shown).toEqual([true, false]);
  });

  it("drops an answer that comes after a newer query", async () => {
    const slow = deferred<{ hits: SearchHit[]; next_page_token: string }>();
    api.answers.set("old", slow.promise);
    api.answers.set("new", Promise.resolve({ hits: [hit("c2", "New", "new")], next_page_token: "" }));
    type(box, "old");
    const first = box.run();
    type(box, "new");
    await box.run();
    slow.resolve({ hits: [hit("c1", "Old", "old")], next_page_token: "" });
    await first;
    const titles = [...box.results.querySelectorAll(".search-hit-title")].map((e) => e.textContent);
    expect(titles).toEqual(["New"]);
  });

  it("debounces typing and Escape clears the field", async () => {
    vi.useFakeTimers();
    try {
      const input = type(box, "a");
      input.dispatchEvent(new Event("input"));
      type(box, "ab").dispatchEvent(new Event("input"));
      await vi.runAllTimersAsync();
      expect(api.queries).toEqual(["ab"]);
      input.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape" }));
      await vi.runAllTimersAsync();
      expect(input.value).toBe("");
      expect(box.results.hidden).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });

  it("reports an error when the search cannot be made", async () => {
    api.answers.set("boom", Promise.reject(new Error("down")));
    type(box, "boom");
    await box.run();
    expect(actions.errors).toHaveLength(1);
  });
});
