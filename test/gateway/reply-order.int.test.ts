import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GatewayProc, Resources, startGateway, startRedis } from "../harness/index.js";
import { Opcode, RawWebSocket } from "../harness/raw-websocket.js";

const ok = '{"ok":true}';

describe.each([
  { name: "one gateway, in-process bus", redis: false },
  { name: "cluster mode", redis: true },
])("a subscribe's ok comes before the channel's deliveries: $name", ({ redis: withRedis }) => {
  const resources = new Resources();
  let gw: GatewayProc;
  beforeAll(async () => {
    const redis = withRedis ? resources.add(await startRedis(), (r) => r.stop()) : undefined;
    gw = resources.add(await startGateway(redis ? { redisUrl: redis.url } : {}), (g) => g.stop());
  });
  afterAll(() => resources.close());

  it("when auth, subscribe and publish arrive in one write", async () => {
    for (let round = 0; round < 20; round++) {
      const ws = resources.add(await RawWebSocket.connect(gw.port), (w) => w.destroy());
      const channel = `one-write-${round}`;
      const delivery = `{"event":"e","channel":"${channel}","data":{"n":${round}}}`;
      ws.send(
        { opcode: Opcode.Text, payload: JSON.stringify({ auth: { access: "read-write", secret: "test-secret" } }) },
        { opcode: Opcode.Text, payload: JSON.stringify({ subscribe: { channel } }) },
        { opcode: Opcode.Text, payload: JSON.stringify({ publish: { event: "e", channel, data: { n: round } } }) },
      );
      const got = [await ws.nextText(), await ws.nextText(), await ws.nextText(), await ws.nextText()];
      // The auth's and the subscribe's ok first, always; then the delivery and the publish's
      // ok: in that order on one node (both leave in the same write), in either order through
      // Redis (the ack and the delivery come back on two connections).
      expect(got.slice(0, 2)).toEqual([ok, ok]);
      if (withRedis) expect(got.slice(2).sort()).toEqual([delivery, ok].sort());
      else expect(got.slice(2)).toEqual([delivery, ok]);
      ws.destroy();
    }
  });
});
