import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Command } from "./commands.js";
import { decode } from "./decode.js";
import { encodeCommand } from "./encode-command.js";

const position = fc.record({ offset: fc.maxSafeNat(), epoch: fc.string({ unit: "binary" }) });

/** Every command the protocol has, as `decode` returns it. */
const command: fc.Arbitrary<Command> = fc.oneof(
  fc.record({
    type: fc.constant("auth" as const),
    access: fc.constantFrom("read-only" as const, "read-write" as const),
    secret: fc.string({ unit: "binary" }),
  }),
  fc.record({ type: fc.constant("auth" as const), token: fc.string({ unit: "binary", minLength: 1 }) }),
  fc.record({
    type: fc.constantFrom("subscribe" as const, "unsubscribe" as const, "presence" as const),
    // -0 has no JSON text of its own: it comes back as 0
    channel: fc.oneof(
      fc.string({ unit: "binary" }),
      fc.jsonValue().map((v) => JSON.parse(JSON.stringify(v)) as unknown),
    ),
  }),
  fc.record({
    type: fc.constant("subscribe" as const),
    channel: fc.string({ unit: "binary" }),
    since: fc.oneof(fc.constant({}), position),
  }),
  fc.record(
    { type: fc.constant("history" as const), channel: fc.string({ unit: "binary" }), limit: fc.nat(), since: position },
    { requiredKeys: ["type", "channel"] },
  ),
  fc
    .record({
      event: fc.string({ unit: "binary", minLength: 1 }),
      channel: fc.string({ unit: "binary", minLength: 1 }),
      // -0 has no JSON text of its own: it comes back as 0
      data: fc.jsonValue().map((v) => JSON.parse(JSON.stringify(v)) as unknown),
    })
    .map(({ event, channel, data }) => ({ type: "publish" as const, event, channel, data, dataJson: JSON.stringify(data) })),
  fc.constant({ type: "logout" as const }),
  fc.constant({ type: "disconnect" as const }),
);

describe("encodeCommand", () => {
  it("writes each command as webrocket v0.2 clients do, key order included", () => {
    expect(encodeCommand({ type: "auth", access: "read-write", secret: "S" })).toBe(
      '{"auth":{"access":"read-write","secret":"S"}}',
    );
    expect(encodeCommand({ type: "subscribe", channel: "C" })).toBe('{"subscribe":{"channel":"C"}}');
    expect(encodeCommand({ type: "unsubscribe", channel: "C" })).toBe('{"unsubscribe":{"channel":"C"}}');
    expect(encodeCommand({ type: "presence", channel: "C" })).toBe('{"presence":{"channel":"C"}}');
    expect(encodeCommand({ type: "publish", event: "E", channel: "C", data: { foo: "bar" } })).toBe(
      '{"publish":{"event":"E","channel":"C","data":{"foo":"bar"}}}',
    );
    expect(encodeCommand({ type: "logout" })).toBe('{"logout":true}');
    expect(encodeCommand({ type: "disconnect" })).toBe('{"disconnect":true}');
  });

  it("takes a publish's data as a value or as JSON text written beforehand", () => {
    expect(encodeCommand({ type: "publish", event: "E", channel: "C", dataJson: '{"n":12345678901234567890}' })).toBe(
      '{"publish":{"event":"E","channel":"C","data":{"n":12345678901234567890}}}',
    );
    expect(encodeCommand({ type: "publish", event: "E", channel: "C", data: 1, dataJson: "2" })).toContain('"data":2}');
    expect(encodeCommand({ type: "publish", event: "E", channel: "C" })).toContain('"data":null}');
    expect(encodeCommand({ type: "publish", event: "E", channel: "C", data: () => 1 })).toContain('"data":null}');
    expect(() => encodeCommand({ type: "publish", event: "E", channel: "C", data: 1n })).toThrow(TypeError);
  });

  it("gives the same text as JSON.stringify of the frame object", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), fc.string({ unit: "binary" }), fc.jsonValue(), (event, channel, data) => {
        expect(encodeCommand({ type: "publish", event, channel, data })).toBe(
          JSON.stringify({ publish: { event, channel, data } }),
        );
        expect(encodeCommand({ type: "auth", access: "read-only", secret: event })).toBe(
          JSON.stringify({ auth: { access: "read-only", secret: event } }),
        );
      }),
    );
  });

  it("round-trips every command through decode", () => {
    fc.assert(
      fc.property(command, (c) => {
        expect(decode(encodeCommand(c))).toEqual(c);
      }),
      { numRuns: 2000 },
    );
  });
});
