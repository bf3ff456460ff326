// Searching one's chats in the web UI, in headless Chromium (playwright-core, Debian's
// chromium) against the real running stack: a word from an old message (a real turn) typed in
// the sidebar's search field finds its chat among newer ones; choosing the hit opens the chat;
// Escape brings the chat list back; a word that is nowhere says so.
//
//   BASE_URL=http://127.0.0.1:8080 node tests/web/search.mjs
//
// Env: BASE_URL (required), TEST_ARTIFACTS (default .run/test-artifacts/web/search),
// CHROMIUM (default /usr/bin/chromium). Exits 0 when every step passed. Run by
// tests/web/test_web_search.py. The shared harness: tests/web/harness.mjs.

import * as harness from "./harness.mjs";
import { UI_TIMEOUT, check, runTag, shot, step } from "./harness.mjs";

async function createChat(token, title) {
  const created = await harness.api("POST", "/chat", token, { title });
  check(created.status === 200, `create chat ${title}: ${created.status}`);
  return created.body.chat.chat_id;
}

async function turn(token, chatId, content) {
  const reply = await harness.api("POST", `/chat/${chatId}/completion`, token, {
    content,
    sampling: { temperature: 0, max_tokens: 12 },
  });
  check(reply.status === 200, `the turn: ${reply.status}`);
}

const search = (page) => page.locator("#chat-search");
const hit = (page, chatId) =>
  page.locator(`#search-results a.search-hit[data-chat-id="${chatId}"]`);

async function scenario(page) {
  const user = `web-search-${runTag}`;
  const token = await harness.devToken(user);
  const word = `zq${runTag}x`;
  let old = "";

  await step("an old chat holds the word; newer ones do not", async () => {
    old = await createChat(token, "Old trip");
    await turn(token, old, `Remember the code word ${word}, please.`);
    for (const title of ["Newer one", "Newer two", "Newer three"]) {
      await createChat(token, title);
    }
  });

  await step("typing the word shows that chat only", async () => {
    await harness.signIn(page, user);
    await search(page).fill(word.toUpperCase());
    await hit(page, old).first().waitFor({ timeout: UI_TIMEOUT });
    const chats = await page
      .locator("#search-results a.search-hit")
      .evaluateAll((links) => links.map((a) => a.dataset.chatId));
    check(
      chats.every((id) => id === old),
      `only the old chat: ${chats}`,
    );
    check(
      (await hit(page, old).first().textContent()).includes(word),
      "the snippet shows the word",
    );
    check(
      !(await page.locator("#chat-list").isVisible()),
      "the results stand in for the list",
    );
    await shot(page, "01-found");
  });

  await step("choosing the hit opens the chat", async () => {
    await hit(page, old).first().click();
    await page.waitForURL(`**/c/${old}`, { timeout: UI_TIMEOUT });
    await page
      .locator(".msg", { hasText: word })
      .first()
      .waitFor({ timeout: UI_TIMEOUT });
    await shot(page, "02-opened");
  });

  await step("Escape brings the list back", async () => {
    await search(page).press("Escape");
    await page
      .locator("#chat-list")
      .waitFor({ state: "visible", timeout: UI_TIMEOUT });
    check((await search(page).inputValue()) === "", "the field is empty");
  });

  await step("a word that is nowhere says so", async () => {
    await search(page).fill(`nowhere${runTag}q`);
    await page
      .locator("#search-status", { hasText: "No chat matches" })
      .waitFor({ timeout: UI_TIMEOUT });
    await shot(page, "03-none");
  });

  check(
    harness.pageErrors.length === 0,
    `no uncaught errors in the page: ${harness.pageErrors}`,
  );
  return { chatId: old, word };
}

await harness.runInChromium(scenario, {
  defaultArtifacts: ".run/test-artifacts/web/search",
  profilePrefix: "chatstack-search-",
});
