import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { encode, parseServerFrame } from "./frames.js";

describe("parseServerFrame", () => {
  it("tells replies from deliveries", () => {
    expect(parseServerFrame('{"ok":true}')).toEqual({ type: "reply", reply: { ok: true } });
    expect(parseServerFrame('{"err":"invalid_channel"}')).toEqual({ type: "reply", reply: { err: "invalid_channel" } });
    expect(parseServerFrame('{"event":"e","channel":"c","data":{"ok":true}}')).toEqual({
      type: "message",
      message: { event: "e", channel: "c", data: { ok: true } },
    });
    expect(parseServerFrame('{"event":"e","channel":"c"}')).toEqual({
      type: "message",
      message: { event: "e", channel: "c", data: null },
    });
  });

  it("returns undefined for anything else, never throws", () => {
    for (const text of ["", "nope", "[]", "null", "1", '{"ok":false}', '{"event":1,"channel":"c"}', "{}"]) {
      expect(parseServerFrame(text)).toBeUndefined();
    }
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json()), (text) => {
        parseServerFrame(text);
      }),
    );
  });
});

describe("encode", () => {
  it("writes the protocol's frames", () => {
    expect(JSON.parse(encode.auth({ access: "read-write", secret: "s" }))).toEqual({
      auth: { access: "read-write", secret: "s" },
    });
    expect(JSON.parse(encode.subscribe("c"))).toEqual({ subscribe: { channel: "c" } });
    expect(JSON.parse(encode.unsubscribe("c"))).toEqual({ unsubscribe: { channel: "c" } });
    expect(JSON.parse(encode.publish("c", "e", { a: 1 }))).toEqual({ publish: { event: "e", channel: "c", data: { a: 1 } } });
    expect(JSON.parse(encode.publish("c", "e", undefined))).toEqual({ publish: { event: "e", channel: "c", data: null } });
    expect(JSON.parse(encode.logout())).toEqual({ logout: true });
    expect(JSON.parse(encode.disconnect())).toEqual({ disconnect: true });
  });
});
