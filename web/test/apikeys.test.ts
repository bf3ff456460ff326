// @vitest-environment jsdom
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ApiError, type Api, type ApiKey, type CreatedApiKey } from "../src/api";
import { ApiKeysPanel, formatCreated, type ApiKeysHost } from "../src/apikeys";
import { ConfirmDialog } from "../src/confirm";
import { deferred, settle, stubDialogs } from "./async";

const SECRET = "sk-cs-" + "S3cr3t".repeat(7) + "x";

/** A test double of the API's key endpoints: the keys live in memory, newest first. */
class FakeKeysApi {
  keys: ApiKey[] = [];
  private next = 1;

  readonly listApiKeys = vi.fn(async (): Promise<ApiKey[]> => this.keys.map((key) => ({ ...key })));

  readonly createApiKey = vi.fn(async (name: string): Promise<CreatedApiKey> => {
    const key = this.add(name, "2026-12-06T07:00:00.123Z");
    return { api_key: { ...key }, secret: SECRET };
  });

  readonly deleteApiKey = vi.fn(async (keyId: string): Promise<void> => {
    if (!this.keys.some((key) => key.key_id === keyId)) {
      throw new ApiError(404, "api key not found", 5);
    }
    this.keys = this.keys.filter((key) => key.key_id !== keyId);
  });

  add(name: string, createTime?: string): ApiKey {
    const id = this.next++;
    const key = { key_id: `k${id}`, name, hint: `sk-cs-…000${id}`, create_time: createTime };
    this.keys.unshift(key);
    return key;
  }

  get api(): Api {
    return this as unknown as Api;
  }
}

const $ = <T extends Element = HTMLElement>(selector: string): T => {
  const el = document.querySelector<T>(selector);
  expect(el, selector).not.toBeNull();
  return el as T;
};
const rowIds = (): (string | undefined)[] =>
  [...document.querySelectorAll<HTMLElement>("#api-key-list .api-key")].map((li) => li.dataset.keyId);
const row = (keyId: string): HTMLElement => $(`#api-key-list li[data-key-id="${keyId}"]`);
const secretValue = (): string => $<HTMLInputElement>("#api-key-secret").value;

