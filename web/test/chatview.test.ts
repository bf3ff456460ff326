// @vitest-environment jsdom
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ApiError, type Api, type Chat, type GetChatResponse } from "../src/api";
import { ChatView } from "../src/chatview";
import { ChatList } from "../src/sidebar";
import { deferred, settle, stubIntersectionObserver } from "./async";

const chat: Chat = { chat_id: "c1", title: "Old", system_prompt: "" };

function page(title: string, nextPageToken = ""): GetChatResponse {
  return { chat: { ...chat, title }, messages: [], next_page_token: nextPageToken };
}

describe("ChatView with the sidebar", () => {
  let getChat: ReturnType<typeof vi.fn>;
  let renameChat: ReturnType<typeof vi.fn>;
  let failed: ReturnType<typeof vi.fn>;
  let view: ChatView;

  beforeEach(async () => {
    stubIntersectionObserver();
    getChat = vi.fn();
    renameChat = vi.fn();
    failed = vi.fn();
    const api = {
      listChats: async () => ({ chats: [{ ...chat }], next_page_token: "" }),
      renameChat,
      getChat,
    } as unknown as Api;
    const list = new ChatList(api, {
      open: vi.fn(),
      remove: vi.fn(),
      renamed: (chatId, title) => view.setTitle(chatId, title),
      failed: vi.fn(),
    });
    view = new ChatView(api, {
      sidebar: () => list,
      failed,
      streaming: () => false,
      send: vi.fn(),
      stop: vi.fn(),
      regenerate: vi.fn(),
      edit: vi.fn(),
      select: vi.fn(),
    });
    document.body.replaceChildren(list.scroller, view.render(document.createElement("button")));
    await list.start();
  });

  afterEach(() => {
    vi.unstubAllGlobals();
  });

  const linkText = (): string | null | undefined => document.querySelector(".chat-link")?.textContent;
  const header = (): string | null | undefined => document.querySelector("#chat-title")?.textContent;

  async function rename(title: string): Promise<void> {
    renameChat.mockResolvedValue({ ...chat, title });
    document.querySelector<HTMLButtonElement>(".chat-rename")?.click();
    const input = document.querySelector<HTMLInputElement>(".chat-rename-input") as HTMLInputElement;
    input.value = title;
    input.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true, cancelable: true }));
    await settle();
  }

  it("a chat's page read before a rename does not bring the old title back", async () => {
    const read = deferred<GetChatResponse>();
    getChat.mockReturnValue(read.promise);
    const opening = view.open("c1");
    await rename("Renamed");
    expect(header()).toBe("Renamed");
    read.resolve(page("Old"));
    await opening;
    expect(linkText()).toBe("Renamed");
    expect(header()).toBe("Renamed");
    expect(document.title).toBe("Renamed · chatstack");
  });

  it("the first title read does not overwrite a rename made or being saved meanwhile", async () => {
    getChat.mockResolvedValueOnce(page("Old"));
    await view.open("c1");
    const late = deferred<GetChatResponse>();
    getChat.mockReturnValueOnce(late.promise);
    const lateTitle = view.refreshTitle("c1");
    const saving = deferred<Chat>();
    renameChat.mockReturnValue(saving.promise);
    document.querySelector<HTMLButtonElement>(".chat-rename")?.click();
    const input = document.querySelector<HTMLInputElement>(".chat-rename-input") as HTMLInputElement;
    input.value = "Renamed";
    input.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true, cancelable: true }));
    getChat.mockResolvedValueOnce(page("Titled by the server"));
    await view.refreshTitle("c1"); // lands while the rename is being saved
    expect(linkText()).toBe("Old");
    saving.resolve({ ...chat, title: "Renamed" });
    await settle();
    late.resolve(page("Titled by the server"));
    await lateTitle;
    expect(linkText()).toBe("Renamed");
    expect(header()).toBe("Renamed");
    getChat.mockResolvedValueOnce(page("Renamed elsewhere"));
    await view.refreshTitle("c1"); // a read that started after the rename is shown
    expect(linkText()).toBe("Renamed elsewhere");
    expect(header()).toBe("Renamed elsewhere");
  });

  it("clear() drops the answers to reads made before it (signing out)", async () => {
    const read = deferred<GetChatResponse>();
    getChat.mockReturnValueOnce(read.promise);
    const opening = view.open("c1");
    view.clear();
    document.title = "Sign in · chatstack";
    read.resolve(page("Old", "older"));
    await opening;
    expect(view.chat).toBeNull();
    expect(document.title).toBe("Sign in · chatstack");
  });

  it("clear() drops an error reading older messages too", async () => {
    getChat.mockResolvedValueOnce(page("Old", "older"));
    await view.open("c1");
    const older = deferred<GetChatResponse>();
    getChat.mockReturnValueOnce(older.promise);
    document.querySelector<HTMLButtonElement>("#load-older")?.click();
    view.clear();
    older.reject(new ApiError(401, "expired"));
    await settle();
    expect(failed).not.toHaveBeenCalled();
  });
});
