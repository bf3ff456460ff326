// Every failure is shown in words: what happened and what the user can do about it.

import { ApiError, StreamError } from "./api";
import { ProtocolError } from "./sse";

export type ErrorAction = "sign-in" | "retry" | "none";

export interface Described {
  text: string;
  action: ErrorAction;
}

// google.rpc.Code values that have an HTTP twin here.
const GRPC_TO_HTTP: Record<number, number> = {
  3: 400, // INVALID_ARGUMENT
  4: 504, // DEADLINE_EXCEEDED
  5: 404, // NOT_FOUND
  8: 429, // RESOURCE_EXHAUSTED
  14: 503, // UNAVAILABLE
  16: 401, // UNAUTHENTICATED
};

function byStatus(status: number, message: string): Described {
  switch (status) {
    case 0:
      return {
        text: "Cannot reach the server. Check your connection and try again.",
        action: "retry",
      };
    case 401:
      return { text: "Your session has expired or is not valid. Please sign in again.", action: "sign-in" };
    case 404:
      return {
        text: message ? `Not found: ${message}` : "That chat does not exist (any more).",
        action: "none",
      };
    case 413:
      return { text: "That message is too large to send. Please shorten it.", action: "none" };
    case 429:
      return {
        text: "The model is busy right now. Please slow down and try again in a moment.",
        action: "retry",
      };
    case 503:
    case 502:
      return {
        text: "The service is temporarily unavailable. Please try again in a moment.",
        action: "retry",
      };
    case 504:
      return { text: "The server took too long to answer. Please try again.", action: "retry" };
    default:
      return { text: message || `The request failed (HTTP ${status}).`, action: "none" };
  }
}

export function describeError(err: unknown): Described {
  if (err instanceof ApiError) {
    return byStatus(err.status, err.message);
  }
  if (err instanceof StreamError) {
    const status = GRPC_TO_HTTP[err.code];
    if (status !== undefined && status !== 400 && status !== 404) {
      return byStatus(status, err.message);
    }
    return { text: err.message || "The answer failed.", action: "none" };
  }
  if (err instanceof ProtocolError) {
    return { text: `The server's answer could not be read: ${err.message}`, action: "retry" };
  }
  if (err instanceof Error && err.message) {
    return { text: err.message, action: "none" };
  }
  return { text: "Something went wrong.", action: "none" };
}
