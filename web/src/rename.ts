// Renaming a chat in place: its title (the sidebar's link) turns into a text field, prefilled,
// focused and selected. Enter or leaving the field saves, Escape cancels. While the save is on
// its way the field is read-only and nothing else changes; then the link is back, showing the
// new title if it was stored, else the old one (the caller reports the error).

import { h } from "./dom";

/** The server refuses longer titles (a 400). */
export const MAX_TITLE = 200;

export interface TitleEditor {
  /** Stores `title`; resolves when done (stored or not: the caller updates the link). */
  save(title: string): Promise<void>;
  /** The field is gone and the link is back; `keyboard`: closed by Enter or Escape, the focus
   * still in the field (not moved elsewhere while the title was being saved). */
  closed(keyboard: boolean): void;
}

type EditState = "editing" | "saving" | "closed";

function titleField(current: string): HTMLInputElement {
  const input = h("input", {
    type: "text",
    class: "chat-rename-input",
    "aria-label": "Chat title",
    maxlength: String(MAX_TITLE),
    autocomplete: "off",
    spellcheck: "false",
  });
  input.value = current;
  return input;
}

/** Opens the editor over `link` (hidden meanwhile) with `current` as the title. */
export function editTitle(link: HTMLElement, current: string, editor: TitleEditor): HTMLInputElement {
  const input = titleField(current);
  let state: EditState = "editing";
  const close = (keyboard: boolean): void => {
    if (state === "closed") {
      return;
    }
    state = "closed"; // first: removing the focused field may fire its blur
    const focused = document.activeElement === input; // else the user went elsewhere meanwhile
    input.remove();
    link.hidden = false;
    editor.closed(keyboard && focused);
  };
  const commit = async (keyboard: boolean): Promise<void> => {
    if (state !== "editing") {
      return;
    }
    const title = input.value.trim();
    try {
      if (title !== current) {
        state = "saving";
        input.readOnly = true;
        input.setAttribute("aria-busy", "true");
        await editor.save(title);
      }
    } finally {
      close(keyboard); // also when the save rejected: the field is never left read-only
    }
  };
  input.addEventListener("keydown", (ev) => onKey(ev, state, commit, close));
  input.addEventListener("blur", () => void commit(false));
  link.hidden = true;
  link.after(input);
  input.focus();
  input.select();
  return input;
}

function onKey(
  ev: KeyboardEvent,
  state: EditState,
  commit: (keyboard: boolean) => Promise<void>,
  close: (keyboard: boolean) => void,
): void {
  if (ev.isComposing) {
    return; // Enter or Escape belongs to the input method
  }
  if (ev.key === "Enter") {
    ev.preventDefault();
    void commit(true);
  } else if (ev.key === "Escape") {
    ev.preventDefault();
    ev.stopPropagation(); // cancels the edit only (not the narrow screen's sidebar too)
    if (state === "editing") {
      close(true);
    }
  }
}
