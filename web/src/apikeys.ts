// The API keys dialog (a setting, opened from the sidebar): the user's keys for the
// OpenAI-compatible API (/v1), each with its name, hint and creation date and a Revoke button
// (after the confirmation dialog), and a form that creates one. A new key's secret is shown
// once, with a Copy button and how to use it; closing the dialog (Close or Escape) forgets it:
// the server keeps only a hash. The dialog holds its contents only while open. Errors show on
// the dialog's own banner, except an expired session: the dialog closes and the app takes the
// user back to sign-in.

import { type Api, ApiError, type ApiKey } from "./api";
import { ErrorBanner } from "./banner";
import { h, icon } from "./dom";
import { describeError } from "./errors";

export const UNNAMED = "Unnamed key";
/** The longest name the field takes (the server checks its own limit). */
export const MAX_KEY_NAME = 100;

export interface ApiKeysHost {
  /** Asks before revoking (the app's confirmation dialog); true to go ahead. */
  confirm(title: string, body: string, action: string): Promise<boolean>;
  /** An error the dialog does not show itself (an expired session: back to sign-in). */
  failed(err: unknown): void;
}

/** The date and time a key was created, in the user's locale; "" when unknown. */
export function formatCreated(iso: string | undefined): string {
  const date = new Date(iso ?? "");
  if (!iso || Number.isNaN(date.getTime())) {
    return "";
  }
  return date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

/** The lines that point an OpenAI client at this server with `secret`. */
export function usageSnippet(origin: string, secret: string): string {
  return `export OPENAI_BASE_URL=${origin}/v1\nexport OPENAI_API_KEY=${secret}`;
}

/** The one-time display of a new key's secret. */
class SecretBox {
  readonly el: HTMLElement;
  readonly copy: HTMLButtonElement;
  /** The key whose secret is shown; null when none is. */
  keyId: string | null = null;
  private readonly secret: HTMLInputElement;
  private readonly usage: HTMLElement;
  private readonly copied: HTMLElement;

  constructor() {
    this.secret = h("input", {
      type: "text",
      id: "api-key-secret",
      class: "api-key-secret",
      readonly: true,
      "aria-label": "Your new API key",
      autocomplete: "off",
      spellcheck: "false",
    });
    this.secret.addEventListener("focus", () => this.secret.select());
    this.copy = h("button", { type: "button", class: "secondary", id: "api-key-copy" }, icon("copy"), "Copy");
    this.copy.addEventListener("click", () => void this.copySecret());
    this.copied = h("span", { class: "api-key-copied", id: "api-key-copied", "aria-live": "polite" });
    this.usage = h("code", {});
    this.el = h(
      "section",
      { class: "api-key-new", id: "api-key-new", "aria-labelledby": "api-key-new-title" },
      h("h3", { id: "api-key-new-title" }, "Your new API key"),
      h("p", { class: "api-key-warning", id: "api-key-warning" }, "Copy it now: it will not be shown again."),
      h("div", { class: "api-key-secret-row" }, this.secret, this.copy),
      this.copied,
      h("p", { class: "hint" }, "Use it with any OpenAI client, for example:"),
      h("pre", { class: "api-key-usage", id: "api-key-usage" }, this.usage),
    );
    this.forget();
  }

  show(keyId: string, secret: string): void {
    this.keyId = keyId;
    this.secret.value = secret;
    this.usage.textContent = usageSnippet(location.origin, secret);
    this.copied.textContent = "";
    this.el.hidden = false;
  }

  /** Hides the secret and drops it from the page. */
  forget(): void {
    this.keyId = null;
    this.secret.value = "";
    this.usage.textContent = "";
    this.copied.textContent = "";
    this.el.hidden = true;
  }

  private async copySecret(): Promise<void> {
    const secret = this.secret.value;
    try {
      await navigator.clipboard.writeText(secret);
      this.copied.textContent = "Copied to the clipboard.";
    } catch {
      // No clipboard (a page not served over HTTPS) or no permission: leave it selected.
      this.secret.focus();
      this.secret.select();
      this.copied.textContent = "Could not copy: the key is selected, copy it yourself.";
    }
  }
}

export class ApiKeysPanel {
  readonly el: HTMLDialogElement;
  private readonly banner = new ErrorBanner("api-keys-error");
  private readonly secret = new SecretBox();
  private readonly list: HTMLUListElement;
  private readonly empty: HTMLElement;
  private readonly nameInput: HTMLInputElement;
  private readonly createButton: HTMLButtonElement;
  private readonly rows = new Map<string, HTMLLIElement>();
  // In the dialog only while it is open: closed, the page holds none of it (the banner's
  // classes, say, stay the page banner's alone).
  private readonly content: HTMLElement[];
  // This opening's changes: a list read that was on its way may predate them.
  private readonly created = new Map<string, ApiKey>();
  private readonly revoked = new Set<string>();
  private opening = 0; // bumped on open and close: answers for an earlier opening are dropped
  private listed = false; // the keys were read in this opening (else "no keys yet" is unknown)
  private opener: HTMLElement | null = null;

  constructor(
    private readonly api: Api,
    private readonly host: ApiKeysHost,
  ) {
    this.list = h("ul", { class: "api-key-list", id: "api-key-list", "aria-label": "Your API keys" });
    this.empty = h("p", { class: "api-keys-empty", id: "api-keys-empty" }, "You have no API keys yet.");
    this.nameInput = h("input", {
      type: "text",
      id: "api-key-name",
      maxlength: String(MAX_KEY_NAME),
      autocomplete: "off",
      placeholder: "e.g. my laptop",
    });
    this.createButton = h("button", { type: "submit", class: "primary", id: "api-key-create" }, "Create key");
    this.content = [
      this.header(),
      this.banner.el,
      this.secret.el,
      this.form(),
      h("h3", { class: "api-keys-heading" }, "Your keys"),
      this.list,
      this.empty,
    ];
    this.el = h("dialog", { class: "apikeys", id: "api-keys-dialog", "aria-labelledby": "api-keys-title" });
    this.el.addEventListener("close", () => this.closed());
  }

  /** Shows the dialog (the name field has the focus) and reads the keys afresh. */
  open(): Promise<void> {
    if (this.el.open) {
      return Promise.resolve();
    }
    this.opening++;
    this.opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    this.banner.hide();
    this.nameInput.value = "";
    this.el.replaceChildren(...this.content);
    this.el.showModal();
    this.nameInput.focus();
    return this.load();
  }

  close(): void {
    if (this.el.open) {
      this.el.close(); // then "close" fires: closed()
    }
  }

  private header(): HTMLElement {
    const close = h(
      "button",
      { type: "button", class: "icon-button", id: "api-keys-close", "aria-label": "Close" },
      icon("close"),
    );
    close.addEventListener("click", () => this.close());
    return h(
      "header",
      { class: "api-keys-header" },
      h("h2", { id: "api-keys-title" }, "API keys"),
      close,
      h(
        "p",
        { class: "hint api-keys-lead" },
        "API keys let your own programs use the OpenAI-compatible API as you. Revoke a key you no longer use.",
      ),
    );
  }

  private form(): HTMLFormElement {
    const form = h(
      "form",
      { class: "api-key-form", id: "api-key-form" },
      h("label", { for: "api-key-name" }, "Name"),
      h("div", { class: "api-key-form-row" }, this.nameInput, this.createButton),
    );
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      void this.create();
    });
    return form;
  }

  /** Closed (Close, Escape, or by the app): the secret is forgotten, late answers dropped. */
  private closed(): void {
    this.opening++;
    this.listed = false;
    this.secret.forget();
    this.created.clear();
    this.revoked.clear();
    this.el.replaceChildren();
    if (this.opener?.isConnected) {
      this.opener.focus();
    }
    this.opener = null;
  }

  private async load(): Promise<void> {
    const opening = this.opening;
    this.listed = false;
    this.list.setAttribute("aria-busy", "true");
    this.updateEmpty();
    try {
      const keys = await this.api.listApiKeys();
      if (opening === this.opening) {
        this.showKeys(keys);
        this.listed = true;
      }
    } catch (err) {
      if (opening === this.opening) {
        this.fail(err);
      }
    } finally {
      if (opening === this.opening) {
        this.list.removeAttribute("aria-busy");
        this.updateEmpty();
      }
    }
  }

  private updateEmpty(): void {
    this.empty.hidden = !this.listed || this.rows.size > 0;
  }

  /** The keys read (newest first), with the changes made since the read started. */
  private showKeys(keys: ApiKey[]): void {
    const read = new Set(keys.map((key) => key.key_id));
    const newer = [...this.created.values()].filter((key) => !read.has(key.key_id)).reverse();
    this.rows.clear();
    this.list.replaceChildren();
    for (const key of [...newer, ...keys]) {
      if (!this.revoked.has(key.key_id)) {
        const row = this.row(key);
        this.rows.set(key.key_id, row);
        this.list.append(row);
      }
    }
  }

  private row(key: ApiKey): HTMLLIElement {
    const name = key.name || UNNAMED;
    const created = formatCreated(key.create_time);
    const revoke = h(
      "button",
      { type: "button", class: "secondary api-key-revoke", "aria-label": `Revoke API key: ${name}` },
      "Revoke",
    );
    const li = h(
      "li",
      { class: "api-key", "data-key-id": key.key_id },
      h(
        "div",
        { class: "api-key-info" },
        h("span", { class: "api-key-name" }, name),
        h(
          "span",
          { class: "api-key-meta" },
          h("code", { class: "api-key-hint" }, key.hint),
          created ? " · Created " : null,
          created ? h("time", { class: "api-key-created", datetime: key.create_time }, created) : null,
        ),
      ),
      revoke,
    );
    revoke.addEventListener("click", () => void this.revoke(key, revoke));
    return li;
  }

  private async create(): Promise<void> {
    if (this.createButton.disabled) {
      return;
    }
    const opening = this.opening;
    this.createButton.disabled = true;
    this.banner.hide();
    try {
      const { api_key: key, secret } = await this.api.createApiKey(this.nameInput.value.trim());
      if (opening !== this.opening) {
        return; // closed meanwhile: the secret is not shown (the key is listed next time)
      }
      this.created.set(key.key_id, key);
      const row = this.row(key);
      this.rows.set(key.key_id, row);
      this.list.prepend(row);
      this.updateEmpty();
      this.nameInput.value = "";
      this.secret.show(key.key_id, secret);
      this.secret.copy.focus();
    } catch (err) {
      if (opening === this.opening) {
        this.fail(err);
      }
    } finally {
      this.createButton.disabled = false;
    }
  }

  private async revoke(key: ApiKey, button: HTMLButtonElement): Promise<void> {
    const name = key.name || UNNAMED;
    const confirmed = await this.host.confirm(
      "Revoke API key?",
      `Programs that use “${name}” (${key.hint}) will no longer be able to call the API. This cannot be undone.`,
      "Revoke",
    );
    if (!confirmed) {
      button.focus();
      return;
    }
    const opening = this.opening;
    button.disabled = true;
    try {
      await this.api.deleteApiKey(key.key_id);
    } catch (err) {
      // A key already gone (revoked in another tab) is what the user asked for.
      if (!(err instanceof ApiError && err.status === 404)) {
        button.disabled = false;
        if (opening === this.opening) {
          this.fail(err);
        }
        return;
      }
    }
    if (opening === this.opening) {
      this.removed(key.key_id);
    }
  }

  /** A revoked key's row goes (its secret too, if shown); the focus moves to its neighbour. */
  private removed(keyId: string): void {
    this.revoked.add(keyId);
    this.created.delete(keyId);
    if (this.secret.keyId === keyId) {
      this.secret.forget();
    }
    const row = this.rows.get(keyId);
    this.rows.delete(keyId);
    const next = (row?.nextElementSibling ?? row?.previousElementSibling)?.querySelector<HTMLElement>(
      ".api-key-revoke",
    );
    row?.remove();
    this.updateEmpty();
    (next ?? this.nameInput).focus();
  }

  private fail(err: unknown): void {
    const { text, action } = describeError(err);
    if (action === "sign-in") {
      this.close();
      this.host.failed(err);
      return;
    }
    this.banner.show(text, action);
  }
}
