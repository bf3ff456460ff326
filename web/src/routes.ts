// The app's routes (history API; the static server answers every non-file path with
// index.html): "/" is a new chat, "/c/<id>" a stored one.

export function chatPath(chatId: string): string {
  return `/c/${encodeURIComponent(chatId)}`;
}

export function chatIdFromPath(pathname: string): string | null {
  const match = /^\/c\/([^/]+)\/?$/.exec(pathname);
  return match?.[1] ? decodeURIComponent(match[1]) : null;
}
