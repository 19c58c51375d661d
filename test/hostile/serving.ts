import { randomUUID } from "node:crypto";
import type { GatewayProc } from "../harness/index.js";
import { RawWebSocket } from "../harness/raw-websocket.js";

/**
 * Throws unless the gateway is still up and serving: `/healthz` answers 200, and a fresh
 * client authenticates, subscribes, publishes and receives its own message.
 */
export async function expectServing(gw: GatewayProc, secret: string, path = "/"): Promise<void> {
  const health = await fetch(gw.http("/healthz"));
  if (health.status !== 200) throw new Error(`/healthz answered ${health.status}`);
  if (gw.proc.child.exitCode !== null) throw new Error(`the gateway exited with ${gw.proc.child.exitCode}`);
  const ws = await RawWebSocket.connect(gw.port, { path });
  try {
    const channel = `serving-${randomUUID()}`;
    ws.text(JSON.stringify({ auth: { access: "read-write", secret } }));
    ws.text(JSON.stringify({ subscribe: { channel } }));
    ws.text(JSON.stringify({ publish: { event: "check", channel, data: { fine: true } } }));
    const got = [await ws.nextText(), await ws.nextText(), await ws.nextText(), await ws.nextText()];
    // The delivery may overtake the subscribe's reply when both frames arrive in one read:
    // replies completed later are written at the end of the event-loop turn, the delivery at once.
    const delivery = `{"event":"check","channel":"${channel}","data":{"fine":true}}`;
    const replies = got.filter((text) => text !== delivery);
    if (replies.length !== 3 || replies.some((text) => text !== '{"ok":true}') || got[0] !== '{"ok":true}') {
      throw new Error(`a fresh client got ${JSON.stringify(got)}`);
    }
  } finally {
    ws.destroy();
  }
}
