import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { commandFrame, deepFrame, type FrameInput, hostileFrame } from "../../../test/hostile/json-frames.js";
import { referenceDecode } from "../../../test/hostile/reference-decoder.js";
import { decode } from "./decode.js";

/**
 * `decode` against the reference model (test/hostile/reference-decoder.ts): for every
 * input both must give the same command with the same fields, or both invalid_data. A
 * publish's `dataJson` must mean the data the model reads and, where the generator knows
 * it, be exactly the client's text.
 */
function expectAgreement(input: string | Uint8Array, dataText?: string): void {
  const got = decode(input);
  const want = referenceDecode(input);
  const shown = typeof input === "string" ? input : Buffer.from(input).toString("latin1");
  if (want.type === "error") {
    expect(got.type, shown).toBe("error");
    if (got.type !== "error") return;
    expect(got.code, shown).toBe("invalid_data");
    expect(want.reasons, shown).toContain(got.reason);
    return;
  }
  if (want.type !== "publish") {
    expect(got, shown).toEqual(want);
    return;
  }
  expect(got.type, shown).toBe("publish");
  if (got.type !== "publish") return;
  expect({ event: got.event, channel: got.channel, data: got.data }, shown).toEqual({
    event: want.event,
    channel: want.channel,
    data: want.data,
  });
  expect(JSON.parse(got.dataJson), shown).toEqual(want.data);
  if (dataText !== undefined) expect(got.dataJson, shown).toBe(dataText.trim());
}

/** ROCKET_FUZZ_SEED repeats a run (fast-check prints the seed of a failing one). */
const seed = Number(process.env.ROCKET_FUZZ_SEED);
const runs = (numRuns: number) => (seed ? { numRuns, seed } : { numRuns });
const agrees = (frame: FrameInput) => expectAgreement(frame.bytes, frame.dataText);

describe("decode agrees with the reference model", () => {
  it("on command frames of hostile shape, keeping a publish's data text exactly", () => {
    fc.assert(fc.property(commandFrame, agrees), runs(10_000));
  });

  it("on every kind of hostile frame, as bytes", () => {
    fc.assert(fc.property(hostileFrame, agrees), runs(10_000));
  });

  it("on the same frames given as strings", () => {
    fc.assert(
      fc.property(hostileFrame, (frame) => expectAgreement(frame.bytes.toString("utf8"), frame.dataText)),
      runs(3_000),
    );
  });

  it("on nesting near and far beyond the depth limit", () => {
    fc.assert(fc.property(deepFrame, agrees), runs(2_000));
  });

  it("on arbitrary strings, lone surrogates included", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 200 }), (s) => expectAgreement(s)),
      runs(5_000),
    );
  });

  it("on arbitrary bytes, invalid UTF-8 included", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => expectAgreement(b)),
      runs(5_000),
    );
  });

  it("on hand-picked frames at the edges", () => {
    for (const frame of [
      '{"auth":{"access":"read-only","secret":null}}',
      '{"auth":{"access":"read-write"}}',
      '{"auth":{"access":"read-only","secret":""},"auth":{"access":"read-write","secret":"x"}}',
      '{"publish":{"event":"e","channel":"c","d\\u0061ta":[1,{"data":2}]}}',
      '{"publish":{"event":"e","channel":"c","data":1,"data" : 2 }}',
      '{"publish":{"data":"first"},"publish":{"event":"e","channel":"c"}}',
      '{"publish":["data",1],"publish":{"event":"e","channel":"c","data":{"data":3}}}',
      '{"publish":{"event":"e","channel":"c","data":"\\"}\\\\"}}',
      '{"publish":{"event":"e","channel":"c","data":12345678901234567890123,"x":"data"}}',
      '{"__proto__":{"channel":"c"}}',
      '{"subscribe":{"__proto__":{"channel":"c"}}}',
      '{"logout":false}',
      '{"disconnect":null}',
      '\ufeff{"logout":true}',
      '{"logout":true}\u2028',
      ' \t\r\n{ "logout" : true } \n',
    ]) {
      expectAgreement(frame);
      expectAgreement(Buffer.from(frame));
    }
  });
});
