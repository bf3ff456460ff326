// Renaming a chat in the web UI, in headless Chromium (playwright-core, Debian's chromium)
// against the real running stack: the sidebar's rename button turns the title into a field,
// Enter or leaving it saves (PATCH /chat/{id}?update_mask=title), Escape cancels, a refused
// title leaves the old one and says why on the banner; the new title survives a reload.
//
//   BASE_URL=http://127.0.0.1:8080 node tests/web/rename.mjs
//
// Env: BASE_URL (required), TEST_ARTIFACTS (screenshots and summary.json; default
// .run/test-artifacts/web/rename), CHROMIUM (default /usr/bin/chromium). Exits 0 when every
// step passed; on a failure it saves a screenshot and exits 1. Run by
// tests/web/test_web_rename.py. No turn is sent: the chats are made over the API. The shared
// harness (environment, steps, screenshots, the browser run): tests/web/harness.mjs.

import * as harness from "./harness.mjs";
import { BASE, UI_TIMEOUT, check, shot, step } from "./harness.mjs";

const patches = []; // the URLs of the PATCH requests the page sent

function recordPatches(page) {
  page.on("request", (request) => {
    if (request.method() === "PATCH") {
      patches.push(request.url());
    }
  });
}

// --- helpers over the API ----------------------------------------------------------------------

async function createChat(token, title) {
  const created = await harness.api("POST", "/chat", token, { title });
  check(created.status === 200, `create chat ${title}: ${created.status}`);
  return created.body.chat.chat_id;
}

async function storedTitle(token, chatId) {
  const got = await harness.api(
    "GET",
    `/chat/${encodeURIComponent(chatId)}`,
    token,
  );
  check(got.status === 200, `GET the chat: ${got.status}`);
  return got.body.chat.title;
}

// --- helpers over the sidebar ------------------------------------------------------------------

const item = (page, chatId) =>
  page.locator(`#chat-list li[data-chat-id="${chatId}"]`);
const linkText = (page, chatId) =>
  item(page, chatId).locator(".chat-link").textContent();
const field = (page) => page.locator("#chat-list .chat-rename-input");

async function listedIds(page) {
  return page
    .locator("#chat-list li")
    .evaluateAll((lis) => lis.map((li) => li.dataset.chatId));
}

/** Clicks the chat's rename button; returns the focused field. */
async function startRename(page, chatId, title) {
  await item(page, chatId).hover();
  await page
    .getByRole("button", { name: `Rename chat: ${title}`, exact: true })
    .click();
  const input = field(page);
  await input.waitFor({ timeout: UI_TIMEOUT });
  check(
    (await input.inputValue()) === title,
    "the field holds the current title",
  );
  check(
    await input.evaluate((el) => document.activeElement === el),
    "the field has the focus",
  );
  return input;
}

async function waitTitle(page, chatId, title) {
  await page.waitForFunction(
    ([id, text]) =>
      document.querySelector(`#chat-list li[data-chat-id="${id}"] .chat-link`)
        ?.textContent === text,
    [chatId, title],
    { timeout: UI_TIMEOUT },
  );
}

// --- the scenario ------------------------------------------------------------------------------

