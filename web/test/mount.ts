// The open chat as the app wires it (chat view, turn stream, version switch) over a fake API,
// in jsdom: the set-up the turn and branch tests share.
import { vi } from "vitest";
import { type Api, type Chat, type Message } from "../src/api";
import { ChatView } from "../src/chatview";
import { TurnStream } from "../src/turn";
import { VersionSwitch } from "../src/versions";
import { FakeStreams } from "./streams";

export interface Mounted {
  streams: FakeStreams;
  api: Record<string, ReturnType<typeof vi.fn>>;
  failed: ReturnType<typeof vi.fn>;
  view: ChatView;
  turns: TurnStream;
  versions: VersionSwitch;
}

/** `submitted`: the messages SubmitCompletion answers with (the fake's new turn). Call
 * vi.unstubAllGlobals() after each test. */
export function mountChat(
  chat: Chat,
  submitted: { user_message: Message; assistant_message: Message },
): Mounted {
  // jsdom draws no frames: a redraw runs on the next task instead.
  vi.stubGlobal("requestAnimationFrame", (draw: () => void) => setTimeout(draw, 0));
  vi.stubGlobal("cancelAnimationFrame", (frame: number) => clearTimeout(frame));
  const streams = new FakeStreams();
  const failed = vi.fn();
  const api = {
    getChat: vi.fn(async () => ({ chat, messages: [] as Message[], next_page_token: "" })),
    createChat: vi.fn(),
    submitTurn: vi.fn(async (_chatId: string, request: { client_request_id: string }) => ({
      client_request_id: request.client_request_id,
      ...submitted,
    })),
    cancelTurn: vi.fn(),
    selectMessage: vi.fn(async () => chat),
  };
  const fakeApi = { ...api, streamTurn: streams.streamTurn } as unknown as Api;
  const view: ChatView = new ChatView(fakeApi, {
    sidebar: () => null,
    failed,
    streaming: () => turns.active || versions.switching,
    send: (content) => void turns.send(content, false),
    stop: () => turns.stop(),
    regenerate: (answer) => turns.regenerate(answer),
    edit: (question, content) => turns.edit(question, content),
    select: (_message, versionId) => void versions.select(versionId, turns.active),
  });
  const turns = new TurnStream(fakeApi, view, { sidebar: () => null, failed }, { firstDelayMs: 1 });
  const versions = new VersionSwitch(fakeApi, view, { failed, resume: () => turns.resume() });
  document.body.replaceChildren(view.render(document.createElement("button")));
  return { streams, api, failed, view, turns, versions };
}
