// Edit and branch in headless Chromium (playwright-core, Debian's chromium) against the real
// running stack (docs/branches.md): a question edited in place becomes a second version with
// its own answer (the turns below the edited one stay on the first branch); the "< 1 / 2 >"
// pager switches back; a reload shows the branch last picked (the chat's current message, kept
// by the server); Regenerate makes a second answer beside the first, and its pager switches
// back too. The chat's answers are kept short (max_tokens, set through REST) so it is quick;
// each question is unique to the run, so that no answer comes from the answer cache.
//
//   BASE_URL=http://127.0.0.1:8080 node tests/web/branches.mjs
//
// Env: BASE_URL (required), TEST_ARTIFACTS (default .run/test-artifacts/web/branches), CHROMIUM
// (default /usr/bin/chromium). Exits 0 when every step passed. Run by
// tests/web/test_web_branches.py. The shared harness: tests/web/harness.mjs.

import * as harness from "./harness.mjs";
import { BASE, UI_TIMEOUT, check, runTag, shot, step } from "./harness.mjs";

const GENERATION_TIMEOUT = 120_000; // a short answer on a shared CPU
const MAX_TOKENS = 12;

const QUESTIONS = {
  first: `Name one colour of the sea (${runTag}).`,
  second: `Name one animal of the forest (${runTag}).`,
  edited: `Name one colour of the sky (${runTag}).`,
};

const users = (page) => page.locator("#messages article.msg-user");
const answers = (page) => page.locator("#messages article.msg-assistant");
const pagerOf = (article) => article.locator(".msg-version-label");

/** What the page shows: each message's role, id, text and pager ("" without one). */
async function shown(page) {
  return page.$$eval("#messages article", (articles) =>
    articles.map((el) => ({
      role: el.dataset.role,
      id: el.dataset.messageId ?? "",
      text: el.querySelector(".msg-content")?.textContent?.trim() ?? "",
      pager: el.querySelector(".msg-version-label")?.textContent ?? "",
    })),
  );
}

/** Waits until the last answer has ended (not streaming, not pending); checks it completed. */
async function waitAnswered(page) {
  await page.waitForFunction(
    () => {
      const all = document.querySelectorAll("#messages article.msg-assistant");
      const last = all[all.length - 1];
      return (
        last &&
        last.dataset.messageId &&
        !["streaming", "pending"].includes(last.dataset.status)
      );
    },
    null,
    { timeout: GENERATION_TIMEOUT },
  );
  const status = await answers(page).last().getAttribute("data-status");
  check(status === "complete", `the answer completed (${status})`);
  check(await page.locator("#send").isVisible(), "Send is back");
}

async function ask(page, question) {
  await harness.sendMessage(page, question);
  await waitAnswered(page);
}

/** Waits until the page shows the messages `ids` (in this order), and nothing else. */
async function waitShowing(page, ids) {
  await page.waitForFunction(
    (want) =>
      JSON.stringify(
        [...document.querySelectorAll("#messages article")].map(
          (el) => el.dataset.messageId,
        ),
      ) === JSON.stringify(want),
    ids,
    { timeout: UI_TIMEOUT },
  );
}

/** The chat as stored (GetChat): the branch it shows and its current message. */
async function storedChat(token, chatId) {
  const got = await harness.api(
    "GET",
    `/chat/${encodeURIComponent(chatId)}`,
    token,
  );
  check(got.status === 200, `GetChat: ${got.status}`);
  return got.body;
}

/** The first branch: two turns, asked in the page. */
async function askTwoTurns(page, token) {
  const chatId = await harness.createChat(token, MAX_TOKENS);
  await page.goto(`${BASE}/c/${encodeURIComponent(chatId)}`);
  await page.locator("#prompt").waitFor({ timeout: UI_TIMEOUT });
  await ask(page, QUESTIONS.first);
  await ask(page, QUESTIONS.second);
  const first = await shown(page);
  check(first.length === 4, `two turns shown (${first.length})`);
  check(
    first.every((m) => m.pager === ""),
    "no versions yet (no pager)",
  );
  return { chatId, first };
}

