// @vitest-environment jsdom
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ApiError, type Api, type Chat } from "../src/api";
import { editTitle } from "../src/rename";
import { ChatList, type SidebarActions } from "../src/sidebar";

function key(el: HTMLElement, name: string): void {
  el.dispatchEvent(new KeyboardEvent("keydown", { key: name, bubbles: true, cancelable: true }));
}

function deferred<T>(): { promise: Promise<T>; resolve(value: T): void; reject(err: unknown): void } {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) {
    await Promise.resolve();
  }
}

describe("editTitle", () => {
  let link: HTMLAnchorElement;

  beforeEach(() => {
    document.body.replaceChildren();
    link = document.createElement("a");
    link.textContent = "Old";
    document.body.append(link);
  });

  it("opens a focused, selected field with the title; Escape cancels without saving", () => {
    const editor = { save: vi.fn(async () => {}), closed: vi.fn() };
    const input = editTitle(link, "Old", editor);
    expect(link.hidden).toBe(true);
    expect(input.value).toBe("Old");
    expect(document.activeElement).toBe(input);
    expect([input.selectionStart, input.selectionEnd]).toEqual([0, 3]);
    input.value = "Changed";
    key(input, "Escape");
    expect(editor.save).not.toHaveBeenCalled();
    expect(editor.closed).toHaveBeenCalledWith(true);
    expect(input.isConnected).toBe(false);
    expect(link.hidden).toBe(false);
  });

  it("Enter saves the trimmed title once; the field is read-only meanwhile", async () => {
    const saved = deferred<void>();
    const editor = { save: vi.fn(() => saved.promise), closed: vi.fn() };
    const input = editTitle(link, "Old", editor);
    input.value = "  New  ";
    key(input, "Enter");
    expect(editor.save).toHaveBeenCalledWith("New");
    expect(input.readOnly).toBe(true);
    key(input, "Enter");
    input.blur();
    key(input, "Escape");
    expect(editor.save).toHaveBeenCalledTimes(1);
    expect(editor.closed).not.toHaveBeenCalled();
    saved.resolve();
    await settle();
    expect(editor.closed).toHaveBeenCalledWith(true);
    expect(link.hidden).toBe(false);
  });

  it("leaving the field saves; an unchanged title is not sent", async () => {
    const editor = { save: vi.fn(async () => {}), closed: vi.fn() };
    const input = editTitle(link, "Old", editor);
    input.value = "Elsewhere";
    input.blur();
    await settle();
    expect(editor.save).toHaveBeenCalledWith("Elsewhere");
    expect(editor.closed).toHaveBeenCalledWith(false);
    const again = editTitle(link, "Old", editor);
    key(again, "Enter");
    await settle();
    expect(editor.save).toHaveBeenCalledTimes(1);
    expect(editor.closed).toHaveBeenCalledTimes(2);
  });
});

describe("ChatList rename", () => {
  const chat: Chat = { chat_id: "c1", title: "Old", system_prompt: "" };
  let actions: { [K in keyof SidebarActions]: ReturnType<typeof vi.fn> };
  let renameChat: ReturnType<typeof vi.fn>;

  beforeEach(async () => {
    vi.stubGlobal(
      "IntersectionObserver",
      class {
        observe(): void {}
        disconnect(): void {}
      },
    );
    renameChat = vi.fn();
    const api = {
      listChats: async () => ({ chats: [{ ...chat }], next_page_token: "" }),
      renameChat,
    } as unknown as Api;
    actions = { open: vi.fn(), remove: vi.fn(), renamed: vi.fn(), failed: vi.fn() };
    const list = new ChatList(api, actions as unknown as SidebarActions);
    document.body.replaceChildren(list.scroller);
    await list.start();
  });

  afterEach(() => {
    vi.unstubAllGlobals();
  });

  function startRename(): HTMLInputElement {
    const button = document.querySelector<HTMLButtonElement>(".chat-rename");
    expect(button?.getAttribute("aria-label")).toBe("Rename chat: Old");
    button?.click();
    const input = document.querySelector<HTMLInputElement>(".chat-rename-input");
    expect(input?.value).toBe("Old");
    return input as HTMLInputElement;
  }

  const linkText = (): string | null | undefined => document.querySelector(".chat-link")?.textContent;

  it("shows the stored title once saved and tells the app", async () => {
    renameChat.mockResolvedValue({ ...chat, title: "Renamed" });
    const input = startRename();
    input.value = "Renamed";
    key(input, "Enter");
    expect(linkText()).toBe("Old"); // nothing changes while saving
    await settle();
    expect(renameChat).toHaveBeenCalledWith("c1", "Renamed");
    expect(linkText()).toBe("Renamed");
    expect(actions.renamed).toHaveBeenCalledWith("c1", "Renamed");
    expect(document.activeElement?.classList.contains("chat-rename")).toBe(true);
    expect(document.querySelector(".chat-rename")?.getAttribute("aria-label")).toBe("Rename chat: Renamed");
  });

  it("keeps the old title and reports the error when the save fails", async () => {
    const err = new ApiError(400, "chat.title: too long");
    renameChat.mockRejectedValue(err);
    const input = startRename();
    input.value = "Refused";
    key(input, "Enter");
    await settle();
    expect(actions.failed).toHaveBeenCalledWith(err);
    expect(actions.renamed).not.toHaveBeenCalled();
    expect(linkText()).toBe("Old");
    expect(document.querySelector(".chat-rename-input")).toBeNull();
  });
});
