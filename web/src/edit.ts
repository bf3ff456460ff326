// Editing a question in place (the pencil on a user message): its bubble becomes a box with
// Cancel and Save. Enter saves (Shift+Enter adds a line), Escape cancels. Saving sends the new
// question as a new version beside the old one (fork.ts); the old one stays, a click away on the
// "< 1 / 2 >" pager. One editor at a time: opening another cancels the first.

import { h } from "./dom";
import { type UiMessage } from "./messages";

/** `save` answers whether the edit was taken (false while an answer streams: the box stays). */
export type SaveEdit = (content: string) => boolean;

let closeOpen: (() => void) | null = null;

/** Cancels the open editor, if any (the view is about to be redrawn, or another one opens). */
export function cancelEditing(): void {
  closeOpen?.();
}

function editorButtons(cancel: () => void): { row: HTMLElement; save: HTMLButtonElement } {
  const cancelButton = h("button", { type: "button", class: "secondary msg-edit-cancel" }, "Cancel");
  cancelButton.addEventListener("click", cancel);
  const save = h("button", { type: "submit", class: "primary msg-edit-save" }, "Save");
  return { row: h("div", { class: "msg-edit-buttons" }, cancelButton, save), save };
}

/** Enter saves (as the composer sends), Shift+Enter adds a line, Escape cancels. */
function onKey(ev: KeyboardEvent, form: HTMLFormElement, buttons: HTMLElement): void {
  if (ev.key === "Escape") {
    ev.preventDefault();
    buttons.querySelector<HTMLButtonElement>(".msg-edit-cancel")?.click();
  } else if (
    ev.key === "Enter" &&
    !ev.shiftKey &&
    !ev.isComposing &&
    !ev.altKey &&
    !ev.ctrlKey &&
    !ev.metaKey
  ) {
    ev.preventDefault();
    form.requestSubmit();
  }
}

/** Opens the editor on `message` (a stored question), with its text. */
export function openEditor(message: UiMessage, saveEdit: SaveEdit): void {
  const el = message.el;
  const body = el?.querySelector<HTMLElement>(".msg-body");
  if (!el || !body) {
    return;
  }
  cancelEditing();
  const input = h("textarea", { class: "msg-edit-input", rows: "2", "aria-label": "Edit your message" });
  input.value = message.content;
  const close = (): void => {
    form.remove();
    el.classList.remove("editing");
    if (closeOpen === close) {
      closeOpen = null;
    }
  };
  const { row, save } = editorButtons(() => {
    close();
    el.querySelector<HTMLButtonElement>(".msg-edit")?.focus();
  });
  const form = h("form", { class: "msg-edit-form", "aria-label": "Edit message" }, input, row);
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    if (input.value.trim() && saveEdit(input.value)) {
      close();
    }
  });
  input.addEventListener("keydown", (ev) => onKey(ev, form, row));
  const fit = (): void => {
    save.disabled = !input.value.trim(); // an empty question is not sent
    input.style.height = "auto";
    input.style.height = `${Math.min(input.scrollHeight, 320)}px`;
  };
  input.addEventListener("input", fit);
  el.classList.add("editing"); // hides the bubble's text and actions (styles.css)
  body.append(form);
  closeOpen = close;
  fit();
  input.focus();
  input.setSelectionRange(input.value.length, input.value.length);
}
