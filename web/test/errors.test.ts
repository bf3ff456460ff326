import { describe, expect, it } from "vitest";
import { ApiError, StreamError } from "../src/api";
import { describeError } from "../src/errors";
import { ProtocolError } from "../src/sse";

describe("describeError", () => {
  it("asks to sign in again on 401", () => {
    expect(describeError(new ApiError(401, "Jwt is expired"))).toEqual({
      text: expect.stringContaining("sign in again"),
      action: "sign-in",
    });
  });

  it("asks to slow down on 429 and to try again on 503", () => {
    expect(describeError(new ApiError(429, "queue full")).text).toMatch(/slow down/);
    expect(describeError(new ApiError(503, "no healthy upstream")).text).toMatch(/try again/);
  });

  it("shows the server's message for other errors", () => {
    expect(describeError(new ApiError(400, "content: the message is empty")).text).toBe(
      "content: the message is empty",
    );
    expect(describeError(new ApiError(500, "")).text).toMatch(/HTTP 500/);
  });

  it("explains a network failure", () => {
    expect(describeError(new ApiError(0, "network error")).text).toMatch(/Cannot reach the server/);
  });

  it("maps in-stream gRPC codes like their HTTP twins", () => {
    expect(describeError(new StreamError(8, "queue full", "INFERENCE_QUEUE_FULL")).text).toMatch(/slow down/);
    expect(describeError(new StreamError(14, "down", "")).text).toMatch(/try again/);
    expect(describeError(new StreamError(16, "expired", "")).action).toBe("sign-in");
    expect(describeError(new StreamError(13, "engine crashed", "")).text).toBe("engine crashed");
  });

  it("never returns an empty text", () => {
    expect(describeError(new ProtocolError("bad")).text).toMatch(/could not be read/);
    expect(describeError("weird").text).toBeTruthy();
    expect(describeError(new Error("")).text).toBeTruthy();
  });
});
