// API keys in the web UI, in headless Chromium (playwright-core, Debian's chromium) against
// the real running stack: the sidebar's "API keys" button opens a dialog; a new key's secret is
// shown once (with a Copy button and how to use it) and is gone once the dialog closes; the key
// is listed by its hint; revoking it (after the confirmation dialog) deletes it; a refused
// create says why on the dialog's banner.
//
//   BASE_URL=http://127.0.0.1:8080 node tests/web/api_keys.mjs
//
// Env: BASE_URL (required), TEST_ARTIFACTS (screenshots and summary.json; default
// .run/test-artifacts/web/api-keys), CHROMIUM (default /usr/bin/chromium). Exits 0 when every
// step passed; on a failure it saves a screenshot and exits 1. Run by
// tests/web/test_web_api_keys.py. The shared harness (environment, steps, screenshots, the
// browser run): tests/web/harness.mjs.

import * as harness from "./harness.mjs";
import { BASE, UI_TIMEOUT, check, shot, step } from "./harness.mjs";

// --- helpers over the API ----------------------------------------------------------------------

async function storedKeys(token) {
  const got = await harness.api("GET", "/api-keys", token);
  check(got.status === 200, `GET /api-keys: ${got.status}`);
  return got.body.api_keys ?? [];
}

// --- helpers over the dialog -------------------------------------------------------------------

const dialog = (page) => page.locator("#api-keys-dialog");
const rows = (page) => page.locator("#api-key-list li.api-key");
const row = (page, keyId) =>
  page.locator(`#api-key-list li[data-key-id="${keyId}"]`);
const secretField = (page) => page.locator("#api-key-secret");

async function listedIds(page) {
  return rows(page).evaluateAll((lis) => lis.map((li) => li.dataset.keyId));
}

/** Opens the dialog from the sidebar and waits for the list to be read. */
async function openDialog(page) {
  await page.getByRole("button", { name: "API keys", exact: true }).click();
  await dialog(page).waitFor({ state: "visible", timeout: UI_TIMEOUT });
  await page.waitForFunction(
    () => !document.querySelector("#api-key-list")?.hasAttribute("aria-busy"),
    null,
    { timeout: UI_TIMEOUT },
  );
  check(
    await page.evaluate(() => document.activeElement?.id === "api-key-name"),
    "the name field has the focus",
  );
  check(
    await page.locator("#api-keys-error").isHidden(),
    `no error: ${await page.locator("#api-keys-error").textContent()}`,
  );
}

/** In the page: `text` is nowhere in it (its markup, its fields). */
const absent = (text) =>
  !document.documentElement.outerHTML.includes(text) &&
  ![...document.querySelectorAll("input, textarea")].some((el) =>
    el.value.includes(text),
  );

/** Waits until the page does not hold `secret` (or fails the step). The dialog's "close"
 * event, which forgets the secret, comes a moment after the dialog hides. */
async function waitSecretGone(page, secret) {
  await page
    .waitForFunction(absent, secret, { timeout: UI_TIMEOUT })
    .catch(() => check(false, "the page no longer holds the secret"));
}

// --- the steps ---------------------------------------------------------------------------------

async function createKey(page, name) {
  await page.locator("#api-key-name").fill(name);
  const answer = page.waitForResponse(
    (r) =>
      r.request().method() === "POST" &&
      new URL(r.url()).pathname === "/api-keys",
    { timeout: UI_TIMEOUT },
  );
  await page.getByRole("button", { name: "Create key", exact: true }).click();
  const response = await answer;
  check(response.status() === 200, `POST /api-keys: ${response.status()}`);
  const created = await response.json();
  await page.locator("#api-key-new").waitFor({ timeout: UI_TIMEOUT });
  return created;
}

async function checkSecretShown(page, created) {
  const { secret } = created;
  check(/^sk-cs-\S{43}$/.test(secret), `a secret like sk-cs-<43>: ${secret}`);
  check(
    (await secretField(page).inputValue()) === secret,
    "the secret is shown",
  );
  check(
    /copy it now: it will not be shown again/i.test(
      await page.locator("#api-key-warning").textContent(),
    ),
    "with the note that it is shown once",
  );
  const origin = await page.evaluate(() => location.origin);
  const usage = await page.locator("#api-key-usage").textContent();
  check(
    usage.includes(`OPENAI_BASE_URL=${origin}/v1`) &&
      usage.includes(`OPENAI_API_KEY=${secret}`),
    `how to use it: ${usage}`,
  );
  check(
    await page.evaluate(() => document.activeElement?.id === "api-key-copy"),
    "the Copy button has the focus",
  );
  await page.locator("#api-key-copy").click();
  await page.waitForFunction(
    () => document.querySelector("#api-key-copied")?.textContent !== "",
    null,
    { timeout: UI_TIMEOUT },
  );
  const copied = await page.locator("#api-key-copied").textContent();
  if (copied === "Copied to the clipboard.") {
    const clipboard = await page.evaluate(() => navigator.clipboard.readText());
    check(clipboard === secret, "the clipboard holds the secret");
  } else {
    check(/Could not copy/.test(copied), `Copy says what happened: ${copied}`);
  }
  return copied;
}

