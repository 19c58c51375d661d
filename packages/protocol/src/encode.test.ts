import { describe, expect, it } from "vitest";
import { ErrorCode, errorCodes } from "./codes.js";
import { encodeDelivery, encodeReply, errorReply, okReply } from "./encode.js";

describe("encoders", () => {
  it("encodes replies as webrocket did", () => {
    expect(okReply).toBe('{"ok":true}');
    expect(encodeReply({ ok: true })).toBe('{"ok":true}');
    for (const code of errorCodes) expect(JSON.parse(errorReply(code))).toEqual({ err: code });
    expect(encodeReply({ err: ErrorCode.AccessDenied })).toBe('{"err":"access_denied"}');
  });

  it("builds the delivered frame around the data text", () => {
    const frame = encodeDelivery('ev"1', "ch\\2", '{"n":12345678901234567890}');
    expect(frame).toBe('{"event":"ev\\"1","channel":"ch\\\\2","data":{"n":12345678901234567890}}');
    expect(JSON.parse(frame)).toMatchObject({ event: 'ev"1', channel: "ch\\2" });
  });
});
