// What the Chromium UI scenarios (tests/web/e2e.mjs, tests/web/rename.mjs) share: the
// environment, the step/check/screenshot bookkeeping, the page watchers, the API and sign-in
// helpers, and the run itself (launch headless Chromium, run the scenario, write summary.json,
// exit 1 on a failure). One scenario per process: the bookkeeping lives in this module.
//
// Env: BASE_URL (required; exits 2 without it), TEST_ARTIFACTS (screenshots and summary.json;
// the default is the scenario's), CHROMIUM (default /usr/bin/chromium).

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..", "..");
// playwright-core is a devDependency of web/ (web/package-lock.json).
const require = createRequire(path.join(root, "web", "package.json"));
const { chromium } = require("playwright-core");

export const BASE = (process.env.BASE_URL ?? "").replace(/\/$/, "");
if (!BASE) {
  console.error("BASE_URL is required");
  process.exit(2);
}
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
export const UI_TIMEOUT = 20_000;

/** A short random tag that keeps this run's users apart from earlier runs'. */
export const runTag = Math.random().toString(36).slice(2, 8);
export const steps = [];
export const screenshots = [];
export const dialogs = [];
export const pageErrors = [];
export const consoleLines = [];
let artifacts = null; // set by runInChromium

export function check(condition, message) {
  if (!condition) {
    throw new Error(`check failed: ${message}`);
  }
}

export async function step(name, fn) {
  const started = Date.now();
  process.stdout.write(`-- ${name} ... `);
  await fn();
  const ms = Date.now() - started;
  steps.push({ name, ms });
  console.log(`ok (${(ms / 1000).toFixed(1)}s)`);
}

export async function shot(page, name) {
  const file = path.join(artifacts, `${name}.png`);
  await page.screenshot({ path: file });
  screenshots.push(file);
}

/** Records the page's dialogs (dismissed), uncaught errors and console lines. */
function watch(page) {
  page.on("dialog", (dialog) => {
    dialogs.push(`${dialog.type()}: ${dialog.message()}`);
    void dialog.dismiss();
  });
  page.on("pageerror", (err) => pageErrors.push(String(err)));
  page.on("console", (msg) =>
    consoleLines.push(`[${msg.type()}] ${msg.text()}`),
  );
}

/** Signs in on the sign-in page with a user name (a development token). */
export async function signIn(page, user) {
  await page.goto(`${BASE}/`);
  await page.locator("#signin-user").waitFor({ timeout: UI_TIMEOUT });
  await page.locator("#signin-user").fill(user);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.locator("#prompt").waitFor({ timeout: UI_TIMEOUT });
}

export async function api(method, pathname, token, body) {
  const response = await fetch(`${BASE}${pathname}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      "content-type": "application/json",
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return {
    status: response.status,
    body: await response.json().catch(() => null),
  };
}

/** A chat made through the API whose answers stop at `maxTokens` tokens (its settings). */
export async function createChat(token, maxTokens) {
  const created = await api("POST", "/chat", token, { title: "" });
  check(created.status === 200, `create a chat: ${created.status}`);
  const chatId = created.body.chat.chat_id;
  const patched = await api(
    "PATCH",
    `/chat/${encodeURIComponent(chatId)}?update_mask=settings`,
    token,
    { settings: { sampling: { max_tokens: maxTokens } } },
  );
  check(patched.status === 200, `set max_tokens: ${patched.status}`);
  return chatId;
}

/** Sends `text` from the composer and waits for its answer's bubble to appear. */
export async function sendMessage(page, text) {
  const selector = "#messages article.msg-assistant";
  const before = await page.locator(selector).count();
  await page.locator("#prompt").fill(text);
  await page.locator("#prompt").press("Enter");
  await page.waitForFunction(
    ([sel, n]) => document.querySelectorAll(sel).length > n,
    [selector, before],
    { timeout: UI_TIMEOUT },
  );
}

export async function devToken(user) {
  const response = await fetch(`${BASE}/dev/token`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ user }),
  });
  check(response.ok, `POST /dev/token ${response.status}`);
  return (await response.json()).token;
}

function writeSummary(summary) {
  writeFileSync(
    path.join(artifacts, "summary.json"),
    JSON.stringify(summary, null, 2),
  );
}

/**
 * Runs `scenario(page)` in a fresh headless Chromium (its own profile, removed after) on a
 * 1280x800 page that is watched (dialogs, page errors, console). Screenshots and summary.json
 * go to $TEST_ARTIFACTS, else to `defaultArtifacts` (relative to the repository). On success
 * the page is closed and the summary holds what the scenario returned (its outcome); on a
 * failure a screenshot of the page is saved and the exit code is 1.
 */
export async function runInChromium(
  scenario,
  { defaultArtifacts, profilePrefix },
) {
  artifacts = path.resolve(
    root,
    process.env.TEST_ARTIFACTS || defaultArtifacts,
  );
  mkdirSync(artifacts, { recursive: true });
  const profile = mkdtempSync(path.join(tmpdir(), profilePrefix));
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      `--disk-cache-dir=${path.join(profile, "cache")}`,
    ],
    env: { ...process.env, HOME: profile },
  });
  const started = Date.now();
  try {
    const context = await browser.newContext({
      viewport: { width: 1280, height: 800 },
    });
    const page = await context.newPage();
    watch(page);
    const outcome = await scenario(page).catch(async (err) => {
      // A screenshot of the page as it was, for the report.
      await shot(page, "failure").catch(() => {});
      throw err;
    });
    await context.close();
    const seconds = (Date.now() - started) / 1000;
    writeSummary({ ok: true, seconds, steps, screenshots, outcome });
    console.log(
      JSON.stringify({
        ok: true,
        seconds,
        steps: steps.length,
        screenshots: screenshots.length,
      }),
    );
  } catch (err) {
    console.log("FAILED");
    console.error(err instanceof Error ? err.stack : err);
    console.error("page errors:", pageErrors);
    console.error("dialogs:", dialogs);
    console.error("console (last 30):\n" + consoleLines.slice(-30).join("\n"));
    writeSummary({
      ok: false,
      error: String(err),
      steps,
      screenshots,
      console: consoleLines,
    });
    process.exitCode = 1;
  } finally {
    await browser.close();
    rmSync(profile, { recursive: true, force: true });
  }
}
