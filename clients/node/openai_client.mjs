// The official `openai` npm package against the gateway's OpenAI-compatible API (/v1): lists
// the models, asks for a whole and a streamed completion (with usage), embeds two texts and
// sends one bad request, asks one question twice (the second answer from the answer cache,
// x-chatstack-cache: hit) and, given a revoked key, sees it refused. Prints a JSON summary;
// exits non-zero on any unexpected failure.
//   node openai_client.mjs --base-url http://127.0.0.1:8080/v1 --api-key sk-cs-... \
//     --model smollm2-135m-instruct-q4_1 --embedding-model all-MiniLM-L6-v2 \
//     [--revoked-key sk-cs-...]
import OpenAI from "openai";
import { parseArgs } from "node:util";

const { values: args } = parseArgs({
  options: {
    "base-url": { type: "string" },
    "api-key": { type: "string" },
    model: { type: "string" },
    "embedding-model": { type: "string" },
    "revoked-key": { type: "string" },
  },
});

const client = new OpenAI({
  baseURL: args["base-url"],
  apiKey: args["api-key"],
  maxRetries: 0,
  timeout: 120_000,
});
const messages = [{ role: "user", content: "Name three colours." }];
const summary = {};

const models = await client.models.list();
summary.models = models.data.map((m) => m.id);

const whole = await client.chat.completions.create({
  model: args.model,
  messages,
  max_tokens: 12,
  temperature: 0,
});
summary.whole = {
  object: whole.object,
  content: whole.choices[0].message.content,
  finish_reason: whole.choices[0].finish_reason,
  usage: whole.usage,
};

const stream = await client.chat.completions.create({
  model: args.model,
  messages,
  max_tokens: 12,
  temperature: 0,
  stream: true,
  stream_options: { include_usage: true },
});
let text = "";
let chunks = 0;
let usage = null;
let finish = null;
for await (const chunk of stream) {
  chunks += 1;
  if (chunk.choices.length) {
    text += chunk.choices[0].delta.content ?? "";
    finish = chunk.choices[0].finish_reason ?? finish;
  } else {
    usage = chunk.usage;
  }
}
summary.stream = { chunks, text, finish_reason: finish, usage };

const embeddings = await client.embeddings.create({
  model: args["embedding-model"],
  input: ["a cat", "a dog"],
});
summary.embeddings = embeddings.data.map((d) => d.embedding.length);

try {
  await client.chat.completions.create({ model: args.model, messages, n: 2 });
  summary.bad_request = "accepted";
} catch (err) {
  summary.bad_request =
    err instanceof OpenAI.BadRequestError ? err.param : String(err);
}
// The same question twice: the second reply comes from the cache (stored off the request
// path, so it is asked again a few times, bounded).
const question = {
  model: args.model,
  messages: [{ role: "user", content: "What is the capital of France?" }],
  max_tokens: 96,
  temperature: 0,
};
const cacheStatus = async () =>
  (
    await client.chat.completions.create(question).withResponse()
  ).response.headers.get("x-chatstack-cache");
summary.cache = [await cacheStatus()];
while (summary.cache.at(-1) !== "hit" && summary.cache.length < 20) {
  summary.cache.push(await cacheStatus());
}

if (args["revoked-key"]) {
  const revoked = new OpenAI({
    baseURL: args["base-url"],
    apiKey: args["revoked-key"],
    maxRetries: 0,
  });
  try {
    await revoked.models.list();
    summary.revoked = "accepted";
  } catch (err) {
    summary.revoked =
      err instanceof OpenAI.AuthenticationError ? err.status : String(err);
  }
}
console.log(JSON.stringify(summary));
