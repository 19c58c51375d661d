import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GatewayProc, RawWebSocket, startGateway } from "../harness/index.js";

/**
 * Channel names that are different strings but look alike, or that turn into the same
 * bytes under a careless UTF-8 conversion (a lone surrogate becomes U+FFFD): each is a
 * channel of its own, end to end through the bus and uWebSockets.js's topics.
 */
const secret = "rw-secret";
const names = ["\ud800", "\udc00", "\ufffd", "\u00e9", "e\u0301", "x".repeat(255)];

let gw: GatewayProc;
beforeAll(async () => {
  gw = await startGateway({ config: { Hubs: [{ Path: "/", Secrets: { ReadOnly: "", ReadWrite: secret } }] } });
});
afterAll(() => gw?.stop());

async function send(ws: RawWebSocket, frame: object): Promise<string> {
  ws.text(JSON.stringify(frame));
  return ws.nextText();
}

describe("channel names that look alike", () => {
  it("are separate channels: each subscriber gets its own channel's messages and no other", async () => {
    const subscribers = await Promise.all(names.map(() => RawWebSocket.connect(gw.port)));
    const publisher = await RawWebSocket.connect(gw.port);
    try {
      for (const [i, ws] of subscribers.entries()) {
        expect(await send(ws, { auth: { access: "read-only", secret: "" } })).toBe('{"ok":true}');
        expect(await send(ws, { subscribe: { channel: names[i] } })).toBe('{"ok":true}');
      }
      expect(await send(publisher, { auth: { access: "read-write", secret } })).toBe('{"ok":true}');
      for (const [i, channel] of names.entries()) {
        expect(await send(publisher, { publish: { event: "e", channel, data: i } })).toBe('{"ok":true}');
      }
      for (const [i, ws] of subscribers.entries()) {
        // A round trip after every publish: any delivery for this connection came before its reply.
        ws.text('{"logout":true}');
        const frames: string[] = [];
        for (let text = await ws.nextText(); text !== '{"ok":true}'; text = await ws.nextText()) frames.push(text);
        expect(frames.map((f) => JSON.parse(f) as unknown)).toEqual([{ event: "e", channel: names[i], data: i }]);
      }
    } finally {
      for (const ws of [...subscribers, publisher]) ws.destroy();
    }
  });
});
