// Answers that outlive the page, in headless Chromium (playwright-core, Debian's chromium)
// against the real running stack: the answer is generated on the server (SubmitCompletion) and
// the page only follows it (StreamTurn), so
//   (a) a reload mid-answer follows it on in the same bubble, to the end, as stored;
//   (b) switching to another chat and back mid-answer follows it on (it was never stopped);
//   (c) Stop after a reload stops it on the server (CancelTurn): stored INTERRUPTED, no growth.
// Each chat asks for a long story with a high max_tokens (its settings, set through REST), so
// that the answer is still being generated while the page reloads or switches.
//
//   BASE_URL=http://127.0.0.1:8080 node tests/web/resume.mjs
//
// Env: BASE_URL (required), TEST_ARTIFACTS (default .run/test-artifacts/web/resume), CHROMIUM
// (default /usr/bin/chromium). Exits 0 when every step passed. Run by
// tests/web/test_web_resume.py. The shared harness: tests/web/harness.mjs.

import * as harness from "./harness.mjs";
import { BASE, UI_TIMEOUT, check, runTag, shot, step } from "./harness.mjs";

const GENERATION_TIMEOUT = 150_000; // a long answer on a shared CPU
// A story per try, each on its own subject: the answer cache (keyed on the question's content
// words) must not answer one from another at once.
const SUBJECTS = {
  reload: [
    "a brave knight who fights a dragon",
    "a lighthouse keeper during a great storm",
    "a baker who opens a shop on the moon",
  ],
  switch: [
    "a pirate crew searching for buried treasure",
    "a young wizard at a school of magic",
    "a detective solving a mystery in Paris",
  ],
  stop: [
    "a robot who learns to paint",
    "a family of foxes in a winter forest",
    "an astronaut lost on a distant planet",
  ],
};
const story = (subject) =>
  `Write a very long story, with many chapters, about ${subject}.`;

const assistants = (page) => page.locator("#messages article.msg-assistant");
const lastAnswer = (page) => assistants(page).last();
const shownText = async (page) =>
  ((await lastAnswer(page).locator(".msg-content").textContent()) ?? "").trim();
const answerStatus = (page) => lastAnswer(page).getAttribute("data-status");

/** The chat's last stored reply (GetChat). */
async function storedReply(token, chatId) {
  const got = await harness.api(
    "GET",
    `/chat/${encodeURIComponent(chatId)}`,
    token,
  );
  check(got.status === 200, `GetChat: ${got.status}`);
  const replies = got.body.messages.filter((m) => m.role === "ROLE_ASSISTANT");
  check(replies.length > 0, "a reply is stored");
  return replies[replies.length - 1];
}

async function openChat(page, chatId) {
  await page.goto(`${BASE}/c/${encodeURIComponent(chatId)}`);
  await page.locator("#prompt").waitFor({ timeout: UI_TIMEOUT });
}

/** Waits until the last answer shows at least `length` characters. */
async function waitForText(page, length, timeout = GENERATION_TIMEOUT) {
  await page.waitForFunction(
    (n) => {
      const all = document.querySelectorAll("#messages article.msg-assistant");
      const text =
        all[all.length - 1]?.querySelector(".msg-content")?.textContent;
      return (text ?? "").trim().length >= n;
    },
    length,
    { timeout },
  );
}

/** Waits until the last answer is no longer streaming; returns its status. */
async function waitEnded(page, timeout = GENERATION_TIMEOUT) {
  await page.waitForFunction(
    () => {
      const all = document.querySelectorAll("#messages article.msg-assistant");
      const last = all[all.length - 1];
      return last && !["streaming", "pending"].includes(last.dataset.status);
    },
    null,
    { timeout },
  );
  return answerStatus(page);
}

/** Sends a story and waits for its first words. */
async function sendStory(page, subject) {
  await harness.sendMessage(page, story(subject));
  await waitForText(page, 30);
}

/**
 * Sends the story, lets `interrupt` (a reload, a switch away and back) happen mid-answer, and
 * checks that the page follows the answer on: streaming again, Stop offered, the text growing.
 * A story the model ended before `interrupt` is asked for again, on the next subject.
 */
async function sendAndInterrupt(page, subjects, interrupt) {
  for (const [attempt, subject] of subjects.entries()) {
    await sendStory(page, subject);
    const before = await shownText(page);
    await interrupt();
    await lastAnswer(page).waitFor({ timeout: UI_TIMEOUT });
    await page.waitForTimeout(300);
    if ((await answerStatus(page)) !== "streaming") {
      continue; // it ended meanwhile: nothing was left to follow
    }
    check(await page.locator("#stop").isVisible(), "Stop is offered again");
    const resumedAt = (await shownText(page)).length;
    await waitForText(page, resumedAt + 1);
    return { before, resumedAt, attempts: attempt + 1 };
  }
  throw new Error(`the answer ended too soon ${subjects.length} times`);
}

/**
 * The shown answer is the stored one, once: the page reloaded shows the same text (rendered
 * from the store), and one answer per question.
 */
async function checkShownAsStored(page, token, chatId) {
  const shown = await shownText(page);
  const stored = await storedReply(token, chatId);
  const bubbleId = await lastAnswer(page).getAttribute("data-message-id");
  check(
    bubbleId === stored.message_id,
    `the bubble is the stored reply's (${bubbleId} vs ${stored.message_id})`,
  );
  await page.reload();
  await lastAnswer(page).waitFor({ timeout: UI_TIMEOUT });
  const reloaded = await shownText(page);
  check(
    reloaded === shown,
    `the followed text is the stored text:\n--- followed (${shown.length})\n${shown}\n--- stored (${reloaded.length})\n${reloaded}`,
  );
  const users = await page.locator("#messages article.msg-user").count();
  check(
    users === (await assistants(page).count()),
    `one answer per question (${users} questions)`,
  );
  return { stored, shown };
}

