// Export and import of chats, in the sidebar's settings: Export downloads all of the user's chats
// as one JSON file (docs/export-format.md); Import uploads a file the user picks (this service's
// export or ChatGPT's conversations.json) as it is. The server checks the file whole: a bad one
// changes nothing and its error, naming the field at fault, goes to the app (the banner).
// Importing a file again adds nothing. What was done shows on a line below the buttons.

import { type Api, ApiError, type ImportResult } from "./api";
import { h, icon } from "./dom";

export interface TransferHost {
  /** The file's chats are stored (new or imported before): show them. */
  imported(result: ImportResult): void;
  /** An export or import failed (the banner, or back to sign-in). */
  failed(err: unknown): void;
}

// Constant markup of our own, drawn like dom.ts's icons.
const DOWNLOAD = '<path d="M12 4v11M7 10l5 5 5-5M5 20h14"/>';
const UPLOAD = '<path d="M12 16V5M7 10l5-5 5 5M5 20h14"/>';

function drawn(paths: string): SVGSVGElement {
  const svg = icon("plus");
  svg.innerHTML = paths;
  return svg;
}

/** The name of an export's file: chatstack-chats-2026-12-06.json (the local date). */
export function exportFileName(now: Date = new Date()): string {
  const pad = (n: number): string => String(n).padStart(2, "0");
  return `chatstack-chats-${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}.json`;
}

function chats(n: number): string {
  return n === 1 ? "1 chat" : `${n} chats`;
}

/** What an import did, in words. */
export function importSummary(result: ImportResult): string {
  const source = result.format === "chatgpt" ? " from ChatGPT" : "";
  if (result.imported === 0 && result.skipped === 0) {
    return "The file holds no chats.";
  }
  if (result.imported === 0) {
    return `Nothing new: ${result.skipped === 1 ? "its chat was" : `its ${chats(result.skipped)} were`} already here.`;
  }
  const already = result.skipped ? `; ${chats(result.skipped)} already here` : "";
  return `Imported ${chats(result.imported)}${source}${already}.`;
}

/** A refused file said as such (the server's message names what is wrong). */
export function importError(err: unknown): unknown {
  if (err instanceof ApiError && err.status === 400) {
    return new ApiError(400, `That file cannot be imported: ${err.message}`, err.code, err.details);
  }
  if (err instanceof ApiError && err.status === 413) {
    return new ApiError(413, "That file is larger than the server takes: split it and import the parts.");
  }
  return err;
}

/** Saves `blob` as a file named `name` (the browser's download). */
export function download(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const link = h("a", { href: url, download: name, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000); // the download may still be reading it
}

export class TransferControls {
  readonly el: HTMLElement;
  readonly exportButton: HTMLButtonElement;
  readonly importButton: HTMLButtonElement;
  readonly input: HTMLInputElement;
  readonly status: HTMLElement;

  constructor(
    private readonly api: Api,
    private readonly host: TransferHost,
  ) {
    this.exportButton = h(
      "button",
      { type: "button", class: "sidebar-button", id: "chats-export" },
      drawn(DOWNLOAD),
      "Export chats",
    );
    this.exportButton.addEventListener("click", () => void this.exportAll());
    this.input = h("input", {
      type: "file",
      id: "chats-import-file",
      accept: ".json,application/json",
      hidden: true,
      "aria-label": "A file of chats to import",
    });
    this.input.addEventListener("change", () => {
      const file = this.input.files?.[0];
      this.input.value = ""; // the same file can be picked again
      if (file) {
        void this.importFile(file);
      }
    });
    this.importButton = h(
      "button",
      {
        type: "button",
        class: "sidebar-button",
        id: "chats-import",
        title: "This app's export or ChatGPT's conversations.json",
      },
      drawn(UPLOAD),
      "Import chats",
    );
    this.importButton.addEventListener("click", () => this.input.click());
    this.status = h("p", { class: "hint transfer-status", id: "transfer-status", "aria-live": "polite" });
    this.status.hidden = true;
    this.el = h("div", { class: "transfer" }, this.exportButton, this.importButton, this.input, this.status);
  }

  /** Downloads all the user's chats as one file. */
  async exportAll(): Promise<void> {
    await this.busy("Exporting…", async () => {
      const blob = await this.api.exportChats();
      download(blob, exportFileName());
      return "Exported your chats.";
    });
  }

  /** Uploads `file`; its chats are shown once stored. */
  async importFile(file: Blob): Promise<void> {
    await this.busy("Importing…", async () => {
      let result: ImportResult;
      try {
        result = await this.api.importChats(file);
      } catch (err) {
        throw importError(err);
      }
      this.host.imported(result);
      return importSummary(result);
    });
  }

  private say(text: string): void {
    this.status.textContent = text;
    this.status.hidden = !text;
  }

  /** Runs `work` with both buttons disabled and `doing` shown; then shows what it says. */
  private async busy(doing: string, work: () => Promise<string>): Promise<void> {
    if (this.exportButton.disabled) {
      return;
    }
    this.exportButton.disabled = this.importButton.disabled = true;
    this.say(doing);
    try {
      this.say(await work());
    } catch (err) {
      this.say("");
      this.host.failed(err);
    } finally {
      this.exportButton.disabled = this.importButton.disabled = false;
    }
  }
}