/** Edits the first question in place: Escape cancels, then Enter saves the new text. */
async function editFirstQuestion(page, first) {
  const question = users(page).first();
  await question.hover();
  await question.locator(".msg-edit").click();
  const input = question.locator(".msg-edit-input");
  await input.waitFor({ timeout: UI_TIMEOUT });
  check(
    (await input.inputValue()) === QUESTIONS.first,
    "the editor holds the question",
  );
  await input.fill("not this one");
  await input.press("Escape");
  await input.waitFor({ state: "detached", timeout: UI_TIMEOUT });
  check(
    (await question.locator(".msg-content").textContent()) === QUESTIONS.first,
    "Escape cancels: the question is unchanged",
  );
  await question.locator(".msg-edit").click();
  await question.locator(".msg-edit-input").fill(QUESTIONS.edited);
  await shot(page, "01-editing");
  await question.locator(".msg-edit-input").press("Enter");
  await page.waitForFunction(
    (id) => {
      const el = document.querySelector("#messages article.msg-user");
      return el?.dataset.messageId && el.dataset.messageId !== id;
    },
    first[0].id,
    { timeout: UI_TIMEOUT },
  );
  await waitAnswered(page);
  const edited = await shown(page);
  check(
    edited.length === 2,
    `the new branch: the edited question and its answer (${edited.length})`,
  );
  check(edited[0].text === QUESTIONS.edited, "the edited question is shown");
  check(edited[0].pager === "2 / 2", `its pager: ${edited[0].pager}`);
  check(edited[1].id !== first[1].id, "a new answer");
  await shot(page, "02-edited");
  return edited;
}

/** "<" on the question: the first version and the turns below it come back. */
async function switchBackToFirst(page, token, chatId, first) {
  await users(page).first().locator(".msg-version-prev").click();
  await waitShowing(
    page,
    first.map((m) => m.id),
  );
  const back = await shown(page);
  check(back[0].pager === "1 / 2", `the first version: ${back[0].pager}`);
  check(back[0].text === QUESTIONS.first, "the first question is back");
  check(back[1].text === first[1].text, "with its answer");
  check(back[2].text === QUESTIONS.second, "and the turn that followed it");
  const stored = await storedChat(token, chatId);
  check(
    stored.chat.current_message_id === first[3].id,
    `the server shows that branch (${stored.chat.current_message_id})`,
  );
  await shot(page, "03-first-version");
  await page.reload();
  await waitShowing(
    page,
    first.map((m) => m.id),
  );
  check(
    (await pagerOf(users(page).first()).textContent()) === "1 / 2",
    "after a reload, the same branch and pager",
  );
}

/** Regenerate on the last answer: a second version beside it; "<" shows the first again. */
async function regenerateAndSwitchBack(page, first) {
  const last = answers(page).last();
  await last.hover();
  await last.locator(".msg-regenerate").click();
  await page.waitForFunction(
    (id) => {
      const all = document.querySelectorAll("#messages article.msg-assistant");
      const answer = all[all.length - 1];
      return answer?.dataset.messageId && answer.dataset.messageId !== id;
    },
    first[3].id,
    { timeout: UI_TIMEOUT },
  );
  await waitAnswered(page);
  const regenerated = await shown(page);
  check(
    regenerated.length === 4,
    `the answer replaced, not added (${regenerated.length})`,
  );
  check(regenerated[2].text === QUESTIONS.second, "under the same question");
  check(
    regenerated[3].pager === "2 / 2",
    `the answer's pager: ${regenerated[3].pager}`,
  );
  check(
    (await answers(page).last().locator(".badge-cached").count()) === 0,
    "not from the cache",
  );
  await shot(page, "04-regenerated");
  await answers(page).last().locator(".msg-version-prev").click();
  await waitShowing(
    page,
    first.map((m) => m.id),
  );
  check(
    (await pagerOf(answers(page).last()).textContent()) === "1 / 2",
    "the first answer is back (1 / 2)",
  );
  await page.reload();
  await waitShowing(
    page,
    first.map((m) => m.id),
  );
  await shot(page, "05-first-answer");
  return regenerated[3].id;
}

async function scenario(page) {
  const outcome = {};
  await harness.signIn(page, `web-branches-${runTag}`);
  const token = await page.evaluate(() =>
    sessionStorage.getItem("chatstack.token"),
  );
  let chat;
  await step("two turns are asked (short answers)", async () => {
    chat = await askTwoTurns(page, token);
  });
  await step("editing the first question makes a new branch", async () => {
    const edited = await editFirstQuestion(page, chat.first);
    outcome.edited = edited.map((m) => m.id);
  });
  await step(
    "the pager switches back, and a reload keeps that branch",
    async () => {
      await switchBackToFirst(page, token, chat.chatId, chat.first);
    },
  );
  await step(
    "Regenerate makes a second answer; its pager switches back",
    async () => {
      outcome.regenerated = await regenerateAndSwitchBack(page, chat.first);
    },
  );
  outcome.first = chat.first.map((m) => m.id);
  check(
    harness.pageErrors.length === 0,
    `no uncaught errors in the page: ${harness.pageErrors}`,
  );
  check(harness.dialogs.length === 0, `no dialogs: ${harness.dialogs}`);
  return outcome;
}

await harness.runInChromium(scenario, {
  defaultArtifacts: ".run/test-artifacts/web/branches",
  profilePrefix: "chatstack-branches-",
});
