// The modal confirmation dialog (deleting a chat): Cancel has the focus; Escape cancels.

import { h } from "./dom";

export class ConfirmDialog {
  readonly el: HTMLDialogElement;

  constructor() {
    this.el = h("dialog", { class: "confirm", id: "confirm-dialog", "aria-labelledby": "confirm-title" });
  }

  /** Resolves true when the user confirms with the `action` button. */
  ask(title: string, body: string, action: string): Promise<boolean> {
    const dialog = this.el;
    const cancel = h("button", { type: "button", class: "secondary", id: "confirm-cancel" }, "Cancel");
    const ok = h("button", { type: "button", class: "danger", id: "confirm-ok" }, action);
    dialog.replaceChildren(
      h("h2", { id: "confirm-title" }, title),
      h("p", { id: "confirm-body" }, body),
      h("div", { class: "dialog-actions" }, cancel, ok),
    );
    dialog.setAttribute("aria-describedby", "confirm-body");
    return new Promise((resolve) => {
      const done = (value: boolean): void => {
        dialog.removeEventListener("close", onClose);
        if (dialog.open) {
          dialog.close();
        }
        resolve(value);
      };
      const onClose = (): void => done(false); // Escape
      dialog.addEventListener("close", onClose);
      cancel.addEventListener("click", () => done(false));
      ok.addEventListener("click", () => done(true));
      dialog.showModal();
      cancel.focus();
    });
  }
}
