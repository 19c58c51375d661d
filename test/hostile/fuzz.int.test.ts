import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GatewayProc, startGateway } from "../harness/index.js";
import { Opcode, RawWebSocket } from "../harness/raw-websocket.js";
import { chaosSession } from "./chaos-frames.js";
import { FuzzConnection } from "./fuzz-connection.js";
import { hostileFrame } from "./json-frames.js";
import { expectServing } from "./serving.js";
import { ChannelWorld } from "./session-model.js";

/**
 * Hostile frames against a real gateway process. One seed per run (ROCKET_FUZZ_SEED to
 * repeat one; printed with any failure) drives every generator, so a failure reproduces.
 */
const seed = Number(process.env.ROCKET_FUZZ_SEED) || Math.floor(Math.random() * 2 ** 31);
const secret = "rw-secret";
/** Connections fuzzed at once, frames for each, frames per write. */
const connections = 4;
const framesPerConnection = 26_000;
const batch = 500;
/** Throwaway connections that get random framing, and how many run at once. */
const chaosConnections = 800;
const chaosParallel = 16;

let gw: GatewayProc;
beforeAll(async () => {
  gw = await startGateway({
    config: {
      Hubs: [{ Path: "/", Secrets: { ReadOnly: "", ReadWrite: secret } }],
      // The reference model has no abuse limits: a fuzzer sends far faster than any client may.
      MaxCommandsPerSecond: 1_000_000_000,
      MaxPublishesPerSecond: 1_000_000_000,
      MaxSubscriptionsPerConnection: 1_000_000_000,
      MaxAuthFailures: 1_000_000_000,
    },
  });
});
afterAll(() => gw?.stop());

/** Runs `body`; a failure carries the seed that reproduces it. */
async function reproducibly(body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new Error(`${message}\nreproduce: ROCKET_FUZZ_SEED=${seed} npx vitest run test/hostile/fuzz.int.test.ts`, {
      cause: err,
    });
  }
}

describe("fuzzing a gateway with hostile frames", () => {
  it(`answers ${connections * framesPerConnection} frames exactly once each, in order, as the reference model says`, {
    timeout: 120_000,
  }, async () => {
    const world = new ChannelWorld();
    const drivers = Array.from({ length: connections }, () => new FuzzConnection(gw.port, world, secret));
    // Generated before any connection opens: generating blocks this process for seconds.
    const inputs = drivers.map((_, i) => fc.sample(hostileFrame, { seed: seed + i, numRuns: framesPerConnection }));
    await reproducibly(async () => {
      await Promise.all(drivers.map((driver, i) => driver.run(inputs[i] ?? [], batch)));
    });
    const total = (key: "sent" | "replies" | "deliveries" | "reconnects") => drivers.reduce((sum, d) => sum + d.counts[key], 0);
    expect(total("sent")).toBe(connections * framesPerConnection);
    expect(total("replies")).toBe(total("sent"));
    // The mix reached the interesting paths: publishes delivered, sessions ended by disconnect.
    expect(total("deliveries")).toBeGreaterThan(1000);
    expect(total("reconnects")).toBeGreaterThan(0);
    await expectServing(gw, secret);
  });

  it(`survives random framing on ${chaosConnections} connections, and sends nothing malformed`, { timeout: 60_000 }, async () => {
    const sessions = fc.sample(chaosSession, { seed, numRuns: chaosConnections });
    let sent = 0;
    await reproducibly(async () => {
      for (let at = 0; at < sessions.length; at += chaosParallel) {
        await Promise.all(
          sessions.slice(at, at + chaosParallel).map(async (writes, i) => {
            const ws = await RawWebSocket.connect(gw.port);
            for (const bytes of writes) ws.write(bytes);
            sent += writes.length;
            // FIN after the bytes: the gateway reads them all, then closes its side too.
            ws.socket.end();
            await ws.ended;
            const shown = `chaos connection #${at + i}`;
            expect(ws.serverViolation, shown).toBeUndefined();
            for (const frame of ws.frames) {
              expect([Opcode.Text, Opcode.Pong, Opcode.Close], shown).toContain(frame.opcode);
              expect(frame.fin && frame.rsv === 0, shown).toBe(true);
            }
          }),
        );
      }
    });
    expect(sent).toBeGreaterThan(chaosConnections);
    await expectServing(gw, secret);
  });

  it("left the process healthy, with no error in its log", async () => {
    await expectServing(gw, secret);
    const errors = gw.proc.lines.filter((line) => /"level":(50|60)/.test(line));
    expect(errors).toEqual([]);
  });
});
