// The web UI end to end in headless Chromium (playwright-core, Debian's chromium) against the
// real running stack: Envoy + the static server (development sign-in) + chat + inference.
//
//   BASE_URL=http://127.0.0.1:8080 node tests/web/e2e.mjs
//
// Env: BASE_URL (required), TEST_ARTIFACTS (screenshots and summary.json; default
// .run/test-artifacts/web), CHROMIUM (default /usr/bin/chromium). Exits 0 when every step
// passed; on a failure it saves a screenshot of the page and exits 1. Run by
// tests/web/test_web_e2e.py. The shared harness (environment, steps, screenshots, the browser
// run): tests/web/harness.mjs.

import * as harness from "./harness.mjs";
import { BASE, UI_TIMEOUT, check, shot, step } from "./harness.mjs";

const GENERATION_TIMEOUT = 120_000; // a turn on a shared 2-core CPU

// --- helpers over the page ---------------------------------------------------------------------

const assistants = (page) => page.locator("#messages article.msg-assistant");
const lastAssistant = (page) => assistants(page).last();

/** Signs in and checks that the page shows who is signed in. */
async function signInAs(page, user) {
  await harness.signIn(page, user);
  check(
    (await page.locator("#user-name").textContent()) === user,
    "the signed-in user is shown",
  );
}

/** Waits until the last answer is no longer streaming; returns its status. */
async function waitAnswered(page, timeout = GENERATION_TIMEOUT) {
  await page.waitForFunction(
    () => {
      const all = document.querySelectorAll("#messages article.msg-assistant");
      const last = all[all.length - 1];
      return last && last.dataset.status !== "streaming";
    },
    null,
    { timeout },
  );
  return lastAssistant(page).getAttribute("data-status");
}

async function answerText(page) {
  return (
    (await lastAssistant(page).locator(".msg-content").textContent()) ?? ""
  );
}

async function currentChatId(page) {
  const match = /\/c\/([^/]+)$/.exec(new URL(page.url()).pathname);
  check(match, `the URL names the chat (${page.url()})`);
  return decodeURIComponent(match[1]);
}

// --- the scenario ------------------------------------------------------------------------------

