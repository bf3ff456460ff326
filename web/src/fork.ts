// Where a turn goes off the branch shown (docs/branches.md). Nothing is overwritten: an edited
// question becomes a new version beside the one edited (under the same parent), a regenerated
// answer a new version beside the answer (under its question), and the server shows the new
// version's branch from then on. These only read the view; TurnStream.fork sends the turn.

import { type CompleteRequest } from "./api";
import { type UiMessage } from "./messages";

export interface Fork {
  from: UiMessage; // the version replaced in the view: it and the messages below it leave
  content: string; // the new question ("" for a new answer: the question is the stored one)
  request: Pick<CompleteRequest, "parent_message_id" | "edit_first_message" | "regenerate_message_id">;
  parentId: string; // the new version's parent
  versions: string[]; // the versions at the fork so far, oldest first: the new one goes last
}

/** The parent of a message shown: as the server told it, else the nearest stored message shown
 * above it (a message just sent may have its parent left implicit: the chat's previous message;
 * a turn the server refused, shown above, was never stored). "": a first message. */
export function parentOf(messages: UiMessage[], message: UiMessage): string {
  if (message.parentId) {
    return message.parentId;
  }
  const above = messages.slice(0, Math.max(messages.indexOf(message), 0));
  return above.reverse().find((m) => m.id !== "")?.id ?? "";
}

/** The question shown above an answer, if any. */
export function questionOf(messages: UiMessage[], answer: UiMessage): UiMessage | undefined {
  const above = messages[messages.indexOf(answer) - 1];
  return above?.role === "user" ? above : undefined;
}

/** The versions at a message's fork: those the server told, else the message alone. */
function versionsOf(message: UiMessage): string[] {
  const versions = message.siblingIds.filter((id) => id !== "");
  return versions.length ? versions : [message.id].filter((id) => id !== "");
}

/** An edit of `question`: the new question goes under its parent; a first question (no parent)
 * is edited with edit_first_message. */
export function editFork(messages: UiMessage[], question: UiMessage, content: string): Fork {
  const parentId = parentOf(messages, question);
  return {
    from: question,
    content,
    request: parentId ? { parent_message_id: parentId } : { edit_first_message: true },
    parentId,
    versions: versionsOf(question),
  };
}

/** A new answer beside `answer`, under its question; null when that question was never stored
 * (its turn was refused), so there is nothing to name. */
export function regenerateFork(messages: UiMessage[], answer: UiMessage): Fork | null {
  const questionId = answer.parentId || (questionOf(messages, answer)?.id ?? "");
  if (!questionId) {
    return null;
  }
  return {
    from: answer,
    content: "",
    request: { regenerate_message_id: questionId },
    parentId: questionId,
    versions: versionsOf(answer),
  };
}
