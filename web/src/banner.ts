// The error banner above the messages (and atop the API keys dialog): what went wrong, in words,
// until it is dismissed or the next navigation or turn hides it.

import { h, icon } from "./dom";
import { type ErrorAction } from "./errors";

export class ErrorBanner {
  readonly el: HTMLElement;
  private readonly text: HTMLElement;
  private readonly action: HTMLButtonElement;

  /** `id`: the page's banner is #error-banner; a dialog's own has another. */
  constructor(id = "error-banner") {
    this.text = h("span", { class: "banner-text" });
    this.action = h("button", { type: "button", class: "banner-action" });
    const dismiss = h(
      "button",
      { type: "button", class: "icon-button banner-dismiss", "aria-label": "Dismiss" },
      icon("close"),
    );
    dismiss.addEventListener("click", () => this.hide());
    this.el = h("div", { class: "banner", id, role: "alert" }, this.text, this.action, dismiss);
    this.el.hidden = true;
  }

  /** Shows `text`; an error's action (describeError) goes on the banner as data-action. */
  show(text: string, action?: ErrorAction): void {
    this.text.textContent = text;
    if (action !== undefined) {
      this.el.dataset.action = action;
    }
    this.action.hidden = true;
    this.el.hidden = false;
  }

  hide(): void {
    this.el.hidden = true;
  }
}
