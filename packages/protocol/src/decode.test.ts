import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ErrorCode } from "./codes.js";
import { commandTypes } from "./commands.js";
import { decode } from "./decode.js";

const bytes = (s: string) => new TextEncoder().encode(s);
const isDecoded = (d: { type: string; code?: string }) =>
  (commandTypes as readonly string[]).includes(d.type) || (d.type === "error" && d.code === ErrorCode.InvalidData);

describe("decode", () => {
  it("decodes every command of the protocol table", () => {
    expect(decode('{"auth":{"access":"read-write","secret":"S"}}')).toEqual({ type: "auth", access: "read-write", secret: "S" });
    expect(decode('{"auth":{"access":"read-only"}}')).toEqual({ type: "auth", access: "read-only", secret: "" });
    expect(decode('{"auth":{"access":"read-only","secret":null}}')).toEqual({ type: "auth", access: "read-only", secret: "" });
    expect(decode('{"subscribe":{"channel":"C"}}')).toEqual({ type: "subscribe", channel: "C" });
    expect(decode('{"unsubscribe":{"channel":"C"}}')).toEqual({ type: "unsubscribe", channel: "C" });
    expect(decode('{"publish":{"event":"E","channel":"C","data":{"foo":"bar"}}}')).toEqual({
      type: "publish",
      event: "E",
      channel: "C",
      data: { foo: "bar" },
      dataJson: '{"foo":"bar"}',
    });
    expect(decode('{"subscribe":{"channel":"C","since":{}}}')).toEqual({ type: "subscribe", channel: "C", since: {} });
    expect(decode('{"subscribe":{"channel":"C","since":{"offset":42,"epoch":"k3x9"}}}')).toEqual({
      type: "subscribe",
      channel: "C",
      since: { offset: 42, epoch: "k3x9" },
    });
    expect(decode('{"history":{"channel":"C"}}')).toEqual({ type: "history", channel: "C" });
    expect(decode('{"history":{"channel":"C","limit":5,"since":{"offset":0,"epoch":"e"}}}')).toEqual({
      type: "history",
      channel: "C",
      limit: 5,
      since: { offset: 0, epoch: "e" },
    });
    expect(decode('{"presence":{"channel":"C"}}')).toEqual({ type: "presence", channel: "C" });
    expect(decode('{"presence":"C"}')).toMatchObject({ type: "error", code: "invalid_data" });
    expect(decode('{"logout":true}')).toEqual({ type: "logout" });
    expect(decode('{"disconnect":true}')).toEqual({ type: "disconnect" });
  });

  it("keeps publish data as the client's JSON text, digits and all", () => {
    const d = decode('{"publish":{"data": {"n":12345678901234567890, "f":1e400} ,"event":"E","channel":"C"}}');
    expect(d).toMatchObject({ type: "publish", dataJson: '{"n":12345678901234567890, "f":1e400}' });
    expect(decode('{"publish":{"event":"E","channel":"C","data":[1,{"data":2}],"x":"data"}}')).toMatchObject({
      dataJson: '[1,{"data":2}]',
    });
    expect(decode('{"publish":{"event":"E","channel":"C","d\\u0061ta":"v"}}')).toMatchObject({ dataJson: '"v"' });
    expect(decode('{"publish":{"event":"E","channel":"C","data":1,"data":"last"}}')).toMatchObject({ dataJson: '"last"' });
    expect(decode('{"publish":{"event":"E","channel":"C"}}')).toMatchObject({ data: null, dataJson: "null" });
  });

  it("answers invalid_data to a since or a limit of the wrong shape", () => {
    for (const frame of [
      '{"subscribe":{"channel":"C","since":1}}',
      '{"subscribe":{"channel":"C","since":{"offset":1}}}',
      '{"subscribe":{"channel":"C","since":{"epoch":"e"}}}',
      '{"subscribe":{"channel":"C","since":{"offset":-1,"epoch":"e"}}}',
      '{"subscribe":{"channel":"C","since":{"offset":1.5,"epoch":"e"}}}',
      '{"subscribe":{"channel":"C","since":{"offset":"1","epoch":"e"}}}',
      '{"subscribe":{"channel":"C","since":null}}',
      '{"history":{"channel":"C","limit":-1}}',
      '{"history":{"channel":"C","limit":"5"}}',
      '{"history":{"channel":"C","since":{}}}',
      '{"history":true}',
    ]) {
      expect(decode(frame), frame).toEqual({ type: "error", code: ErrorCode.InvalidData, reason: "shape" });
    }
  });

  it("answers invalid_data to malformed frames", () => {
    for (const frame of [
      "",
      "not json",
      "[1,2]",
      "null",
      "42",
      '"s"',
      "{}",
      '{"bogus":1}',
      '{"auth":{"access":"admin","secret":"x"}}',
      '{"auth":{"secret":"x"}}',
      '{"auth":{"access":"read-only","secret":5}}',
      '{"auth":"read-only"}',
      '{"subscribe":"C"}',
      '{"publish":{"channel":"C","data":1}}',
      '{"publish":{"event":"E","data":1}}',
      '{"publish":{"event":"","channel":"C"}}',
      '{"publish":{"event":"E","channel":""}}',
      '{"publish":{"event":"E","channel":7}}',
      '{"logout":true,"disconnect":true}',
    ]) {
      expect(decode(frame), frame).toMatchObject({ type: "error", code: ErrorCode.InvalidData });
    }
  });

  it("refuses frames nested deeper than the limit, however deep", () => {
    const deep = (n: number) => `{"publish":{"event":"E","channel":"C","data":${"[".repeat(n)}${"]".repeat(n)}}}`;
    expect(decode(deep(30)).type).toBe("publish");
    expect(decode(deep(31))).toEqual({ type: "error", code: ErrorCode.InvalidData, reason: "depth" });
    expect(decode(deep(1_000_000))).toEqual({ type: "error", code: ErrorCode.InvalidData, reason: "depth" });
    expect(decode(deep(40), { maxDepth: 64 }).type).toBe("publish");
    expect(decode('{"publish":{"event":"[[[[","channel":"{{{{","data":"[[[[[[[[[[["}}', { maxDepth: 2 }).type).toBe("publish");
  });

  it("treats invalid UTF-8 as invalid_data", () => {
    expect(decode(new Uint8Array([0x7b, 0xff, 0x7d]))).toEqual({ type: "error", code: ErrorCode.InvalidData, reason: "utf8" });
    expect(decode(bytes('{"logout":true}')).type).toBe("logout");
    expect(decode(bytes('{"logout":true}').buffer as ArrayBuffer).type).toBe("logout");
  });

  it("never throws on arbitrary bytes, and answers a command or invalid_data", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (input) => {
        expect(isDecoded(decode(input))).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it("never throws on arbitrary JSON, and answers a command or invalid_data", () => {
    const command = fc.oneof(
      fc.jsonValue(),
      fc.dictionary(fc.constantFrom("auth", "subscribe", "unsubscribe", "publish", "logout", "disconnect", "x"), fc.jsonValue(), {
        maxKeys: 2,
      }),
      fc.record({
        publish: fc.record(
          { event: fc.oneof(fc.string(), fc.jsonValue()), channel: fc.oneof(fc.string(), fc.jsonValue()), data: fc.jsonValue() },
          { requiredKeys: [] },
        ),
      }),
    );
    fc.assert(
      fc.property(command, (value) => {
        const text = JSON.stringify(value);
        const decoded = decode(text);
        expect(isDecoded(decoded)).toBe(true);
        if (decoded.type === "publish") {
          // The kept text is the data the client sent.
          expect(JSON.parse(decoded.dataJson)).toEqual(
            (JSON.parse(text) as { publish: { data?: unknown } }).publish.data ?? null,
          );
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("never throws on arbitrary strings", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 300 }), (s) => {
        expect(isDecoded(decode(s))).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});
