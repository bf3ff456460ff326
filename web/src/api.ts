// The REST API (Envoy's gRPC-JSON transcoding of chatstack.chat.v1.ChatService), same origin,
// and the user's API keys for the OpenAI-compatible API (/api-keys).
// Field names are snake_case; enums are names ("MESSAGE_STATUS_INTERRUPTED"); errors are
// {"code": <google.rpc.Code>, "message": "...", "details": [...]} with a fitting HTTP status.

import type { SearchHit } from "./search";
import { readCompletion, type CompletionEvent, type Usage } from "./sse";

export interface Chat {
  chat_id: string;
  title: string;
  system_prompt: string;
  create_time?: string;
  update_time?: string;
  /** The last message of the branch shown (docs/branches.md); empty: the newest message. */
  current_message_id?: string;
}

export type MessageStatus =
  | "MESSAGE_STATUS_UNSPECIFIED"
  | "MESSAGE_STATUS_PENDING"
  | "MESSAGE_STATUS_COMPLETE"
  | "MESSAGE_STATUS_INTERRUPTED"
  | "MESSAGE_STATUS_FAILED"
  | "MESSAGE_STATUS_QUEUED";

export interface Message {
  message_id: string;
  role: "ROLE_UNSPECIFIED" | "ROLE_SYSTEM" | "ROLE_USER" | "ROLE_ASSISTANT";
  content: string;
  status: MessageStatus;
  create_time?: string;
  client_request_id: string;
  model: string;
  usage?: Usage;
  cached: boolean;
  finish_reason: string;
  error: string;
  /** The message this one follows; empty for a first message (and, in a SubmitCompletion
   * answer, for an append to a chat that never branched). */
  parent_id?: string;
  /** GetChat: the versions at this message's fork (itself included, oldest first), if any. */
  sibling_ids?: string[];
}

export interface ListChatsResponse {
  chats: Chat[];
  next_page_token: string;
}

export interface GetChatResponse {
  chat: Chat;
  messages: Message[];
  next_page_token: string;
}

/** A key for the OpenAI-compatible API (/v1): the server keeps only a hash of its secret. */
export interface ApiKey {
  key_id: string;
  name: string;
  /** A recognizable, harmless part of the secret ("sk-cs-…Ab3d"). */
  hint: string;
  create_time?: string;
}

/** A new key: its secret is in this answer only (never again). */
export interface CreatedApiKey {
  api_key: ApiKey;
  secret: string;
}

/** What POST /chats:import answers: the file's chats as stored, new or imported before. */
export interface ImportResult {
  chats: Chat[];
  imported: number;
  skipped: number;
  /** "chatstack" (this service's export) or "chatgpt" (ChatGPT's conversations.json). */
  format: string;
}

export interface CompleteRequest {
  content: string;
  client_request_id: string;
  bypass_cache?: boolean;
  /** An edit: the parent of the question edited (edit_first_message for a first question). */
  parent_message_id?: string;
  edit_first_message?: boolean;
  /** A new answer to this stored question (content empty). */
  regenerate_message_id?: string;
}

/** A turn submitted to run on the server (SubmitCompletion), or as it stood when cancelled. */
export interface TurnMessages {
  user_message: Message;
  assistant_message: Message;
}

export interface SubmittedTurn extends TurnMessages {
  client_request_id: string;
}

/** An HTTP error answer (or no answer at all: status 0). */
export class ApiError extends Error {
  override name = "ApiError";
  constructor(
    readonly status: number,
    message: string,
    readonly code: number | null = null,
    readonly details: unknown[] = [],
  ) {
    super(message);
  }
}

/** A failure reported inside a completion stream (the HTTP status was already 200). */
export class StreamError extends Error {
  override name = "StreamError";
  constructor(
    readonly code: number,
    message: string,
    readonly reason: string,
  ) {
    super(message);
  }
}

async function errorFrom(response: Response): Promise<ApiError> {
  let text = "";
  try {
    text = await response.text();
  } catch {
    // the body could not be read: fall back to the status line
  }
  try {
    const body: unknown = JSON.parse(text);
    if (typeof body === "object" && body !== null) {
      const { code, message, details } = body as Record<string, unknown>;
      return new ApiError(
        response.status,
        typeof message === "string" && message ? message : response.statusText,
        typeof code === "number" ? code : null,
        Array.isArray(details) ? details : [],
      );
    }
  } catch {
    // not JSON
  }
  return new ApiError(response.status, text.trim().slice(0, 300) || response.statusText);
}

