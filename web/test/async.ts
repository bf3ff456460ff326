// Small helpers the UI's unit tests share: a promise settled from outside, letting queued
// microtasks run, the IntersectionObserver jsdom lacks (the chat list's paging uses one) and
// the modal dialogs it lacks too (the confirmation and API keys dialogs).
import { vi } from "vitest";

export function deferred<T>(): {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(err: unknown): void;
} {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

export async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) {
    await Promise.resolve();
  }
}

export function stubIntersectionObserver(): void {
  vi.stubGlobal(
    "IntersectionObserver",
    class {
      observe(): void {}
      disconnect(): void {}
    },
  );
}

/** jsdom's <dialog> has no showModal or close: these set `open`, and close fires "close". */
export function stubDialogs(): void {
  const proto = HTMLDialogElement.prototype;
  proto.showModal = function (this: HTMLDialogElement): void {
    this.open = true;
  };
  proto.close = function (this: HTMLDialogElement): void {
    if (this.open) {
      this.open = false;
      this.dispatchEvent(new Event("close"));
    }
  };
}
