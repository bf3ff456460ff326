#!/usr/bin/env node
// A gRPC client of chatstack.chat.v1.ChatService in Node, through Envoy (native gRPC on the
// same port as REST): creates a chat, streams one completion and prints a JSON summary:
//   {"chat_id": ..., "deltas": N, "text": ..., "usage": {...}, "finish_reason": ..., "model": ...}
//
//   npm ci --prefix clients/node          # scripts/setup.sh does it
//   TOKEN=$(.venv/bin/python -m gateway.token alice)
//   node clients/node/chat_client.mjs --address 127.0.0.1:8080 --token "$TOKEN" \
//        --content "Plan a day in Lyon."
//
// The protos are loaded at run time from protos/ and third_party/googleapis (`make protos`).
// Exit status: 0 on a final event, 1 on a gRPC error or an error event, 2 on bad arguments.

import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

const USAGE = `usage: node chat_client.mjs --address HOST:PORT --token JWT [options]
  --address HOST:PORT   Envoy's listener (default 127.0.0.1:8080)
  --token JWT           bearer token (default: $CHATSTACK_TOKEN)
  --content TEXT        the user message (default "Say hello.")
  --title TEXT          the chat's title (default "node client")
  --max-tokens N        per-turn sampling.max_tokens (default: the chat's settings)
  --timeout-s S         deadline of each call in seconds (default 120)`;

function parseOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      address: { type: "string", default: "127.0.0.1:8080" },
      token: { type: "string", default: process.env.CHATSTACK_TOKEN ?? "" },
      content: { type: "string", default: "Say hello." },
      title: { type: "string", default: "node client" },
      "max-tokens": { type: "string" },
      "timeout-s": { type: "string", default: "120" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  const timeoutS = Number(values["timeout-s"]);
  const maxTokens = values["max-tokens"] === undefined ? undefined : Number(values["max-tokens"]);
  if (values.help) {
    return { help: true };
  }
  if (!values.token || !(timeoutS > 0) || (maxTokens !== undefined && !(maxTokens >= 1))) {
    throw new Error(USAGE);
  }
  return {
    address: values.address,
    token: values.token,
    content: values.content,
    title: values.title,
    maxTokens,
    timeoutS,
  };
}

function loadChatService() {
  const definition = protoLoader.loadSync("chatstack/chat/v1/chat.proto", {
    includeDirs: [path.join(ROOT, "protos"), path.join(ROOT, "third_party", "googleapis")],
    keepCase: true, // snake_case field names, as in the protos
    longs: String, // uint64 seed
    enums: String,
    defaults: true,
    oneofs: true, // CompleteResponse.event names the set member
  });
  return grpc.loadPackageDefinition(definition).chatstack.chat.v1.ChatService;
}

function deadline(timeoutS) {
  return new Date(Date.now() + timeoutS * 1000);
}

function createChat(client, metadata, options) {
  return new Promise((resolve, reject) => {
    client.CreateChat(
      { title: options.title },
      metadata,
      { deadline: deadline(options.timeoutS) },
      (error, response) => (error ? reject(error) : resolve(response.chat)),
    );
  });
}

function complete(client, metadata, chatId, options) {
  const request = {
    chat_id: chatId,
    content: options.content,
    client_request_id: `node-${process.pid}-${Date.now()}`,
  };
  if (options.maxTokens !== undefined) {
    request.sampling = { max_tokens: options.maxTokens };
  }
  return new Promise((resolve, reject) => {
    const call = client.Complete(request, metadata, { deadline: deadline(options.timeoutS) });
    const summary = { chat_id: chatId, deltas: 0, text: "" };
    let failure = null;
    call.on("data", (response) => {
      switch (response.event) {
        case "delta":
          summary.deltas += 1;
          summary.text += response.delta.text;
          break;
        case "final":
          summary.usage = response.final.usage;
          summary.finish_reason = response.final.finish_reason;
          summary.model = response.final.model;
          summary.cached = response.final.cached;
          break;
        case "error":
          failure = new Error(
            `error event: code ${response.error.code} ${response.error.reason}: ${response.error.message}`,
          );
          break;
        default:
          failure = new Error(`unexpected event: ${JSON.stringify(response)}`);
      }
    });
    call.on("error", reject);
    call.on("end", () => {
      if (failure) reject(failure);
      else if (!summary.usage) reject(new Error("the stream ended without a final event"));
      else resolve(summary);
    });
  });
}

async function main() {
  let options;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    console.error(error.message === USAGE ? USAGE : `${error.message}\n${USAGE}`);
    return 2;
  }
  if (options.help) {
    console.log(USAGE);
    return 0;
  }
  const ChatService = loadChatService();
  const client = new ChatService(options.address, grpc.credentials.createInsecure());
  const metadata = new grpc.Metadata();
  metadata.set("authorization", `Bearer ${options.token}`);
  try {
    const chat = await createChat(client, metadata, options);
    const summary = await complete(client, metadata, chat.chat_id, options);
    console.log(JSON.stringify(summary));
    return 0;
  } catch (error) {
    const code = error.code === undefined ? "" : ` (${grpc.status[error.code] ?? error.code})`;
    console.error(`chat_client: ${error.details ?? error.message}${code}`);
    return 1;
  } finally {
    client.close();
  }
}

process.exitCode = await main();
