import { describe, expect, it } from "vitest";
import { isExpired, readClaims, validUserName } from "../src/auth";

function b64url(text: string): string {
  const bytes = new TextEncoder().encode(text);
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

describe("readClaims", () => {
  it("reads sub and exp of a JWT without verifying it", () => {
    const token = `${b64url('{"alg":"RS256"}')}.${b64url('{"sub":"zoë","exp":100}')}.sig`;
    expect(readClaims(token)).toEqual({ sub: "zoë", exp: 100 });
    expect(isExpired({ sub: "x", exp: 100 }, 99)).toBe(false);
    expect(isExpired({ sub: "x", exp: 100 }, 100)).toBe(true);
    expect(isExpired({ sub: "x", exp: null }, 1e12)).toBe(false);
  });

  it("returns null for what is not a JWT", () => {
    expect(readClaims("opaque-token")).toBeNull();
    expect(readClaims("a.%%%.c")).toBeNull();
    expect(readClaims(`a.${b64url("[]")}.c`)).toEqual({ sub: "", exp: null });
  });
});

describe("validUserName", () => {
  it("accepts plain names and rejects the rest", () => {
    for (const ok of ["alice", "bob.smith", "a@b.c", "user_1-x", "A".repeat(64)]) {
      expect(validUserName(ok)).toBe(true);
    }
    for (const bad of ["", " alice", "-x", "a b", "<script>", "A".repeat(65), "ünï"]) {
      expect(validUserName(bad)).toBe(false);
    }
  });
});
