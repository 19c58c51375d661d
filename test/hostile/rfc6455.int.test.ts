import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GatewayProc, startGateway } from "../harness/index.js";
import { Opcode, RawWebSocket, type ServerFrame } from "../harness/raw-websocket.js";
import { awaitFrame, deflateHub, deviations, type Expected, plainHub, type RfcCase, readWriteSecret } from "./rfc6455-case.js";
import { closeCases, deflateCases, limits } from "./rfc6455-close-cases.js";
import { framing, opcodes, pings, reservedBits } from "./rfc6455-framing-cases.js";
import { fragmentation, utf8Cases } from "./rfc6455-message-cases.js";
import { expectServing } from "./serving.js";

/** Sent after the frames of a case that leaves the connection open: its reply closes the list. */
const probe = '{"logout":true}';
/** Bound on how long a case may take to end the connection (failure only; nothing waits it out). */
const endTimeoutMs = 10_000;

let gw: GatewayProc;
beforeAll(async () => {
  gw = await startGateway({
    config: {
      Hubs: [
        { Path: plainHub, Secrets: { ReadOnly: "", ReadWrite: readWriteSecret } },
        { Path: deflateHub, Compression: true, Secrets: { ReadOnly: "", ReadWrite: readWriteSecret } },
      ],
    },
  });
});
afterAll(() => gw?.stop());

/** A server frame in the vocabulary of the cases. */
function seen(frame: ServerFrame): Expected | { other: string } {
  if (frame.fin && frame.rsv === 0 && frame.opcode === Opcode.Text) return { reply: frame.payload.toString("utf8") };
  if (frame.fin && frame.rsv === 0 && frame.opcode === Opcode.Pong) return { pong: frame.payload };
  if (frame.fin && frame.rsv === 0 && frame.opcode === Opcode.Close) {
    if (frame.payload.length < 2) return { close: undefined, reason: "" };
    return { close: frame.payload.readUInt16BE(0), reason: frame.payload.subarray(2).toString("utf8") };
  }
  return { other: `opcode ${frame.opcode} fin ${frame.fin} rsv ${frame.rsv} ${frame.payload.toString("latin1")}` };
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} not within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function runCase(c: RfcCase): Promise<void> {
  const hub = c.hub ?? plainHub;
  const ws = await RawWebSocket.connect(gw.port, {
    path: hub,
    headers: hub === deflateHub ? { "Sec-WebSocket-Extensions": "permessage-deflate" } : {},
  });
  try {
    for (const step of c.writes) {
      if (step === awaitFrame) await ws.next();
      else ws.write(step, c.chunk);
    }
    if (c.ending === "open") {
      ws.text(probe);
      while (ws.frames.length <= c.expect.length) await ws.next();
      expect(ws.frames.map(seen)).toEqual([...c.expect, { reply: '{"ok":true}' }]);
      expect(ws.closed).toBe(false);
    } else {
      const ending = await withTimeout(ws.ended, endTimeoutMs, "the end of the connection");
      expect(ws.frames.map(seen)).toEqual(c.expect);
      const last = c.expect.at(-1);
      if (c.ending === "cut") expect(ending).toEqual({ kind: "cut" });
      else expect(ending).toEqual({ kind: "close", code: last && "close" in last ? last.close : -1, reason: expect.any(String) });
    }
    expect(ws.serverViolation).toBeUndefined();
  } finally {
    ws.destroy();
  }
}

/** Every case, in the order of Autobahn's groups. */
const rfcCases: readonly RfcCase[] = [
  ...framing,
  ...pings,
  ...reservedBits,
  ...opcodes,
  ...fragmentation,
  ...utf8Cases,
  ...closeCases,
  ...limits,
  ...deflateCases,
];
const groups = [...new Set(rfcCases.map((c) => c.group))];

describe.each(groups)("RFC 6455 at the socket: %s", (group) => {
  const cases = rfcCases.filter((c) => c.group === group);
  it.each(cases.map((c) => [c.name, c] as const))("%s", async (_name, c) => {
    await runCase(c);
    // Whatever the frame did to its own connection, the process serves the next client.
    await expectServing(gw, readWriteSecret, c.hub ?? plainHub);
  });
});

describe("docs/protocol.md, uWebSockets.js and RFC 6455", () => {
  it("has one row for each deviation the cases show, and no other", () => {
    const docs = readFileSync(new URL("../../docs/protocol.md", import.meta.url), "utf8");
    const start = docs.indexOf("## uWebSockets.js and RFC 6455");
    expect(start).toBeGreaterThanOrEqual(0);
    const end = docs.indexOf("\n## ", start + 1);
    const section = docs.slice(start, end < 0 ? undefined : end);
    const rows = section
      .split("\n")
      .filter((line) => line.startsWith("| ") && !line.startsWith("| ---") && !line.startsWith("| what "))
      .map((line) => (line.split(" | ")[0] ?? "").slice(2).trim());
    const shown = new Set(rfcCases.flatMap((c) => (c.deviation ? [deviations[c.deviation]] : [])));
    expect(new Set(rows)).toEqual(shown);
    expect(rows).toHaveLength(Object.keys(deviations).length);
  });
});
