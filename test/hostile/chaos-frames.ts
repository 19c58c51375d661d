import fc from "fast-check";
import { encodeFrame, type FrameSpec } from "../harness/raw-websocket.js";
import { commandFrame } from "./json-frames.js";

/**
 * Random WebSocket framing: any opcode, FIN, reserved bits, masked or not, any length
 * encoding, lengths that lie, payloads of random bytes or commands; and plain random
 * bytes after the handshake. What the gateway makes of them is up to uWebSockets.js; the
 * property is that nothing it sends is malformed and that the process stays healthy.
 */

const payload = fc.oneof(
  { weight: 3, arbitrary: fc.uint8Array({ maxLength: 140 }) },
  { weight: 2, arbitrary: commandFrame.map((f) => new Uint8Array(f.bytes)) },
  { weight: 1, arbitrary: fc.constant(new Uint8Array(0)) },
);

/** One frame of random shape, as the bytes to write. */
export const chaosFrame: fc.Arbitrary<Buffer> = fc
  .record({
    opcode: fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom(0, 1, 2, 8, 9, 10) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 15 }) },
    ),
    fin: fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
    rsv: fc.oneof({ weight: 8, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 7 }) }),
    masked: fc.oneof({ weight: 12, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
    lengthForm: fc.option(fc.constantFrom<7 | 16 | 64>(7, 16, 64), { freq: 8, nil: undefined }),
    lie: fc.option(fc.integer({ min: -3, max: 3 }), { freq: 12, nil: undefined }),
    payload,
  })
  .map(({ opcode, fin, rsv, masked, lengthForm, lie, payload }) => {
    const spec: FrameSpec = {
      opcode,
      fin,
      rsv,
      payload,
      ...(masked ? {} : { mask: false as const }),
      ...(lengthForm === undefined || (lengthForm === 7 && payload.length > 125) ? {} : { lengthForm }),
      ...(lie === undefined ? {} : { declaredLength: BigInt(Math.max(0, payload.length + lie)) }),
    };
    return encodeFrame(spec);
  });

/** What one chaos connection writes after the handshake: random frames, or random bytes. */
export const chaosSession: fc.Arbitrary<Buffer[]> = fc.oneof(
  { weight: 5, arbitrary: fc.array(chaosFrame, { minLength: 1, maxLength: 12 }) },
  {
    weight: 1,
    arbitrary: fc.array(
      fc.uint8Array({ minLength: 1, maxLength: 64 }).map((b) => Buffer.from(b)),
      { minLength: 1, maxLength: 4 },
    ),
  },
);