describe("ApiKeysPanel", () => {
  let fake: FakeKeysApi;
  let host: { confirm: ReturnType<typeof vi.fn>; failed: ReturnType<typeof vi.fn> };
  let confirmDialog: ConfirmDialog;
  let panel: ApiKeysPanel;
  let opener: HTMLButtonElement;

  beforeEach(() => {
    stubDialogs();
    fake = new FakeKeysApi();
    confirmDialog = new ConfirmDialog();
    host = {
      confirm: vi.fn((title: string, body: string, action: string) => confirmDialog.ask(title, body, action)),
      failed: vi.fn(),
    };
    panel = new ApiKeysPanel(fake.api, host as unknown as ApiKeysHost);
    opener = document.createElement("button");
    opener.textContent = "API keys";
    document.body.replaceChildren(opener, panel.el, confirmDialog.el);
    opener.focus();
  });

  afterEach(() => {
    vi.unstubAllGlobals();
  });

  async function create(name: string): Promise<void> {
    $<HTMLInputElement>("#api-key-name").value = name;
    $<HTMLButtonElement>("#api-key-create").click();
    await settle();
  }

  it("lists the keys newest first: name, hint and creation date; the name field has the focus", async () => {
    fake.add("laptop", "2026-01-02T03:04:05Z");
    fake.add("", "2026-02-03T04:05:06Z");
    await panel.open();
    expect(panel.el.open).toBe(true);
    expect(document.activeElement).toBe($("#api-key-name"));
    expect($<HTMLInputElement>("#api-key-name").labels?.[0]?.textContent).toBe("Name");
    expect(rowIds()).toEqual(["k2", "k1"]);
    expect(row("k1").querySelector(".api-key-name")?.textContent).toBe("laptop");
    expect(row("k2").querySelector(".api-key-name")?.textContent).toBe("Unnamed key");
    expect(row("k1").querySelector(".api-key-hint")?.textContent).toBe("sk-cs-…0001");
    const time = row("k1").querySelector("time");
    expect(time?.getAttribute("datetime")).toBe("2026-01-02T03:04:05Z");
    expect(time?.textContent).toBe(formatCreated("2026-01-02T03:04:05Z"));
    expect(row("k1").querySelector(".api-key-revoke")?.getAttribute("aria-label")).toBe(
      "Revoke API key: laptop",
    );
    expect($("#api-keys-empty").hidden).toBe(true);
    expect($("#api-key-new").hidden).toBe(true);
    expect(formatCreated(undefined)).toBe("");
    expect(formatCreated("not a date")).toBe("");
  });

  it("says when there are no keys (only once they were read)", async () => {
    const listed = deferred<ApiKey[]>();
    fake.listApiKeys.mockReturnValueOnce(listed.promise);
    const opened = panel.open();
    expect($("#api-key-list").getAttribute("aria-busy")).toBe("true");
    expect($("#api-keys-empty").hidden).toBe(true);
    listed.resolve([]);
    await opened;
    expect($("#api-key-list").hasAttribute("aria-busy")).toBe(false);
    expect($("#api-keys-empty").hidden).toBe(false);
    expect(rowIds()).toEqual([]);
  });

  it("shows a new key's secret once, with how to use it; closing forgets it", async () => {
    await panel.open();
    await create("  CI runner  ");
    expect(fake.createApiKey).toHaveBeenCalledWith("CI runner");
    expect($("#api-key-new").hidden).toBe(false);
    expect(secretValue()).toBe(SECRET);
    expect($("#api-key-warning").textContent).toMatch(/copy it now: it will not be shown again/i);
    const usage = $("#api-key-usage").textContent ?? "";
    expect(usage).toContain(`OPENAI_BASE_URL=${location.origin}/v1`);
    expect(usage).toContain(`OPENAI_API_KEY=${SECRET}`);
    expect(rowIds()).toEqual(["k1"]);
    expect(row("k1").textContent).not.toContain(SECRET);
    expect($<HTMLInputElement>("#api-key-name").value).toBe("");
    expect(document.activeElement).toBe($("#api-key-copy"));
    expect($("#api-keys-empty").hidden).toBe(true);

    $<HTMLButtonElement>("#api-keys-close").click();
    expect(panel.el.open).toBe(false);
    expect(panel.el.childElementCount).toBe(0); // closed, the dialog is empty
    expect(document.body.innerHTML).not.toContain(SECRET);
    expect(document.activeElement).toBe(opener);

    await panel.open();
    expect($("#api-key-new").hidden).toBe(true);
    expect(secretValue()).toBe("");
    expect($("#api-key-usage").textContent).toBe("");
    expect(rowIds()).toEqual(["k1"]);
    expect(row("k1").querySelector(".api-key-hint")?.textContent).toBe("sk-cs-…0001");
    expect(fake.listApiKeys).toHaveBeenCalledTimes(2);
  });

  it("copies the secret to the clipboard, or selects it when it cannot", async () => {
    const writeText = vi.fn(async (_text: string) => {});
    vi.stubGlobal("navigator", { clipboard: { writeText } });
    await panel.open();
    await create("laptop");
    $<HTMLButtonElement>("#api-key-copy").click();
    await settle();
    expect(writeText).toHaveBeenCalledWith(SECRET);
    expect($("#api-key-copied").textContent).toBe("Copied to the clipboard.");

    writeText.mockRejectedValueOnce(new DOMException("denied", "NotAllowedError"));
    $<HTMLButtonElement>("#api-key-copy").click();
    await settle();
    const input = $<HTMLInputElement>("#api-key-secret");
    expect(document.activeElement).toBe(input);
    expect([input.selectionStart, input.selectionEnd]).toEqual([0, SECRET.length]);
    expect($("#api-key-copied").textContent).toMatch(/Could not copy/);
  });

  it("revokes a key after the confirmation: it is deleted and its row goes", async () => {
    fake.add("old");
    fake.add("new");
    await panel.open();
    const revoke = row("k1").querySelector<HTMLButtonElement>(".api-key-revoke") as HTMLButtonElement;

    revoke.click();
    expect(confirmDialog.el.open).toBe(true);
    expect($("#confirm-title").textContent).toBe("Revoke API key?");
    expect($("#confirm-body").textContent).toContain("“old” (sk-cs-…0001)");
    $<HTMLButtonElement>("#confirm-cancel").click();
    await settle();
    expect(fake.deleteApiKey).not.toHaveBeenCalled();
    expect(rowIds()).toEqual(["k2", "k1"]);
    expect(document.activeElement).toBe(revoke);

    revoke.click();
    $<HTMLButtonElement>("#confirm-ok").click();
    await settle();
    expect(fake.deleteApiKey).toHaveBeenCalledWith("k1");
    expect(rowIds()).toEqual(["k2"]);
    expect(document.activeElement).toBe(row("k2").querySelector(".api-key-revoke"));

    row("k2").querySelector<HTMLButtonElement>(".api-key-revoke")?.click();
    $<HTMLButtonElement>("#confirm-ok").click();
    await settle();
    expect(rowIds()).toEqual([]);
    expect($("#api-keys-empty").hidden).toBe(false);
    expect(document.activeElement).toBe($("#api-key-name"));
    expect(fake.keys).toEqual([]);
  });

  it("revoking the key just created forgets its secret; a key already gone is simply removed", async () => {
    fake.add("elsewhere");
    await panel.open();
    await create("fresh");
    expect(secretValue()).toBe(SECRET);
    row("k2").querySelector<HTMLButtonElement>(".api-key-revoke")?.click();
    $<HTMLButtonElement>("#confirm-ok").click();
    await settle();
    expect($("#api-key-new").hidden).toBe(true);
    expect(secretValue()).toBe("");

    fake.keys = []; // revoked in another tab
    row("k1").querySelector<HTMLButtonElement>(".api-key-revoke")?.click();
    $<HTMLButtonElement>("#confirm-ok").click();
    await settle();
    expect(fake.deleteApiKey).toHaveBeenLastCalledWith("k1");
    expect(rowIds()).toEqual([]);
    expect($("#api-keys-error").hidden).toBe(true);
  });

  it("shows an error on the dialog's banner and keeps what it had", async () => {
    fake.add("kept");
    await panel.open();
    fake.createApiKey.mockRejectedValueOnce(new ApiError(400, "name: at most 100 characters", 3));
    await create("x");
    const banner = $("#api-keys-error");
    expect(banner.hidden).toBe(false);
    expect(banner.getAttribute("role")).toBe("alert");
    expect(banner.textContent).toContain("name: at most 100 characters");
    expect($("#api-key-new").hidden).toBe(true);
    expect($<HTMLButtonElement>("#api-key-create").disabled).toBe(false);

    fake.deleteApiKey.mockRejectedValueOnce(new ApiError(503, "unavailable", 14));
    const revoke = row("k1").querySelector<HTMLButtonElement>(".api-key-revoke") as HTMLButtonElement;
    revoke.click();
    $<HTMLButtonElement>("#confirm-ok").click();
    await settle();
    expect(banner.textContent).toContain("temporarily unavailable");
    expect(rowIds()).toEqual(["k1"]);
    expect(revoke.disabled).toBe(false);
    expect(host.failed).not.toHaveBeenCalled();

    await create("works"); // a success hides the banner
    expect(banner.hidden).toBe(true);
  });

  it("a list that cannot be read says why (not that there are no keys)", async () => {
    fake.listApiKeys.mockRejectedValueOnce(new ApiError(0, "network error"));
    await panel.open();
    expect($("#api-keys-error").textContent).toContain("Cannot reach the server");
    expect($("#api-keys-empty").hidden).toBe(true);
  });

  it("an expired session closes the dialog and goes to the app", async () => {
    const err = new ApiError(401, "Jwt is expired");
    fake.listApiKeys.mockRejectedValueOnce(err);
    await panel.open();
    expect(panel.el.open).toBe(false);
    expect(host.failed).toHaveBeenCalledWith(err);
    expect(document.querySelector("#api-keys-error")).toBeNull();
  });

  it("keeps a key created while an older list read was on its way", async () => {
    fake.add("old");
    const listed = deferred<ApiKey[]>();
    fake.listApiKeys.mockReturnValueOnce(listed.promise);
    const opened = panel.open();
    await create("new");
    expect(rowIds()).toEqual(["k2"]);
    listed.resolve([{ key_id: "k1", name: "old", hint: "sk-cs-…0001" }]); // read before the create
    await opened;
    expect(rowIds()).toEqual(["k2", "k1"]);
    expect(secretValue()).toBe(SECRET);
  });

  it("drops answers that arrive after the dialog closed", async () => {
    await panel.open();
    const created = deferred<CreatedApiKey>();
    fake.createApiKey.mockReturnValueOnce(created.promise);
    await create("slow");
    panel.close();
    created.resolve({ api_key: { key_id: "k9", name: "slow", hint: "sk-cs-…0009" }, secret: SECRET });
    await settle();
    expect(document.body.innerHTML).not.toContain(SECRET);
    await panel.open();
    expect($("#api-key-new").hidden).toBe(true);
    expect(secretValue()).toBe("");
  });
});