async function scenario(page) {
  const user = `web-e2e-${harness.runTag}`;
  const outcome = {};

  await step("the sign-in page loads without a token", async () => {
    await page.goto(`${BASE}/`);
    await page.locator("#signin-user").waitFor({ timeout: UI_TIMEOUT });
    check(
      await page.getByLabel("User name").isVisible(),
      "the user name field has a label",
    );
    await shot(page, "01-sign-in");
  });

  await step("a bad user name is refused in words", async () => {
    await page.locator("#signin-user").fill("bad name!");
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await page
      .locator("#signin-error")
      .waitFor({ state: "visible", timeout: UI_TIMEOUT });
    check(
      /letters, digits/.test(await page.locator("#signin-error").textContent()),
      "the rule is explained",
    );
  });

  await step("sign in with a user name (development token)", async () => {
    await signInAs(page, user);
    const token = await page.evaluate(() =>
      sessionStorage.getItem("chatstack.token"),
    );
    check(
      token && token.split(".").length === 3,
      "the token is kept in sessionStorage",
    );
    outcome.token = token;
    check(
      (await page.evaluate(() => document.activeElement?.id)) === "prompt",
      "the message box has the focus",
    );
  });

  await step("Shift+Enter adds a line, Enter alone sends", async () => {
    const prompt = page.locator("#prompt");
    await prompt.click();
    await page.keyboard.type("line one");
    await page.keyboard.press("Shift+Enter");
    await page.keyboard.type("line two");
    check(
      (await prompt.inputValue()) === "line one\nline two",
      "Shift+Enter kept a newline",
    );
    check(
      (await page.locator("#messages article").count()) === 0,
      "nothing was sent",
    );
    await prompt.fill("");
  });

  const story =
    "Write a long story about a brave knight who fights a dragon in the mountains.";
  await step("send: the answer streams in token by token", async () => {
    await harness.sendMessage(page, story);
    const chatId = await currentChatId(page);
    outcome.chatId = chatId;
    const userBubble = page.locator("#messages article.msg-user").last();
    check(
      (await userBubble.textContent()) === story,
      "the question is shown as sent",
    );
    // Observe the bubble while it streams: its text must grow across several observations.
    const lengths = [];
    const deadline = Date.now() + GENERATION_TIMEOUT;
    while (Date.now() < deadline) {
      const status = await lastAssistant(page).getAttribute("data-status");
      const length = (await answerText(page)).length;
      if (length > 0 && length !== lengths[lengths.length - 1]) {
        lengths.push(length);
        if (lengths.length === 2) {
          await shot(page, "02-streaming");
        }
      }
      if (lengths.length >= 4 || status !== "streaming") {
        break;
      }
      await page.waitForTimeout(60);
    }
    outcome.observedLengths = lengths;
    check(
      (await lastAssistant(page).getAttribute("data-status")) === "streaming",
      `the answer was still streaming after ${lengths.length} observations (lengths ${lengths})`,
    );
    check(
      lengths.length >= 3,
      `the text grew across at least 2 observations: ${lengths}`,
    );
    check(
      lengths.every((n, i) => i === 0 || n > lengths[i - 1]),
      `the text only grew: ${lengths}`,
    );
    check(
      await page.locator("#stop").isVisible(),
      "Stop is offered while streaming",
    );
  });

  await step("Stop aborts the answer and marks it interrupted", async () => {
    await page.locator("#stop").click();
    const status = await waitAnswered(page, UI_TIMEOUT);
    check(status === "interrupted", `status after Stop: ${status}`);
    check(
      (await page.evaluate(() => document.activeElement?.id)) === "prompt",
      "focus back in the box",
    );
    await lastAssistant(page)
      .locator(".badge-interrupted")
      .waitFor({ timeout: UI_TIMEOUT });
    const text = await answerText(page);
    outcome.partial = text;
    await page.waitForTimeout(800);
    check((await answerText(page)) === text, "no more text arrives after Stop");
    check(await page.locator("#send").isVisible(), "Send is back");
    await shot(page, "03-stopped");
  });

  await step(
    "reload shows the stored history, with the interrupted mark",
    async () => {
      // The server stores the partial turn when it sees the disconnect: allow it a moment.
      const deadline = Date.now() + 20_000;
      let status = null;
      while (Date.now() < deadline) {
        await page.reload();
        await page
          .locator("#messages article.msg-assistant")
          .first()
          .waitFor({ timeout: UI_TIMEOUT });
        status = await lastAssistant(page).getAttribute("data-status");
        if (status === "interrupted") {
          break;
        }
        await page.waitForTimeout(500);
      }
      check(status === "interrupted", `stored status: ${status}`);
      check(
        (await page
          .locator("#messages article.msg-user")
          .first()
          .textContent()) === story,
        "the question is stored",
      );
      const stored = await answerText(page);
      const seen = outcome.partial.slice(0, 20);
      check(
        stored.length > 0 && stored.startsWith(seen),
        `the stored partial starts like the streamed one`,
      );
      check(
        await lastAssistant(page).locator(".badge-interrupted").isVisible(),
        "the mark is shown",
      );
      const item = page.locator(
        `#chat-list li[data-chat-id="${outcome.chatId}"] .chat-link`,
      );
      check(
        /long story/i.test(await item.textContent()),
        "the sidebar shows the server-made title",
      );
      check(
        (await item.getAttribute("aria-current")) === "page",
        "the open chat is marked current",
      );
      check(
        /long story/i.test(await page.locator("#chat-title").textContent()),
        "the header has the title",
      );
      await shot(page, "04-reloaded-history");
    },
  );

  const question = "What is the capital of France?";
  await step(
    "the same question again is answered from the cache (badge)",
    async () => {
      const attempts = [];
      let hit = false;
      // In this chat first (a standalone question is keyed without context); the answer is
      // stored in the background after the turn, so a miss waits and asks again, and as a last
      // resort the question opens a new chat (first questions are always eligible).
      for (const where of [
        "same chat",
        "same chat",
        "same chat",
        "new chat",
        "new chat",
      ]) {
        if (where === "new chat" && !attempts.includes("new chat")) {
          await page.locator("#new-chat").click();
          await page.locator(".empty-state").waitFor({ timeout: UI_TIMEOUT });
        }
        await harness.sendMessage(page, question);
        const status = await waitAnswered(page);
        check(
          status === "complete",
          `the answer completed (${status}: ${await answerText(page)})`,
        );
        attempts.push(where);
        hit = (await lastAssistant(page).locator(".badge-cached").count()) > 0;
        if (hit) {
          break;
        }
        await page.waitForTimeout(1500);
      }
      outcome.cacheAttempts = attempts;
      check(hit, `a cached answer after ${attempts.length} asks (${attempts})`);
      check(attempts.length >= 2, "the first ask was generated, not cached");
      outcome.cacheChatId = await currentChatId(page);
      await shot(page, "05-cached");
    },
  );

  await step(
    "Regenerate makes a fresh answer beside the cached one (no badge, 2 / 2)",
    async () => {
      const before = await assistants(page).count();
      const oldId = await lastAssistant(page).getAttribute("data-message-id");
      const regenerate = lastAssistant(page).locator(".msg-regenerate");
      check(
        await regenerate.isVisible(),
        "Regenerate is offered on the last answer",
      );
      await regenerate.click();
      // The new answer takes the old one's place (a version beside it, under the same question).
      await page.waitForFunction(
        (id) => {
          const all = document.querySelectorAll(
            "#messages article.msg-assistant",
          );
          const last = all[all.length - 1];
          return (
            last && last.dataset.messageId && last.dataset.messageId !== id
          );
        },
        oldId,
        { timeout: UI_TIMEOUT },
      );
      const status = await waitAnswered(page);
      check(status === "complete", `the fresh answer completed (${status})`);
      check(
        (await assistants(page).count()) === before,
        "the answer was replaced, not added",
      );
      check(
        (await lastAssistant(page).locator(".badge-cached").count()) === 0,
        "not from the cache",
      );
      const pager = await lastAssistant(page)
        .locator(".msg-version-label")
        .textContent();
      check(pager === "2 / 2", `the answer's versions: ${pager}`);
      const users = page.locator("#messages article.msg-user .msg-content");
      check(
        (await users.last().textContent()) === question,
        "the question is the same",
      );
      await shot(page, "06-regenerated");
    },
  );

  const attack = "<img src=x onerror=alert(1)>";
  await step(
    "HTML in a message renders as text: no element, no script",
    async () => {
      // In a new chat: its title (made from the message) must show as text too.
      await page.locator("#new-chat").click();
      await page.locator(".empty-state").waitFor({ timeout: UI_TIMEOUT });
      await harness.sendMessage(page, `Repeat this exactly: ${attack}`);
      const userBubble = page.locator("#messages article.msg-user").last();
      check(
        (await userBubble.textContent()) === `Repeat this exactly: ${attack}`,
        "shown literally",
      );
      // The model may ramble: give it a while, then stop it (the check is about rendering).
      const status = await waitAnswered(page, 45_000).catch(async () => {
        await page.locator("#stop").click();
        return waitAnswered(page, UI_TIMEOUT);
      });
      outcome.xssAnswer = {
        status,
        text: (await answerText(page)).slice(0, 200),
      };
      const xssChat = await currentChatId(page);
      const title = page.locator(
        `#chat-list li[data-chat-id="${xssChat}"] .chat-link`,
      );
      await page.waitForFunction(
        (id) =>
          document
            .querySelector(`#chat-list li[data-chat-id="${id}"] .chat-link`)
            ?.textContent?.includes("<img"),
        xssChat,
        { timeout: UI_TIMEOUT },
      );
      check(
        (await title.textContent()).includes(attack.slice(0, 12)),
        "the title is text too",
      );
      await page.waitForTimeout(300);
      check(
        (await page.locator("img").count()) === 0,
        "no img element anywhere",
      );
      check(
        (await page.locator("#messages [onerror]").count()) === 0,
        "no event handler attribute",
      );
      check(
        harness.dialogs.length === 0,
        `no dialog fired (${harness.dialogs})`,
      );
      await shot(page, "07-html-as-text");
      await page.reload();
      await page
        .locator("#messages article.msg-user")
        .last()
        .waitFor({ timeout: UI_TIMEOUT });
      const stored = await page
        .locator("#messages article.msg-user")
        .last()
        .textContent();
      check(
        stored === `Repeat this exactly: ${attack}`,
        "the stored message is shown literally too",
      );
      await page.waitForTimeout(300);
      check(
        (await page.locator("img").count()) === 0,
        "no img element after reload",
      );
      check(
        harness.dialogs.length === 0,
        `no dialog fired after reload (${harness.dialogs})`,
      );
    },
  );

  await step("delete a chat, after a confirmation", async () => {
    await page.goto(`${BASE}/c/${encodeURIComponent(outcome.chatId)}`);
    await page
      .locator("#messages article")
      .first()
      .waitFor({ timeout: UI_TIMEOUT });
    const item = page.locator(
      `#chat-list li[data-chat-id="${outcome.chatId}"]`,
    );
    await item.hover();
    await item.locator(".chat-delete").click();
    const dialog = page.locator("#confirm-dialog");
    await dialog.waitFor({ state: "visible", timeout: UI_TIMEOUT });
    check(
      /long story/i.test(await dialog.textContent()),
      "the dialog names the chat",
    );
    await shot(page, "08-delete-confirm");
    // Cancel keeps it.
    await page.locator("#confirm-cancel").click();
    check(await item.isVisible(), "Cancel keeps the chat");
    await item.hover();
    await item.locator(".chat-delete").click();
    await page.locator("#confirm-ok").click();
    await item.waitFor({ state: "detached", timeout: UI_TIMEOUT });
    await page.waitForURL(`${BASE}/`, { timeout: UI_TIMEOUT });
    const gone = await harness.api(
      "GET",
      `/chat/${encodeURIComponent(outcome.chatId)}`,
      outcome.token,
    );
    check(
      gone.status === 404,
      `the chat is gone on the server (${gone.status})`,
    );
    await page.reload();
    await page.locator("#prompt").waitFor({ timeout: UI_TIMEOUT });
    await page.waitForLoadState("networkidle");
    check(
      (await page.locator("#chat-list li").count()) > 0,
      "the other chats are still listed",
    );
    check(
      (await page
        .locator(`#chat-list li[data-chat-id="${outcome.chatId}"]`)
        .count()) === 0,
      "not listed after reload",
    );
    await shot(page, "09-deleted");
  });

  await step("a deleted or unknown chat's URL says so in words", async () => {
    await page.goto(`${BASE}/c/${encodeURIComponent(outcome.chatId)}`);
    await page
      .locator("#error-banner")
      .waitFor({ state: "visible", timeout: UI_TIMEOUT });
    check(
      /does not exist/.test(await page.locator("#error-banner").textContent()),
      "404 explained",
    );
  });

  await step(
    "errors are shown in words: 429 slow down, 503 try again",
    async () => {
      // The stack is healthy, so the browser is given the gateway's error answers instead.
      const reply = (status, code, message) => (route) =>
        route.fulfill({
          status,
          contentType: "application/json",
          body: JSON.stringify({ code, message, details: [] }),
        });
      await page.route(
        "**/chat/*/turns",
        reply(429, 8, "the inference queue is full"),
      );
      await harness.sendMessage(page, "Are you busy right now?");
      check(
        (await waitAnswered(page, UI_TIMEOUT)) === "failed",
        "the turn is marked failed",
      );
      const banner = page.locator("#error-banner");
      await banner.waitFor({ state: "visible", timeout: UI_TIMEOUT });
      check(
        /slow down/i.test(await banner.textContent()),
        `429 in words: ${await banner.textContent()}`,
      );
      check(
        /slow down/i.test(
          await lastAssistant(page).locator(".msg-error").textContent(),
        ),
        "and on the message",
      );
      await shot(page, "10-error-429");
      await page.unroute("**/chat/*/turns");
      await page.route("**/chats?*", reply(503, 14, "no healthy upstream"));
      await page.reload();
      await banner.waitFor({ state: "visible", timeout: UI_TIMEOUT });
      check(
        /try again/i.test(await banner.textContent()),
        `503 in words: ${await banner.textContent()}`,
      );
      await page.unroute("**/chats?*");
      await page.locator(".banner-dismiss").click();
      check(await banner.isHidden(), "the banner can be dismissed");
    },
  );

  await step(
    "the sidebar lists chats newest first and scrolls through pages",
    async () => {
      const scrollUser = `web-scroll-${harness.runTag}`;
      const token = await harness.devToken(scrollUser);
      for (let i = 1; i <= 45; i++) {
        const created = await harness.api("POST", "/chat", token, {
          title: `Scroll test ${String(i).padStart(2, "0")}`,
        });
        check(created.status === 200, `create chat ${i}: ${created.status}`);
      }
      // Paging is asserted on the requests: whether the sentinel is already visible after
      // the first page (and loads the next at once) depends on timing and window size.
      const listRequests = [];
      const onRequest = (request) => {
        if (new URL(request.url()).pathname === "/chats")
          listRequests.push(request.url());
      };
      page.on("request", onRequest);
      await page.locator("#sign-out").click();
      await signInAs(page, scrollUser);
      const items = page.locator("#chat-list .chat-link");
      await page.waitForFunction(
        () => document.querySelectorAll("#chat-list li").length >= 30,
        null,
        {
          timeout: UI_TIMEOUT,
        },
      );
      const firstPage = await items.count();
      check(firstPage >= 30, `at least one page (30) at first: ${firstPage}`);
      check(
        (await items.first().textContent()) === "Scroll test 45",
        "newest first",
      );
      await page
        .locator(".chat-scroller")
        .evaluate((el) => el.scrollTo(0, el.scrollHeight));
      await page.waitForFunction(
        () => document.querySelectorAll("#chat-list li").length === 45,
        null,
        {
          timeout: UI_TIMEOUT,
        },
      );
      const titles = await items.allTextContents();
      const expected = Array.from(
        { length: 45 },
        (_, i) => `Scroll test ${String(45 - i).padStart(2, "0")}`,
      );
      check(
        JSON.stringify(titles) === JSON.stringify(expected),
        "all 45, newest first, no duplicates",
      );
      page.off("request", onRequest);
      check(
        listRequests.some((url) => url.includes("page_token=")),
        `the list is fetched page by page: ${listRequests.join(" ")}`,
      );
      await shot(page, "11-sidebar-scrolled");
    },
  );

  await step(
    "an invalid token sends the user back to sign in, in words",
    async () => {
      // Well-formed, unexpired, but not signed by the issuer: Envoy answers 401.
      const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
      const forged = `${b64({ alg: "RS256", typ: "JWT" })}.${b64({ sub: "mallory", exp: 4102444800 })}.c2ln`;
      await page.evaluate(
        (t) => sessionStorage.setItem("chatstack.token", t),
        forged,
      );
      await page.reload();
      await page
        .locator("#signin-error")
        .waitFor({ state: "visible", timeout: UI_TIMEOUT });
      const text = await page.locator("#signin-error").textContent();
      check(/sign in again/i.test(text), `the 401 is explained: ${text}`);
      check(
        (await page.evaluate(() =>
          sessionStorage.getItem("chatstack.token"),
        )) === null,
        "the bad token is dropped",
      );
      await shot(page, "12-signed-out-401");
    },
  );

  check(
    harness.pageErrors.length === 0,
    `no uncaught errors in the page: ${harness.pageErrors}`,
  );
  check(harness.dialogs.length === 0, `no dialogs: ${harness.dialogs}`);
  delete outcome.token;
  return outcome;
}

await harness.runInChromium(scenario, {
  defaultArtifacts: ".run/test-artifacts/web",
  profilePrefix: "chatstack-e2e-",
});
