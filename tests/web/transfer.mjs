// Export and import of chats in the web UI, in headless Chromium (playwright-core, Debian's
// chromium) against the real running stack: the sidebar's Import takes the sample ChatGPT
// export (tests/gateway/data/chatgpt_conversations.json) through its file input and its chats
// appear in the sidebar with their messages (the branch the user was on); importing it again
// adds nothing; a malformed file shows the server's error naming the field and changes
// nothing; Export downloads every chat as one JSON file.
//
//   BASE_URL=http://127.0.0.1:8080 node tests/web/transfer.mjs
//
// Env: BASE_URL (required), TEST_ARTIFACTS (screenshots and summary.json; default
// .run/test-artifacts/web/transfer), CHROMIUM (default /usr/bin/chromium). Exits 0 when every
// step passed; on a failure it saves a screenshot and exits 1. Run by
// tests/web/test_web_transfer.py. No turn is sent. The shared harness: tests/web/harness.mjs.

import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

import * as harness from "./harness.mjs";
import { UI_TIMEOUT, check, shot, step } from "./harness.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const SAMPLE = path.resolve(
  here,
  "..",
  "gateway",
  "data",
  "chatgpt_conversations.json",
);
const TITLES = ["Sorting in Python", "Weekend in Lisbon"];

// --- helpers -----------------------------------------------------------------------------------

const listed = (page) =>
  page
    .locator("#chat-list li .chat-link")
    .evaluateAll((links) => links.map((a) => a.textContent));

/** Picks `file` in the Import file input; resolves with the upload's answer. */
async function importFile(page, file) {
  const answered = page.waitForResponse(
    (r) =>
      r.request().method() === "POST" &&
      new URL(r.url()).pathname === "/chats:import",
    { timeout: UI_TIMEOUT },
  );
  await page.locator("#chats-import-file").setInputFiles(file);
  return answered;
}

async function waitStatus(page, text) {
  await page.waitForFunction(
    (want) => document.querySelector("#transfer-status")?.textContent === want,
    text,
    { timeout: UI_TIMEOUT },
  );
}

async function storedTitles(token) {
  const got = await harness.api("GET", "/chats", token);
  check(got.status === 200, `GET /chats: ${got.status}`);
  return got.body.chats.map((c) => c.title);
}

function malformed() {
  const doc = JSON.parse(readFileSync(SAMPLE, "utf8"));
  doc[1].mapping["a1-ans1"].message.author.role = "critic";
  return {
    name: "conversations.json",
    mimeType: "application/json",
    buffer: Buffer.from(JSON.stringify(doc)),
  };
}

// --- the scenario ------------------------------------------------------------------------------

async function scenario(page) {
  const user = `web-transfer-${harness.runTag}`;
  const token = await harness.devToken(user);

  await step("the sidebar offers Export and Import", async () => {
    await harness.signIn(page, user);
    for (const name of ["Export chats", "Import chats"]) {
      check(
        await page.getByRole("button", { name, exact: true }).isVisible(),
        `a "${name}" button`,
      );
    }
    check((await listed(page)).length === 0, "a new user has no chats");
  });

  await step("importing the ChatGPT export shows its chats", async () => {
    const answer = await importFile(page, SAMPLE);
    check(answer.status() === 200, `the import is stored: ${answer.status()}`);
    await waitStatus(page, "Imported 2 chats from ChatGPT.");
    const titles = await listed(page);
    check(
      JSON.stringify(titles) === JSON.stringify(TITLES),
      `the sidebar lists them, newest first: ${titles}`,
    );
    await shot(page, "01-imported");
  });

  await step(
    "an imported chat opens with the branch the user was on",
    async () => {
      await page
        .locator("#chat-list .chat-link", { hasText: TITLES[0] })
        .click();
      await page.waitForFunction(
        (title) => document.querySelector("#chat-title")?.textContent === title,
        TITLES[0],
        { timeout: UI_TIMEOUT },
      );
      const messages = page.locator("#messages article");
      await messages.nth(3).waitFor({ timeout: UI_TIMEOUT });
      const texts = await messages.allTextContents();
      check(texts.length === 4, `four messages: ${texts.length}`);
      check(
        texts[2].includes("And by length?"),
        `the edited question: ${texts[2]}`,
      );
      check(
        !texts.some((t) => t.includes("in reverse")),
        "not the abandoned branch",
      );
      await shot(page, "02-opened");
    },
  );

  await step("importing the same file again adds nothing", async () => {
    const answer = await importFile(page, SAMPLE);
    check(answer.status() === 200, `answered ${answer.status()}`);
    await waitStatus(page, "Nothing new: its 2 chats were already here.");
    check((await listed(page)).length === 2, "still two chats listed");
    check((await storedTitles(token)).length === 2, "and stored");
  });

  await step(
    "a malformed file shows the error and changes nothing",
    async () => {
      const answer = await importFile(page, malformed());
      check(answer.status() === 400, `refused: ${answer.status()}`);
      const banner = page.locator("#error-banner");
      await banner.waitFor({ state: "visible", timeout: UI_TIMEOUT });
      const text = await banner.textContent();
      check(
        text.includes("That file cannot be imported") &&
          text.includes("[1].mapping.a1-ans1.message.author.role"),
        `the error names the field: ${text}`,
      );
      await shot(page, "03-refused");
      check((await listed(page)).length === 2, "the sidebar is unchanged");
      const stored = await storedTitles(token);
      check(
        JSON.stringify(stored) === JSON.stringify(TITLES),
        `nothing stored: ${stored}`,
      );
      await page.locator(".banner-dismiss").click();
    },
  );

  await step("Export downloads every chat as one JSON file", async () => {
    const downloading = page.waitForEvent("download", { timeout: UI_TIMEOUT });
    await page
      .getByRole("button", { name: "Export chats", exact: true })
      .click();
    const file = await downloading;
    check(
      /^chatstack-chats-\d{4}-\d\d-\d\d\.json$/.test(file.suggestedFilename()),
      `the file's name: ${file.suggestedFilename()}`,
    );
    const doc = JSON.parse(readFileSync(await file.path(), "utf8"));
    check(doc.format === "chatstack.chats" && doc.version === 1, "our format");
    const titles = doc.chats.map((c) => c.title);
    check(
      JSON.stringify(titles) === JSON.stringify(TITLES),
      `both chats: ${titles}`,
    );
    // Every branch is exported: ChatGPT's second version of a question too.
    const sorting = doc.chats.find((c) => c.title === "Sorting in Python");
    check(
      sorting?.messages.length === 6,
      `with all their messages: ${sorting?.messages.length}`,
    );
    check(
      sorting.messages.some((m) => m.content.includes("in reverse")),
      "the branch not shown is in the file",
    );
    await waitStatus(page, "Exported your chats.");
  });

  check(
    harness.pageErrors.length === 0,
    `no uncaught errors in the page: ${harness.pageErrors}`,
  );
  return { user, chats: TITLES.length };
}

await harness.runInChromium(scenario, {
  defaultArtifacts: ".run/test-artifacts/web/transfer",
  profilePrefix: "chatstack-transfer-",
});