const CREATE_ATTEMPTS = 3;

export function newRequestId(): string {
  if (typeof crypto.randomUUID === "function") {
    return crypto.randomUUID();
  }
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export class Api {
  constructor(
    private readonly token: () => string | null,
    private readonly base = "",
  ) {}

  private headers(json: boolean): Headers {
    const headers = new Headers({ accept: "application/json" });
    const token = this.token();
    if (token) {
      headers.set("authorization", `Bearer ${token}`);
    }
    if (json) {
      headers.set("content-type", "application/json");
    }
    return headers;
  }

  /** `body`: sent as JSON, but a Blob (a file) as it is. */
  private async send(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<Response> {
    let response: Response;
    const raw = body instanceof Blob;
    const headers = this.headers(body !== undefined && !raw);
    if (raw) {
      headers.set("content-type", body.type || "application/octet-stream");
    }
    try {
      response = await fetch(this.base + path, {
        method,
        headers,
        body: body === undefined ? undefined : raw ? body : JSON.stringify(body),
        signal,
        cache: "no-store",
      });
    } catch (err) {
      if (err instanceof DOMException && err.name === "AbortError") {
        throw err;
      }
      throw new ApiError(0, "network error");
    }
    if (!response.ok) {
      throw await errorFrom(response);
    }
    return response;
  }

  private async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await this.send(method, path, body);
    return (await response.json()) as T;
  }

  /** A new chat. A create whose answer was lost (the network, a replica gone: status 0 or
   * 502-504) is retried under the same request id, which returns the chat the first attempt
   * made instead of leaving it behind, empty, in the list. */
  async createChat(title = "", requestId = newRequestId(), retryDelayMs = 300): Promise<Chat> {
    const body = { title, client_request_id: requestId };
    for (let attempt = 1; ; attempt++) {
      try {
        return (await this.json<{ chat: Chat }>("POST", "/chat", body)).chat;
      } catch (err) {
        const lost =
          err instanceof ApiError && (err.status === 0 || (err.status >= 502 && err.status <= 504));
        if (!lost || attempt >= CREATE_ATTEMPTS) {
          throw err;
        }
        await new Promise((resolve) => setTimeout(resolve, retryDelayMs * attempt));
      }
    }
  }

  listChats(pageToken = "", pageSize = 30): Promise<ListChatsResponse> {
    const query = new URLSearchParams({ page_size: String(pageSize) });
    if (pageToken) {
      query.set("page_token", pageToken);
    }
    return this.json<ListChatsResponse>("GET", `/chats?${query}`);
  }

  getChat(chatId: string, pageToken = "", pageSize = 100): Promise<GetChatResponse> {
    const query = new URLSearchParams({ page_size: String(pageSize) });
    if (pageToken) {
      query.set("page_token", pageToken);
    }
    return this.json<GetChatResponse>("GET", `/chat/${encodeURIComponent(chatId)}?${query}`);
  }

  /** Shows the branch through `messageId` (a version at a fork): the chat as stored, with its
   * new current message. GetChat then reads that branch. */
  async selectMessage(chatId: string, messageId: string): Promise<Chat> {
    const path = `/chat/${encodeURIComponent(chatId)}:selectMessage`;
    const reply = await this.json<{ chat: Chat }>("POST", path, { message_id: messageId });
    return reply.chat;
  }

  async deleteChat(chatId: string): Promise<void> {
    // allow_missing: a chat already deleted (in another tab) is simply gone, not an error.
    await this.send("DELETE", `/chat/${encodeURIComponent(chatId)}?allow_missing=true`);
  }

  /** Renames a chat (an empty title is allowed: the next turn names it again); the chat as
   * stored, its title trimmed by the server. A rename does not move the chat in the list. */
  async renameChat(chatId: string, title: string): Promise<Chat> {
    const path = `/chat/${encodeURIComponent(chatId)}?update_mask=title`;
    const reply = await this.json<{ chat: Chat }>("PATCH", path, { title });
    return reply.chat;
  }

  /** The user's chats as one JSON document (docs/export-format.md): those named, else all. */
  async exportChats(chatIds: string[] = []): Promise<Blob> {
    const query = new URLSearchParams(chatIds.map((id) => ["chat_ids", id]));
    const response = await this.send("GET", `/chats:export${chatIds.length ? `?${query}` : ""}`);
    return response.blob();
  }

  /** Imports a file (an export of this service or ChatGPT's conversations.json), sent as it
   * is: the server checks it whole, and a bad one (an ApiError 400 naming the field) changes
   * nothing. Importing a file again adds nothing. */
  async importChats(file: Blob): Promise<ImportResult> {
    const reply = await this.json<Partial<ImportResult>>("POST", "/chats:import", file);
    return {
      chats: reply.chats ?? [],
      imported: reply.imported ?? 0,
      skipped: reply.skipped ?? 0,
      format: reply.format ?? "",
    };
  }

  /** Creates an API key labelled `name`; the answer holds its secret, shown to no one again. */
  createApiKey(name: string): Promise<CreatedApiKey> {
    return this.json<CreatedApiKey>("POST", "/api-keys", { name });
  }

  /** The user's API keys, newest first (no secrets: their hints). */
  async searchChats(query: string, pageToken = ""): Promise<{ hits: SearchHit[]; next_page_token: string }> {
    const params = new URLSearchParams({ query });
    if (pageToken) {
      params.set("page_token", pageToken);
    }
    // The transcoder reads %20, not "+", as a space.
    const qs = params.toString().replace(/\+/g, "%20");
    const reply = await this.json<{ hits?: SearchHit[]; next_page_token?: string }>(
      "GET",
      `/chats:search?${qs}`,
    );
    return { hits: reply.hits ?? [], next_page_token: reply.next_page_token ?? "" };
  }

  async listApiKeys(): Promise<ApiKey[]> {
    const reply = await this.json<{ api_keys?: ApiKey[] }>("GET", "/api-keys");
    return reply.api_keys ?? [];
  }

  /** Revokes an API key at once; a key already gone is an ApiError 404. */
  async deleteApiKey(keyId: string): Promise<void> {
    await this.send("DELETE", `/api-keys/${encodeURIComponent(keyId)}`);
  }

  /** Streams a turn's events. Aborting `signal` closes the connection: the server stores
   * the partial reply as interrupted. */
  async *complete(
    chatId: string,
    request: CompleteRequest,
    signal: AbortSignal,
  ): AsyncGenerator<CompletionEvent> {
    const path = `/chat/${encodeURIComponent(chatId)}/completion`;
    yield* this.events(await this.send("POST", path, request, signal));
  }

  /** Starts a turn on the server and answers at once: the reply is generated whether or not
   * anyone follows it (streamTurn), until it ends or is cancelled (cancelTurn). */
  submitTurn(chatId: string, request: CompleteRequest): Promise<SubmittedTurn> {
    return this.json<SubmittedTurn>("POST", `/chat/${encodeURIComponent(chatId)}/turns`, request);
  }

  /** Follows a turn: its reply past the first `offset` code points (those the caller holds,
   * of `attempt` when known: if the turn restarted since, it comes again from 0), then its
   * end. Aborting `signal` only stops following: the turn goes on. */
  async *streamTurn(
    chatId: string,
    requestId: string,
    offset: number,
    signal: AbortSignal,
    attempt = "",
  ): AsyncGenerator<CompletionEvent> {
    const query = attempt ? `&attempt=${encodeURIComponent(attempt)}` : "";
    const path = `${turnPath(chatId, requestId)}/stream?offset=${offset}${query}`;
    yield* this.events(await this.send("GET", path, undefined, signal));
  }

  /** Stops a turn wherever it runs; the turn as stored once stopped (its reply INTERRUPTED
   * with the text so far, or as it ended if it ended first). */
  cancelTurn(chatId: string, requestId: string): Promise<TurnMessages> {
    return this.json<TurnMessages>("POST", `${turnPath(chatId, requestId)}:cancel`, {});
  }

  private async *events(response: Response): AsyncGenerator<CompletionEvent> {
    if (response.body === null) {
      throw new ApiError(response.status, "the server sent an empty answer");
    }
    yield* readCompletion(response.body);
  }
}

function turnPath(chatId: string, requestId: string): string {
  return `/chat/${encodeURIComponent(chatId)}/turns/${encodeURIComponent(requestId)}`;
}