async function scenario(page) {
  recordPatches(page);
  const user = `web-rename-${harness.runTag}`;
  const token = await harness.devToken(user);
  const older = await createChat(token, "Rename me");
  const newer = await createChat(token, "Leave me");
  const renamed = `Trip plans <b>${harness.runTag}</b>`;

  await step("open a chat: it has a labelled rename button", async () => {
    await harness.signIn(page, user);
    await item(page, older).locator(".chat-link").click();
    await page.waitForURL(`${BASE}/c/${encodeURIComponent(older)}`);
    await page.waitForFunction(
      () => document.querySelector("#chat-title")?.textContent === "Rename me",
      null,
      { timeout: UI_TIMEOUT },
    );
    const order = await listedIds(page);
    check(order[0] === newer && order[1] === older, `newest first: ${order}`);
    check(
      (await item(page, older)
        .locator(".chat-rename")
        .getAttribute("title")) === "Rename chat",
      "the button has a tooltip",
    );
  });

  await step("Escape cancels: nothing is sent, the title stays", async () => {
    const input = await startRename(page, older, "Rename me");
    await page.keyboard.type("Not this");
    await input.press("Escape");
    await input.waitFor({ state: "detached", timeout: UI_TIMEOUT });
    check(
      (await linkText(page, older)) === "Rename me",
      "the old title is back",
    );
    check(patches.length === 0, `no PATCH was sent: ${patches}`);
    check(
      await page.evaluate(() =>
        document.activeElement?.classList.contains("chat-rename"),
      ),
      "the focus is back on the rename button",
    );
    check(await item(page, older).isVisible(), "the chat is still listed");
  });

  await step("Enter saves: the sidebar and the chat's header", async () => {
    const input = await startRename(page, older, "Rename me");
    check(
      await input.evaluate(
        (el) => el.selectionStart === 0 && el.selectionEnd === el.value.length,
      ),
      "the title is selected",
    );
    await page.keyboard.type(renamed); // replaces the selection
    await shot(page, "01-renaming");
    const saved = page.waitForResponse(
      (r) => r.request().method() === "PATCH",
      { timeout: UI_TIMEOUT },
    );
    await input.press("Enter");
    check((await saved).status() === 200, "the rename is stored");
    await waitTitle(page, older, renamed);
    check(
      (await page.locator("#chat-title").textContent()) === renamed,
      "the open chat's header shows it",
    );
    check((await page.title()).startsWith(renamed), "and the window title");
    check(
      patches.length === 1 && patches[0].includes("update_mask=title"),
      `one PATCH with the field mask: ${patches}`,
    );
    const order = await listedIds(page);
    check(
      order[0] === newer && order[1] === older,
      `a rename does not reorder: ${order}`,
    );
    check(
      (await page.locator("#chat-list b").count()) === 0,
      "the title is text",
    );
    check(
      (await storedTitle(token, older)) === renamed,
      "stored on the server",
    );
    await shot(page, "02-renamed");
  });

  await step("after a reload the chat is still renamed", async () => {
    await page.reload();
    await page.locator("#prompt").waitFor({ timeout: UI_TIMEOUT });
    await waitTitle(page, older, renamed);
    await page.waitForFunction(
      (text) => document.querySelector("#chat-title")?.textContent === text,
      renamed,
      { timeout: UI_TIMEOUT },
    );
    check(
      (await item(page, older)
        .locator(".chat-link")
        .getAttribute("aria-current")) === "page",
      "still the open chat",
    );
    await shot(page, "03-reloaded");
  });

  await step("a refused title keeps the old one and says why", async () => {
    const renames = (url) => url.searchParams.get("update_mask") === "title";
    await page.route(renames, (route) =>
      route.fulfill({
        status: 400,
        contentType: "application/json",
        body: JSON.stringify({
          code: 3,
          message: "chat.title: at most 200 characters",
          details: [],
        }),
      }),
    );
    const input = await startRename(page, older, renamed);
    await input.fill("Refused title");
    await input.press("Enter");
    const banner = page.locator("#error-banner");
    await banner.waitFor({ state: "visible", timeout: UI_TIMEOUT });
    check(
      /at most 200 characters/.test(await banner.textContent()),
      `the error is shown: ${await banner.textContent()}`,
    );
    await input.waitFor({ state: "detached", timeout: UI_TIMEOUT });
    check((await linkText(page, older)) === renamed, "the old title is back");
    check(
      (await page.locator("#chat-title").textContent()) === renamed,
      "the header keeps it",
    );
    await shot(page, "04-refused");
    await page.unroute(renames);
    await page.locator(".banner-dismiss").click();
  });

  await step(
    "leaving the field saves (an empty title is allowed)",
    async () => {
      const input = await startRename(page, newer, "Leave me");
      await input.fill("");
      await page.locator("#prompt").click(); // elsewhere: the field loses the focus
      await waitTitle(page, newer, "New chat");
      check(
        (await storedTitle(token, newer)) === "",
        "the empty title is stored",
      );
      check(
        (await page.locator("#chat-title").textContent()) === renamed,
        "the open chat (another one) keeps its header",
      );
    },
  );

  check(
    harness.pageErrors.length === 0,
    `no uncaught errors in the page: ${harness.pageErrors}`,
  );
  return { chatId: older, title: renamed, patches: patches.length };
}

await harness.runInChromium(scenario, {
  defaultArtifacts: ".run/test-artifacts/web/rename",
  profilePrefix: "chatstack-rename-",
});
