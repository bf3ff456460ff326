import { afterEach, describe, expect, it, vi } from "vitest";
import { Api, ApiError } from "../src/api";

function reply(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe("Api.renameChat", () => {
  it("PATCHes the title with its field mask and returns the stored chat", async () => {
    const chat = { chat_id: "c/1", title: "New name", system_prompt: "" };
    const fetch = vi.fn(async () => reply(200, { chat }));
    vi.stubGlobal("fetch", fetch);
    const api = new Api(() => "tok", "http://x");
    await expect(api.renameChat("c/1", "New name")).resolves.toEqual(chat);
    const [url, init] = fetch.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe("http://x/chat/c%2F1?update_mask=title");
    expect(init.method).toBe("PATCH");
    expect(JSON.parse(init.body as string)).toEqual({ title: "New name" });
    const headers = init.headers as Headers;
    expect(headers.get("authorization")).toBe("Bearer tok");
    expect(headers.get("content-type")).toBe("application/json");
  });

  it("turns a refused title into an ApiError with the server's message", async () => {
    const body = { code: 3, message: "chat.title: at most 200 characters", details: [] };
    vi.stubGlobal(
      "fetch",
      vi.fn(async () => reply(400, body)),
    );
    const err = await new Api(() => null).renameChat("c1", "x".repeat(300)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 400, code: 3, message: "chat.title: at most 200 characters" });
  });
});

describe("Api.createChat", () => {
  const chat = { chat_id: "c1", title: "", system_prompt: "" };

  it("retries a create whose answer was lost under the same request id", async () => {
    const fetch = vi.fn(async () => reply(200, { chat }));
    fetch.mockRejectedValueOnce(new TypeError("Failed to fetch"));
    fetch.mockResolvedValueOnce(reply(503, { code: 14, message: "upstream reset" }));
    vi.stubGlobal("fetch", fetch);
    await expect(new Api(() => "tok", "http://x").createChat("", "req-1", 0)).resolves.toEqual(chat);
    expect(fetch).toHaveBeenCalledTimes(3);
    const bodies = fetch.mock.calls.map((call) =>
      JSON.parse((call as unknown as [string, RequestInit])[1].body as string),
    );
    expect(bodies).toEqual(Array(3).fill({ title: "", client_request_id: "req-1" }));
  });

  it("does not retry a refusal, and gives up after three lost answers", async () => {
    const fetch = vi.fn(async () => reply(400, { code: 3, message: "title: too long" }));
    vi.stubGlobal("fetch", fetch);
    const api = new Api(() => "tok", "http://x");
    await expect(api.createChat("x", "req-2", 0)).rejects.toMatchObject({ status: 400 });
    expect(fetch).toHaveBeenCalledTimes(1);
    fetch.mockImplementation(async () => reply(502, { code: 14, message: "unavailable" }));
    await expect(api.createChat("", "req-3", 0)).rejects.toMatchObject({ status: 502 });
    expect(fetch).toHaveBeenCalledTimes(4);
  });
});

describe("Api API keys", () => {
  const key = { key_id: "k/1", name: "laptop", hint: "sk-cs-…Ab3d", create_time: "2026-12-06T07:00:00.123Z" };

  it("creates a key with its name and returns the key with its secret", async () => {
    const created = { api_key: key, secret: "sk-cs-" + "a".repeat(43) };
    const fetch = vi.fn(async () => reply(200, created));
    vi.stubGlobal("fetch", fetch);
    await expect(new Api(() => "tok", "http://x").createApiKey("laptop")).resolves.toEqual(created);
    const [url, init] = fetch.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe("http://x/api-keys");
    expect(init.method).toBe("POST");
    expect(JSON.parse(init.body as string)).toEqual({ name: "laptop" });
    expect((init.headers as Headers).get("authorization")).toBe("Bearer tok");
  });

  it("lists the keys; none when the field is absent", async () => {
    const fetch = vi.fn(async () => reply(200, { api_keys: [key] }));
    vi.stubGlobal("fetch", fetch);
    const api = new Api(() => "tok", "http://x");
    await expect(api.listApiKeys()).resolves.toEqual([key]);
    const [url, init] = fetch.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe("http://x/api-keys");
    expect(init.method).toBe("GET");
    fetch.mockResolvedValueOnce(reply(200, {}));
    await expect(api.listApiKeys()).resolves.toEqual([]);
  });

  it("deletes a key by its id; a missing one is an ApiError 404", async () => {
    const fetch = vi.fn(async () => reply(200, {}));
    vi.stubGlobal("fetch", fetch);
    const api = new Api(() => "tok", "http://x");
    await api.deleteApiKey("k/1");
    const [url, init] = fetch.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe("http://x/api-keys/k%2F1");
    expect(init.method).toBe("DELETE");
    fetch.mockResolvedValueOnce(reply(404, { code: 5, message: "api key not found" }));
    const err = await api.deleteApiKey("k/1").catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 404, code: 5, message: "api key not found" });
  });
});
