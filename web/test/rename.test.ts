// @vitest-environment jsdom
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ApiError, type Api, type Chat } from "../src/api";
import { editTitle } from "../src/rename";
import { ChatList, type SidebarActions } from "../src/sidebar";
import { deferred, settle, stubIntersectionObserver } from "./async";

function key(el: HTMLElement, name: string): void {
  el.dispatchEvent(new KeyboardEvent("keydown", { key: name, bubbles: true, cancelable: true }));
}

interface NodeProcess {
  on(event: "unhandledRejection", listener: (reason: unknown) => void): void;
  off(event: "unhandledRejection", listener: (reason: unknown) => void): void;
}

/** The promise rejections left unhandled while `run` runs (Vitest leaves them to this listener). */
async function unhandledRejections(run: () => Promise<void>): Promise<unknown[]> {
  const proc = (globalThis as unknown as { process: NodeProcess }).process;
  const reasons: unknown[] = [];
  const listener = (reason: unknown): void => void reasons.push(reason);
  proc.on("unhandledRejection", listener);
  try {
    await run();
    await new Promise((resolve) => setTimeout(resolve, 0));
  } finally {
    proc.off("unhandledRejection", listener);
  }
  return reasons;
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
    expect(editor.closed).toHaveBeenCalledOnce();
    expect(editor.closed).toHaveBeenCalledWith(false); // the focus left the field meanwhile
    expect(link.hidden).toBe(false);
  });

  it("does not take the focus back after the save if the user moved it meanwhile", async () => {
    const saved = deferred<void>();
    const editor = { save: vi.fn(() => saved.promise), closed: vi.fn() };
    const input = editTitle(link, "Old", editor);
    input.value = "New";
    key(input, "Enter");
    const elsewhere = document.createElement("textarea");
    document.body.append(elsewhere);
    elsewhere.focus(); // the blur while saving changes nothing
    expect(editor.save).toHaveBeenCalledTimes(1);
    saved.resolve();
    await settle();
    expect(editor.closed).toHaveBeenCalledWith(false);
    expect(document.activeElement).toBe(elsewhere);
    expect(input.isConnected).toBe(false);
  });

  it("closes the field when the save rejects, and lets the error through", async () => {
    const err = new Error("save broke");
    const editor = { save: vi.fn(() => Promise.reject(err)), closed: vi.fn() };
    let input!: HTMLInputElement;
    const reasons = await unhandledRejections(async () => {
      input = editTitle(link, "Old", editor);
      input.value = "New";
      key(input, "Enter");
      await settle();
    });
    expect(reasons).toEqual([err]);
    expect(editor.closed).toHaveBeenCalledWith(true);
    expect(input.isConnected).toBe(false);
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
  const other: Chat = { chat_id: "c2", title: "Other", system_prompt: "" };
  let actions: { [K in keyof SidebarActions]: ReturnType<typeof vi.fn> };
  let renameChat: ReturnType<typeof vi.fn>;
  let list: ChatList;

  beforeEach(async () => {
    stubIntersectionObserver();
    renameChat = vi.fn();
    const api = {
      listChats: async () => ({ chats: [{ ...other }, { ...chat }], next_page_token: "" }),
      renameChat,
    } as unknown as Api;
    actions = { open: vi.fn(), remove: vi.fn(), renamed: vi.fn(), failed: vi.fn() };
    list = new ChatList(api, actions as unknown as SidebarActions);
    document.body.replaceChildren(list.scroller);
    await list.start();
  });

  afterEach(() => {
    vi.unstubAllGlobals();
  });

  const item = (id: string): HTMLElement => document.querySelector(`[data-chat-id="${id}"]`) as HTMLElement;
  const linkText = (): string | null | undefined => item("c1").querySelector(".chat-link")?.textContent;
  const order = (): (string | undefined)[] =>
    [...document.querySelectorAll<HTMLElement>(".chat-item")].map((li) => li.dataset.chatId);

  function startRename(): HTMLInputElement {
    const button = item("c1").querySelector<HTMLButtonElement>(".chat-rename");
    expect(button?.getAttribute("aria-label")).toBe("Rename chat: Old");
    button?.click();
    const input = document.querySelector<HTMLInputElement>(".chat-rename-input");
    expect(input?.value).toBe("Old");
    return input as HTMLInputElement;
  }

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
    expect(document.activeElement).toBe(item("c1").querySelector(".chat-rename"));
    expect(item("c1").querySelector(".chat-rename")?.getAttribute("aria-label")).toBe("Rename chat: Renamed");
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

  it("leaves the focus where the user put it while the title was being saved", async () => {
    const stored = deferred<Chat>();
    renameChat.mockReturnValue(stored.promise);
    const input = startRename();
    input.value = "Renamed";
    key(input, "Enter");
    const composer = document.createElement("textarea");
    document.body.append(composer);
    composer.focus();
    stored.resolve({ ...chat, title: "Renamed" });
    await settle();
    expect(linkText()).toBe("Renamed");
    expect(document.activeElement).toBe(composer);
  });

  it("moves a chat that had a turn while being renamed only once the rename closes", async () => {
    const input = startRename();
    input.value = "Half-ty";
    list.bump({ ...chat });
    expect(order()).toEqual(["c2", "c1"]);
    expect(input.isConnected).toBe(true);
    expect(document.activeElement).toBe(input);
    expect(input.value).toBe("Half-ty");
    expect(renameChat).not.toHaveBeenCalled();
    key(input, "Escape");
    expect(order()).toEqual(["c1", "c2"]);
    expect(document.activeElement).toBe(item("c1").querySelector(".chat-rename"));
    list.bump({ ...other }); // not being renamed: moves at once
    expect(order()).toEqual(["c2", "c1"]);
  });

  it("drops a title read that started before a rename was stored, or lands while it is saved", async () => {
    const stored = deferred<Chat>();
    renameChat.mockReturnValue(stored.promise);
    const before = list.titleStamp("c1");
    const input = startRename();
    expect(list.readTitle("c1", "Typing meanwhile", before)).toBe("Typing meanwhile"); // nothing saved yet
    input.value = "Renamed";
    key(input, "Enter");
    const during = list.titleStamp("c1");
    expect(list.readTitle("c1", "Old", before)).toBe("Typing meanwhile"); // being saved
    stored.resolve({ ...chat, title: "Renamed" });
    await settle();
    expect(list.readTitle("c1", "Old", before)).toBe("Renamed");
    expect(list.readTitle("c1", "Old", during)).toBe("Renamed");
    expect(linkText()).toBe("Renamed");
    const after = list.titleStamp("c1");
    expect(list.readTitle("c1", "Later", after)).toBe("Later"); // read after the rename: shown
    expect(linkText()).toBe("Later");
    expect(list.readTitle("c2", "Other title", before)).toBe("Other title"); // another chat's
  });
});
