// The message box under the chat: Enter sends, Shift+Enter adds a line; Send turns into Stop
// while an answer streams.

import { h, icon } from "./dom";

export interface ComposerActions {
  busy(): boolean; // an answer is streaming: nothing is sent
  send(content: string): void;
  stop(): void;
}

export class Composer {
  /** The composer with its hint below. */
  readonly el: HTMLElement;
  private readonly form: HTMLFormElement;
  private readonly input: HTMLTextAreaElement;
  private readonly sendButton: HTMLButtonElement;
  private readonly stopButton: HTMLButtonElement;

  constructor(private readonly actions: ComposerActions) {
    this.input = h("textarea", {
      id: "prompt",
      name: "prompt",
      rows: "1",
      placeholder: "Message chatstack",
      "aria-describedby": "prompt-hint",
      autocomplete: "off",
    });
    this.input.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing && !ev.altKey && !ev.ctrlKey && !ev.metaKey) {
        ev.preventDefault();
        this.form.requestSubmit();
      }
    });
    this.input.addEventListener("input", () => this.autosize());
    this.sendButton = h(
      "button",
      { type: "submit", class: "send", id: "send", "aria-label": "Send message", title: "Send (Enter)" },
      icon("send"),
    );
    this.stopButton = h(
      "button",
      { type: "button", class: "stop", id: "stop", "aria-label": "Stop generating", title: "Stop" },
      icon("stop"),
    );
    this.stopButton.hidden = true;
    this.stopButton.addEventListener("click", () => this.actions.stop());
    this.form = h(
      "form",
      { class: "composer", id: "composer", "aria-label": "Send a message" },
      h("label", { for: "prompt", class: "visually-hidden" }, "Message"),
      this.input,
      this.sendButton,
      this.stopButton,
    );
    this.form.addEventListener("submit", (ev) => this.submit(ev));
    this.el = h(
      "div",
      { class: "composer-wrap" },
      this.form,
      h(
        "p",
        { class: "hint", id: "prompt-hint" },
        "Enter sends, Shift+Enter adds a line. Answers can be wrong: check what matters.",
      ),
    );
  }

  focus(): void {
    this.input.focus();
  }

  /** Puts back a message that could not be sent. */
  restore(content: string): void {
    this.input.value = content;
  }

  setStreaming(on: boolean): void {
    // The button that had the focus is about to hide: keep the focus in the message box.
    const moveFocus =
      document.activeElement === this.sendButton || document.activeElement === this.stopButton;
    this.sendButton.hidden = on;
    this.stopButton.hidden = !on;
    if (moveFocus || (!on && document.activeElement === document.body)) {
      this.input.focus();
    }
  }

  private submit(ev: SubmitEvent): void {
    ev.preventDefault();
    const content = this.input.value;
    if (!content.trim() || this.actions.busy()) {
      return;
    }
    this.input.value = "";
    this.autosize();
    this.actions.send(content);
  }

  private autosize(): void {
    this.input.style.height = "auto";
    this.input.style.height = `${Math.min(this.input.scrollHeight, 240)}px`;
  }
}