async function revokeKey(page, keyId, name) {
  const revoke = page.getByRole("button", {
    name: `Revoke API key: ${name}`,
    exact: true,
  });
  await revoke.click();
  const confirm = page.locator("#confirm-dialog");
  await confirm.waitFor({ state: "visible", timeout: UI_TIMEOUT });
  check(
    (await page.locator("#confirm-title").textContent()) === "Revoke API key?",
    "the confirmation asks",
  );
  await page.locator("#confirm-cancel").click(); // first thought better of it
  await confirm.waitFor({ state: "hidden", timeout: UI_TIMEOUT });
  check((await rows(page).count()) === 1, "Cancel keeps the key");
  check(await dialog(page).isVisible(), "the API keys dialog stays open");
  await revoke.click();
  await confirm.waitFor({ state: "visible", timeout: UI_TIMEOUT });
  await shot(page, "03-confirm");
  const answer = page.waitForResponse(
    (r) => r.request().method() === "DELETE",
    { timeout: UI_TIMEOUT },
  );
  await page.locator("#confirm-ok").click();
  const response = await answer;
  check(response.status() === 200, `DELETE: ${response.status()}`);
  check(
    new URL(response.url()).pathname ===
      `/api-keys/${encodeURIComponent(keyId)}`,
    `the key's path: ${response.url()}`,
  );
  await row(page, keyId).waitFor({ state: "detached", timeout: UI_TIMEOUT });
}

async function refusedCreate(page) {
  const creates = (url) => url.pathname === "/api-keys";
  await page.route(creates, (route) =>
    route.request().method() === "POST"
      ? route.fulfill({
          status: 400,
          contentType: "application/json",
          body: JSON.stringify({
            code: 3,
            message: "name: at most 100 characters",
            details: [],
          }),
        })
      : route.continue(),
  );
  await page.locator("#api-key-name").fill("Refused");
  await page.getByRole("button", { name: "Create key", exact: true }).click();
  const banner = page.locator("#api-keys-error");
  await banner.waitFor({ state: "visible", timeout: UI_TIMEOUT });
  check(
    /at most 100 characters/.test(await banner.textContent()),
    `the error is shown: ${await banner.textContent()}`,
  );
  check(await page.locator("#api-key-new").isHidden(), "no secret is shown");
  await shot(page, "05-refused");
  await page.unroute(creates);
}

// --- the scenario ------------------------------------------------------------------------------

async function scenario(page) {
  const user = `web-keys-${harness.runTag}`;
  const token = await harness.devToken(user);
  const name = `CI runner <b>${harness.runTag}</b>`;
  let created = null;
  let copied = "";
  // The Copy button's check reads the clipboard back.
  await page
    .context()
    .grantPermissions(["clipboard-read", "clipboard-write"], { origin: BASE });

  await step("sign in and open API keys: none yet", async () => {
    await harness.signIn(page, user);
    await openDialog(page);
    check((await rows(page).count()) === 0, "no keys listed");
    check(
      await page.locator("#api-keys-empty").isVisible(),
      "it says there are none",
    );
    check(await page.locator("#api-key-new").isHidden(), "no secret is shown");
  });

  await step("create a key: its secret is shown once", async () => {
    created = await createKey(page, name);
    copied = await checkSecretShown(page, created);
    const keyId = created.api_key.key_id;
    check((await listedIds(page)).join() === keyId, "the new key is listed");
    const listed = row(page, keyId);
    check(
      (await listed.locator(".api-key-name").textContent()) === name,
      "by its name (as text)",
    );
    check(
      !(await listed.textContent()).includes(created.secret),
      "the list does not show the secret",
    );
    await shot(page, "01-created");
  });

  await step(
    "close: the secret is gone, the key is listed by its hint",
    async () => {
      await page.keyboard.press("Escape");
      await dialog(page).waitFor({ state: "hidden", timeout: UI_TIMEOUT });
      await waitSecretGone(page, created.secret);
      check(
        await page.evaluate(
          () => document.activeElement?.id === "api-keys-open",
        ),
        "the focus is back on the API keys button",
      );
      await openDialog(page);
      const { key_id: keyId, hint } = created.api_key;
      check(
        (await listedIds(page)).join() === keyId,
        "the key is listed again",
      );
      check(
        (await row(page, keyId).locator(".api-key-hint").textContent()) ===
          hint,
        `by its hint ${hint}`,
      );
      check(
        (await row(page, keyId).locator("time").getAttribute("datetime")) !==
          null,
        "with its creation date",
      );
      check(await page.locator("#api-key-new").isHidden(), "no secret shown");
      check(
        await page.evaluate(absent, created.secret),
        "nor anywhere in the page",
      );
      const stored = await storedKeys(token);
      check(
        stored.length === 1 && stored[0].key_id === keyId,
        `stored on the server: ${JSON.stringify(stored)}`,
      );
      await shot(page, "02-listed");
    },
  );

  await step(
    "revoke it after the confirmation: the list is empty",
    async () => {
      await revokeKey(page, created.api_key.key_id, name);
      check(
        await page.locator("#api-keys-empty").isVisible(),
        "it says there are none",
      );
      check(
        (await storedKeys(token)).length === 0,
        "the server has no keys left",
      );
      await page.locator("#api-keys-close").click();
      await openDialog(page);
      check((await rows(page).count()) === 0, "still none after reopening");
      await shot(page, "04-revoked");
    },
  );

  await step("a refused create says why on the dialog", async () => {
    await refusedCreate(page);
    await page.locator("#api-keys-close").click();
    await dialog(page).waitFor({ state: "hidden", timeout: UI_TIMEOUT });
    check((await storedKeys(token)).length === 0, "nothing was created");
  });

  check(
    harness.pageErrors.length === 0,
    `no uncaught errors in the page: ${harness.pageErrors}`,
  );
  return { keyId: created.api_key.key_id, hint: created.api_key.hint, copied };
}

await harness.runInChromium(scenario, {
  defaultArtifacts: ".run/test-artifacts/web/api-keys",
  profilePrefix: "chatstack-api-keys-",
});