/** (a): the reload comes mid-answer; the answer goes on in its bubble and completes. */
async function reloadMidAnswer(page, token) {
  const chatId = await harness.createChat(token, 600);
  await openChat(page, chatId);
  const resumed = await sendAndInterrupt(page, SUBJECTS.reload, () =>
    page.reload(),
  );
  await shot(page, "01-resumed-after-reload");
  check(
    (await assistants(page).count()) === resumed.attempts,
    "the answer goes on in its bubble: no second one",
  );
  const status = await waitEnded(page);
  check(status === "complete", `the answer completed (${status})`);
  const { stored, shown } = await checkShownAsStored(page, token, chatId);
  check(
    stored.status === "MESSAGE_STATUS_COMPLETE",
    `stored: ${stored.status}`,
  );
  check(shown.length > resumed.resumedAt, "it grew past the reload");
  check(
    shown.startsWith(resumed.before.slice(0, 20)),
    "it is the answer that was streaming",
  );
  await shot(page, "02-completed-after-reload");
  return { ...resumed, final: shown.length };
}

/** Opens `other` from the sidebar mid-answer, checks the answer runs on, and comes back. */
async function switchAwayAndBack(page, token, chatId, other) {
  const link = (id) =>
    page.locator(`#chat-list li[data-chat-id="${id}"] .chat-link`);
  await link(other).click();
  await page.waitForURL(`${BASE}/c/${other}`, { timeout: UI_TIMEOUT });
  await page.waitForTimeout(1500);
  check(
    await page.locator("#send").isVisible(),
    "the other chat's composer is free",
  );
  check(
    (await assistants(page).count()) === 0,
    "the answer is not shown in the other chat",
  );
  const away = await storedReply(token, chatId);
  check(
    ["MESSAGE_STATUS_PENDING", "MESSAGE_STATUS_COMPLETE"].includes(away.status),
    `leaving did not stop it (${away.status})`,
  );
  await link(chatId).click();
  await page.waitForURL(`${BASE}/c/${chatId}`, { timeout: UI_TIMEOUT });
}

/** (b): another chat is opened mid-answer (in the page: no reload), then this one again. */
async function switchMidAnswer(page, token) {
  const other = await harness.createChat(token, 32);
  const chatId = await harness.createChat(token, 600);
  await page.reload(); // the sidebar lists both
  await openChat(page, chatId);
  const resumed = await sendAndInterrupt(page, SUBJECTS.switch, () =>
    switchAwayAndBack(page, token, chatId, other),
  );
  await shot(page, "03-resumed-after-switch");
  const status = await waitEnded(page);
  check(status === "complete", `the answer completed (${status})`);
  const { stored } = await checkShownAsStored(page, token, chatId);
  check(
    stored.status === "MESSAGE_STATUS_COMPLETE",
    `stored: ${stored.status}`,
  );
  return resumed;
}

/** (c): Stop, pressed on the answer followed after a reload, stops it on the server. */
async function stopAfterReload(page, token) {
  const chatId = await harness.createChat(token, 2000);
  await openChat(page, chatId);
  const resumed = await sendAndInterrupt(page, SUBJECTS.stop, () =>
    page.reload(),
  );
  await page.locator("#stop").click();
  const status = await waitEnded(page, UI_TIMEOUT);
  check(status === "interrupted", `the answer is interrupted (${status})`);
  await lastAnswer(page)
    .locator(".badge-interrupted")
    .waitFor({ timeout: UI_TIMEOUT });
  check(await page.locator("#send").isVisible(), "Send is back");
  const stopped = await shownText(page);
  const first = await storedReply(token, chatId);
  check(
    first.status === "MESSAGE_STATUS_INTERRUPTED",
    `stored: ${first.status}`,
  );
  await page.waitForTimeout(2000);
  check((await shownText(page)) === stopped, "no more text arrives");
  const later = await storedReply(token, chatId);
  check(
    later.content === first.content,
    `the stored reply stopped growing (${first.content.length} -> ${later.content.length})`,
  );
  await shot(page, "04-stopped-after-reload");
  const { stored } = await checkShownAsStored(page, token, chatId);
  check(
    stored.status === "MESSAGE_STATUS_INTERRUPTED",
    `stored: ${stored.status}`,
  );
  return { ...resumed, stopped: stopped.length };
}

async function scenario(page) {
  const outcome = {};
  await harness.signIn(page, `web-resume-${runTag}`);
  const token = await page.evaluate(() =>
    sessionStorage.getItem("chatstack.token"),
  );
  await step("(a) a reload mid-answer follows it on, to the end", async () => {
    outcome.reload = await reloadMidAnswer(page, token);
  });
  await step(
    "(b) a switch to another chat and back follows it on",
    async () => {
      outcome.switch = await switchMidAnswer(page, token);
    },
  );
  await step(
    "(c) Stop after a reload stops the answer on the server",
    async () => {
      outcome.stop = await stopAfterReload(page, token);
    },
  );
  check(
    harness.pageErrors.length === 0,
    `no uncaught errors in the page: ${harness.pageErrors}`,
  );
  check(harness.dialogs.length === 0, `no dialogs: ${harness.dialogs}`);
  return outcome;
}

await harness.runInChromium(scenario, {
  defaultArtifacts: ".run/test-artifacts/web/resume",
  profilePrefix: "chatstack-resume-",
});
