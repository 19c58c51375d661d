import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ErrorCode, errorCodes } from "./codes.js";
import { encodeDelivery, encodeReply } from "./encode.js";
import { parseServerFrame } from "./parse-server-frame.js";

describe("parseServerFrame", () => {
  it("tells replies from deliveries", () => {
    expect(parseServerFrame('{"ok":true}')).toEqual({ type: "reply", reply: { ok: true }, extras: {} });
    expect(parseServerFrame('{"err":"invalid_channel"}')).toEqual({
      type: "reply",
      reply: { err: "invalid_channel" },
      extras: {},
    });
    expect(parseServerFrame('{"event":"e","channel":"c","data":{"ok":true}}')).toEqual({
      type: "delivery",
      delivery: { event: "e", channel: "c", data: { ok: true } },
      extras: {},
    });
    expect(parseServerFrame('{"event":"e","channel":"c"}')).toMatchObject({ delivery: { event: "e", channel: "c", data: null } });
  });

  it("reads back every reply and delivery the server encodes", () => {
    for (const code of errorCodes) expect(parseServerFrame(encodeReply({ err: code }))?.type).toBe("reply");
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), fc.string({ unit: "binary" }), fc.jsonValue(), (event, channel, data) => {
        const text = JSON.stringify(data);
        expect(parseServerFrame(encodeDelivery(event, channel, text))).toEqual({
          type: "delivery",
          delivery: { event, channel, data: JSON.parse(text) ?? null },
          extras: {},
        });
      }),
    );
  });

  it("keeps keys a newer server adds, and codes this version does not know", () => {
    expect(parseServerFrame('{"event":"e","channel":"c","data":1,"offset":7,"epoch":"x"}')).toEqual({
      type: "delivery",
      delivery: { event: "e", channel: "c", data: 1 },
      extras: { offset: 7, epoch: "x" },
    });
    expect(parseServerFrame('{"ok":true,"recovered":true,"publications":[{"data":1,"offset":3}]}')).toEqual({
      type: "reply",
      reply: { ok: true },
      extras: { recovered: true, publications: [{ data: 1, offset: 3 }] },
    });
    expect(parseServerFrame('{"err":"token_expired","users":[]}')).toEqual({
      type: "reply",
      reply: { err: "token_expired" },
      extras: { users: [] },
    });
    const odd = parseServerFrame('{"ok":true,"__proto__":{"polluted":1}}');
    expect(Object.keys(odd?.extras ?? {})).toEqual(["__proto__"]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(parseServerFrame('{"err":"access_denied"}')).toMatchObject({ reply: { err: ErrorCode.AccessDenied } });
  });

  it("returns undefined for anything else, never throws", () => {
    for (const text of [
      "",
      "nope",
      "[]",
      "null",
      "1",
      '"s"',
      '{"ok":false}',
      '{"ok":"true"}',
      '{"err":1}',
      '{"event":1,"channel":"c"}',
      "{}",
    ]) {
      expect(parseServerFrame(text), text).toBeUndefined();
    }
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: "binary" }), fc.json()), (text) => {
        const frame = parseServerFrame(text);
        expect(frame === undefined || frame.type === "reply" || frame.type === "delivery").toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});
