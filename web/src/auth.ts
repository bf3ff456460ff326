// The bearer token: kept in sessionStorage (gone when the tab closes, not shared between tabs
// of other sessions), sent on every API call. Locally a development token can be minted for a
// user name by the static server (`POST /dev/token`, only when it runs with --dev-tokens);
// with an identity provider the user pastes a token it issued.

import { ApiError } from "./api";

const KEY = "chatstack.token";
const USER_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

export interface UiConfig {
  dev_tokens: boolean;
}

export interface Claims {
  sub: string;
  exp: number | null; // seconds since the epoch
}

export function loadToken(): string | null {
  try {
    return sessionStorage.getItem(KEY);
  } catch {
    return null;
  }
}

export function saveToken(token: string): void {
  sessionStorage.setItem(KEY, token);
}

export function clearToken(): void {
  sessionStorage.removeItem(KEY);
}

export function validUserName(name: string): boolean {
  return USER_NAME.test(name);
}

function base64UrlDecode(part: string): string {
  const padded = part
    .replace(/-/g, "+")
    .replace(/_/g, "/")
    .padEnd(Math.ceil(part.length / 4) * 4, "=");
  const binary = atob(padded);
  const bytes = Uint8Array.from(binary, (ch) => ch.charCodeAt(0));
  return new TextDecoder().decode(bytes);
}

/** The token's claims, for display only (Envoy verifies the signature), or null when the
 * text does not look like a JWT. */
export function readClaims(token: string): Claims | null {
  const parts = token.split(".");
  if (parts.length !== 3 || parts[1] === undefined) {
    return null;
  }
  try {
    const payload: unknown = JSON.parse(base64UrlDecode(parts[1]));
    if (typeof payload !== "object" || payload === null) {
      return null;
    }
    const { sub, exp } = payload as Record<string, unknown>;
    return { sub: typeof sub === "string" ? sub : "", exp: typeof exp === "number" ? exp : null };
  } catch {
    return null;
  }
}

export function isExpired(claims: Claims, nowS = Date.now() / 1000): boolean {
  return claims.exp !== null && claims.exp <= nowS;
}

export async function fetchUiConfig(): Promise<UiConfig> {
  try {
    const response = await fetch("/ui-config.json", { cache: "no-store" });
    if (!response.ok) {
      return { dev_tokens: false };
    }
    const body = (await response.json()) as Partial<UiConfig>;
    return { dev_tokens: body.dev_tokens === true };
  } catch {
    return { dev_tokens: false };
  }
}

export async function devToken(user: string): Promise<string> {
  let response: Response;
  try {
    response = await fetch("/dev/token", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ user }),
      cache: "no-store",
    });
  } catch {
    throw new ApiError(0, "network error");
  }
  const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  if (!response.ok || typeof body.token !== "string") {
    const message = typeof body.message === "string" ? body.message : response.statusText;
    throw new ApiError(response.status, message);
  }
  return body.token;
}
