import { describe, expect, it } from "vitest";
import { isChannelPattern, parseCapabilities } from "./capabilities.js";
import { CloseCode, ErrorCode } from "./codes.js";
import { decode } from "./decode.js";
import { encodeCommand } from "./encode-command.js";
import { encodeUnsubscribed, isReservedEvent } from "./server-events.js";

describe("token auth frames", () => {
  it("decodes and encodes {auth:{token}}", () => {
    expect(decode('{"auth":{"token":"a.b.c"}}')).toEqual({ type: "auth", token: "a.b.c" });
    expect(encodeCommand({ type: "auth", token: "a.b.c" })).toBe('{"auth":{"token":"a.b.c"}}');
  });

  it("refuses a token mixed with access or secret, or not a non-empty string", () => {
    for (const frame of [
      '{"auth":{"token":"t","access":"read-only"}}',
      '{"auth":{"token":"t","secret":"s"}}',
      '{"auth":{"token":"t","access":"read-write","secret":"s"}}',
      '{"auth":{"token":""}}',
      '{"auth":{"token":5}}',
      '{"auth":{"token":null}}',
    ]) {
      expect(decode(frame), frame).toMatchObject({ type: "error", code: ErrorCode.InvalidData });
    }
  });

  it("keeps the old form exactly as it was", () => {
    expect(decode('{"auth":{"access":"read-only","secret":"s","extra":1}}')).toEqual({
      type: "auth",
      access: "read-only",
      secret: "s",
    });
  });

  it("has the new codes in the tables", () => {
    expect(ErrorCode.TokenExpired).toBe("token_expired");
    expect(ErrorCode.RateLimited).toBe("rate_limited");
    expect(ErrorCode.LimitExceeded).toBe("limit_exceeded");
    expect([CloseCode.TokenExpired, CloseCode.RateLimitExceeded, CloseCode.TooManyAuthFailures]).toEqual([4001, 4029, 4501]);
  });
});

describe("cap claims", () => {
  it("accepts exact names, prefixes and * with known rights", () => {
    const cap = { "chat:*": ["subscribe", "publish"], news: ["subscribe"], "*": ["history", "presence"], none: [] };
    expect(parseCapabilities(cap)).toEqual({ ok: true, cap });
    expect(parseCapabilities(undefined)).toEqual({ ok: true, cap: {} });
  });

  it("refuses anything else", () => {
    for (const bad of [
      null,
      [],
      "chat",
      5,
      { chat: "subscribe" },
      { chat: ["subscribe", "admin"] },
      { chat: [1] },
      { "": ["subscribe"] },
      { "a\u0001": ["subscribe"] },
      { ["x".repeat(256)]: ["subscribe"] },
    ]) {
      expect(parseCapabilities(bad).ok, JSON.stringify(bad)).toBe(false);
    }
  });

  it("tells patterns from other strings", () => {
    expect(isChannelPattern("*")).toBe(true);
    expect(isChannelPattern("a*")).toBe(true);
    expect(isChannelPattern("a*b")).toBe(true);
    expect(isChannelPattern("**")).toBe(true);
    expect(isChannelPattern("")).toBe(false);
    expect(isChannelPattern("\n*")).toBe(false);
  });
});

describe("server events", () => {
  it("encodes __unsubscribed and reserves names starting with __", () => {
    expect(encodeUnsubscribed("chat", ErrorCode.AccessDenied)).toBe(
      '{"event":"__unsubscribed","channel":"chat","data":{"reason":"access_denied"}}',
    );
    expect(isReservedEvent("__join")).toBe(true);
    expect(isReservedEvent("_x")).toBe(false);
  });
});
