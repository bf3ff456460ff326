// @vitest-environment jsdom
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Api, ApiError, type ImportResult } from "../src/api";
import { TransferControls, exportFileName, importError, importSummary } from "../src/transfer";
import { deferred, settle } from "./async";

function reply(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

const chat = (id: string) => ({ chat_id: id, title: id, system_prompt: "" });
const result = (imported: number, skipped: number, format = "chatgpt"): ImportResult => ({
  chats: [],
  imported,
  skipped,
  format,
});

afterEach(() => {
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

describe("Api export and import", () => {
  it("exports all chats, or those named (chat_ids repeated), as a file", async () => {
    const fetch = vi.fn(async () => new Response('{"format":"chatstack.chats"}'));
    vi.stubGlobal("fetch", fetch);
    const api = new Api(() => "tok", "http://x");
    const blob = await api.exportChats();
    expect(await blob.text()).toBe('{"format":"chatstack.chats"}');
    await api.exportChats(["a", "b/c"]);
    const urls = fetch.mock.calls.map((call) => (call as unknown as [string])[0]);
    expect(urls).toEqual(["http://x/chats:export", "http://x/chats:export?chat_ids=a&chat_ids=b%2Fc"]);
    const init = (fetch.mock.calls[0] as unknown as [string, RequestInit])[1];
    expect(init.method).toBe("GET");
    expect((init.headers as Headers).get("authorization")).toBe("Bearer tok");
  });

  it("uploads the file as it is and reads the answer", async () => {
    const answer = { chats: [chat("c1")], imported: 1, skipped: 0, format: "chatgpt" };
    const fetch = vi.fn(async () => reply(200, answer));
    vi.stubGlobal("fetch", fetch);
    const file = new File(['[{"mapping": {}}]'], "conversations.json", { type: "application/json" });
    await expect(new Api(() => "tok", "http://x").importChats(file)).resolves.toEqual(answer);
    const [url, init] = fetch.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe("http://x/chats:import");
    expect(init.method).toBe("POST");
    expect(init.body).toBe(file); // not JSON-encoded
    expect((init.headers as Headers).get("content-type")).toBe("application/json");
    fetch.mockResolvedValueOnce(reply(200, { format: "chatstack" }));
    const untyped = new Blob(["{}"]);
    await expect(new Api(() => "tok").importChats(untyped)).resolves.toEqual(result(0, 0, "chatstack"));
    const headers = (fetch.mock.calls[1] as unknown as [string, RequestInit])[1].headers as Headers;
    expect(headers.get("content-type")).toBe("application/octet-stream");
  });
});

describe("what the controls say", () => {
  it("names the export's file by the local date", () => {
    expect(exportFileName(new Date(2026, 0, 5, 23, 59))).toBe("chatstack-chats-2026-01-05.json");
  });

  it("sums up an import", () => {
    expect(importSummary(result(2, 0))).toBe("Imported 2 chats from ChatGPT.");
    expect(importSummary(result(1, 3, "chatstack"))).toBe("Imported 1 chat; 3 chats already here.");
    expect(importSummary(result(0, 2))).toBe("Nothing new: its 2 chats were already here.");
    expect(importSummary(result(0, 1))).toBe("Nothing new: its chat was already here.");
    expect(importSummary(result(0, 0))).toBe("The file holds no chats.");
  });

  it("says a refused file is one, with the server's words", () => {
    const refused = importError(new ApiError(400, "[0].mapping.n1.message.author.role: 'critic'", 3));
    expect(refused).toMatchObject({
      status: 400,
      message: expect.stringMatching(/^That file cannot be imported: \[0\]/),
    });
    expect(importError(new ApiError(413, "Payload Too Large"))).toMatchObject({
      message: expect.stringContaining("split it"),
    });
    const other = new ApiError(503, "down");
    expect(importError(other)).toBe(other);
  });
});

describe("TransferControls", () => {
  let api: { exportChats: ReturnType<typeof vi.fn>; importChats: ReturnType<typeof vi.fn> };
  let host: { imported: ReturnType<typeof vi.fn>; failed: ReturnType<typeof vi.fn> };
  let controls: TransferControls;

  beforeEach(() => {
    document.body.replaceChildren();
    api = { exportChats: vi.fn(), importChats: vi.fn() };
    host = { imported: vi.fn(), failed: vi.fn() };
    controls = new TransferControls(api as unknown as Api, host);
    document.body.append(controls.el);
  });

  it("Export downloads the file and says so", async () => {
    api.exportChats.mockResolvedValue(new Blob(["{}"]));
    const created = vi.fn(() => "blob:export");
    vi.stubGlobal("URL", Object.assign(URL, { createObjectURL: created, revokeObjectURL: vi.fn() }));
    const clicks: HTMLAnchorElement[] = [];
    vi.spyOn(HTMLAnchorElement.prototype, "click").mockImplementation(function (this: HTMLAnchorElement) {
      clicks.push(this);
    });
    controls.exportButton.click();
    expect(controls.exportButton.disabled).toBe(true);
    await settle();
    expect(api.exportChats).toHaveBeenCalledWith();
    expect(clicks).toHaveLength(1);
    const link = clicks[0] as HTMLAnchorElement;
    expect(link.getAttribute("href")).toBe("blob:export");
    expect(link.download).toMatch(/^chatstack-chats-\d{4}-\d\d-\d\d\.json$/);
    expect(link.isConnected).toBe(false);
    expect(controls.status.textContent).toBe("Exported your chats.");
    expect(controls.exportButton.disabled).toBe(false);
  });

  it("Import opens the file picker; the file picked is uploaded and its chats shown", async () => {
    const picker = vi.spyOn(controls.input, "click").mockImplementation(() => {});
    controls.importButton.click();
    expect(picker).toHaveBeenCalled();
    const answer = { chats: [chat("c1"), chat("c2")], imported: 2, skipped: 0, format: "chatgpt" };
    const uploaded = deferred<ImportResult>();
    api.importChats.mockReturnValue(uploaded.promise);
    const file = new File(["[]"], "conversations.json");
    Object.defineProperty(controls.input, "files", { value: [file], configurable: true });
    controls.input.dispatchEvent(new Event("change"));
    expect(api.importChats).toHaveBeenCalledWith(file);
    expect(controls.status.textContent).toBe("Importing…");
    expect(controls.importButton.disabled && controls.exportButton.disabled).toBe(true);
    uploaded.resolve(answer);
    await settle();
    expect(host.imported).toHaveBeenCalledWith(answer);
    expect(controls.status.textContent).toBe("Imported 2 chats from ChatGPT.");
    expect(controls.importButton.disabled).toBe(false);
  });

  it("a refused file goes to the app's banner, nothing is shown as imported", async () => {
    api.importChats.mockRejectedValue(new ApiError(400, "chats[3].messages[7].role: 'robot'", 3));
    await controls.importFile(new Blob(["{}"]));
    expect(host.imported).not.toHaveBeenCalled();
    const [err] = host.failed.mock.calls[0] as [ApiError];
    expect(err.message).toBe("That file cannot be imported: chats[3].messages[7].role: 'robot'");
    expect(controls.status.textContent).toBe("");
    expect(controls.status.hidden).toBe(true);
    expect(controls.importButton.disabled).toBe(false);
  });
});
