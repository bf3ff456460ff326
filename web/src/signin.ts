// The sign-in screen: the development sign-in (a user name, when the local issuer serves
// tokens) and a token pasted from the identity provider. It hands a token to the app.

import { devToken, isExpired, readClaims, validUserName, type UiConfig } from "./auth";
import { h } from "./dom";
import { describeError } from "./errors";

type ShowError = (text: string) => void;
type OnToken = (token: string) => void;

export function signInScreen(
  config: UiConfig,
  notice: string,
  onToken: OnToken,
): { screen: HTMLElement; focus: () => void } {
  const { error, showError } = errorLine(notice);

  const card = h(
    "div",
    { class: "signin-card" },
    h("h1", { class: "signin-title" }, "chatstack"),
    h("p", { class: "signin-lead" }, "Sign in to chat."),
    error,
  );

  let firstField: HTMLElement;
  if (config.dev_tokens) {
    const dev = devSignInForm(showError, onToken);
    card.append(dev.form);
    firstField = dev.user;
  }

  const token = tokenSignInForm(config.dev_tokens, showError, onToken);
  if (config.dev_tokens) {
    card.append(
      h("details", { class: "signin-alt" }, h("summary", {}, "Sign in with a token instead"), token.form),
    );
  } else {
    card.append(token.form);
    firstField = token.field;
  }

  return { screen: h("main", { class: "signin" }, card), focus: () => firstField!.focus() };
}

/** The alert line under the title: shows `notice` (if any) now, and any later error. */
function errorLine(notice: string): { error: HTMLElement; showError: ShowError } {
  const error = h("p", { class: "signin-error", role: "alert", id: "signin-error" }, notice);
  error.hidden = !notice;
  const showError = (text: string): void => {
    error.textContent = text;
    error.hidden = false;
  };
  return { error, showError };
}

/** The development sign-in: a user name the local issuer mints a token for. */
function devSignInForm(
  showError: ShowError,
  onToken: OnToken,
): { form: HTMLFormElement; user: HTMLInputElement } {
  const user = h("input", {
    id: "signin-user",
    name: "user",
    type: "text",
    autocomplete: "username",
    required: true,
    maxlength: "64",
    spellcheck: "false",
    "aria-describedby": "signin-user-hint",
  });
  const form = h(
    "form",
    { class: "signin-form", id: "dev-signin", "aria-label": "Development sign-in" },
    h("label", { for: "signin-user" }, "User name"),
    user,
    h(
      "p",
      { class: "hint", id: "signin-user-hint" },
      "Development sign-in: the local issuer gives any user name a token. Letters, digits, . _ @ -",
    ),
    h("button", { type: "submit", class: "primary" }, "Sign in"),
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    submitDevSignIn(user, showError, onToken);
  });
  return { form, user };
}

function submitDevSignIn(user: HTMLInputElement, showError: ShowError, onToken: OnToken): void {
  const name = user.value.trim();
  if (!validUserName(name)) {
    showError("Use 1 to 64 letters, digits or . _ @ - (starting with a letter or digit).");
    user.focus();
    return;
  }
  void (async () => {
    try {
      onToken(await devToken(name));
    } catch (err) {
      showError(describeError(err).text);
    }
  })();
}

/** A bearer token pasted from the identity provider; its button is secondary beside the dev sign-in. */
function tokenSignInForm(
  secondary: boolean,
  showError: ShowError,
  onToken: OnToken,
): { form: HTMLFormElement; field: HTMLTextAreaElement } {
  const field = h("textarea", {
    id: "signin-token",
    name: "token",
    rows: "4",
    spellcheck: "false",
    autocomplete: "off",
    required: true,
  });
  const form = h(
    "form",
    { class: "signin-form", id: "token-signin", "aria-label": "Sign in with a token" },
    h("label", { for: "signin-token" }, "Bearer token from your identity provider"),
    field,
    h("button", { type: "submit", class: secondary ? "secondary" : "primary" }, "Use this token"),
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    submitToken(field, showError, onToken);
  });
  return { form, field };
}

function submitToken(field: HTMLTextAreaElement, showError: ShowError, onToken: OnToken): void {
  const token = field.value.trim().replace(/^Bearer\s+/i, "");
  if (!token) {
    showError("Paste a token first.");
    return;
  }
  const claims = readClaims(token);
  if (claims && isExpired(claims)) {
    showError("This token has expired. Get a new one from your identity provider.");
    return;
  }
  onToken(token);
}
