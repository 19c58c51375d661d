import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startNodes } from "../cluster/helpers.js";
import { type GatewayProc, Resources, startGateway, startRedis, TestClient } from "../harness/index.js";
import { must } from "../harness/must.js";

/** `data` values as a client may write them: each must reach every subscriber unchanged. */
const values: [string, string][] = [
  ["key order", '{"z":1,"a":2,"m":{"y":[],"b":{}}}'],
  ["spacing, tabs and newlines", '{ "a" :\t[ 1 ,\n 2 ] ,"b" : "x  y" ,"c":{ } }'],
  ["unicode and other escapes", '"\\u00e9\\ud83d\\ude00\\n\\t\\"\\\\\\/\\u0000\\u001f"'],
  ["raw UTF-8", '{"é":"😀 ☃ 中文"}'],
  ["numbers beyond double precision", "[12345678901234567890123,1e400,-0.0,1.0,0.1E-2,123456789.123456789123456789,-1E+2]"],
  ["duplicate keys", '{"a":1,"a":2}'],
  ["a string", '"plain"'],
  ["null", "null"],
  ["false", "false"],
  ["zero", "0"],
  ["empty array", "[]"],
];

interface Setup {
  readonly name: string;
  /** Starts gateways; the publisher connects to the first, subscribers to all. */
  start(resources: Resources): Promise<GatewayProc[]>;
}

const setups: Setup[] = [
  {
    name: "one gateway, in-process bus",
    start: async (resources) => [resources.add(await startGateway(), (g) => g.stop())],
  },
  {
    name: "two gateways through Redis",
    async start(resources) {
      const redis = resources.add(await startRedis(), (r) => r.stop());
      return startNodes(resources, redis.url, 2);
    },
  },
];

describe.each(setups)("data arrives byte for byte: $name", (setup) => {
  const resources = new Resources();
  let subs: TestClient[];
  let pub: TestClient;
  beforeAll(async () => {
    const gateways = await setup.start(resources);
    subs = await Promise.all(
      gateways.map(async (gw) => {
        const c = resources.add(await TestClient.connect(gw.url()), (x) => x.close());
        expect(await c.auth("read-only", "")).toEqual({ ok: true });
        expect(await c.subscribe("bytes")).toEqual({ ok: true });
        return c;
      }),
    );
    pub = resources.add(await TestClient.connect(must(gateways[0]).url()), (x) => x.close());
    expect(await pub.auth("read-write", "test-secret")).toEqual({ ok: true });
  });
  afterAll(() => resources.close());

  it("keeps every value as the publisher wrote it", async () => {
    for (const [, data] of values) {
      expect(await pub.request(`{"publish":{"event":"e","channel":"bytes","data":${data}}}`), data).toEqual({ ok: true });
    }
    // The data key first with spaces around its value, spelled with an escape, and left out (null).
    expect(await pub.request('{"publish":{ "data" :  {"j" : 0}  ,"event":"e","channel":"bytes"}}')).toEqual({ ok: true });
    expect(await pub.request('{"publish":{"event":"e","channel":"bytes","d\\u0061ta":{"k" : 1}}}')).toEqual({ ok: true });
    expect(await pub.request('{"publish":{"event":"e","channel":"bytes"}}')).toEqual({ ok: true });
    const expected = [...values.map(([, data]) => data), '{"j" : 0}', '{"k" : 1}', "null"].map(
      (data) => `{"event":"e","channel":"bytes","data":${data}}`,
    );
    for (const sub of subs) {
      await sub.waitForDeliveries(expected.length);
      const frames = sub.raw.filter((r) => r.startsWith('{"event"'));
      for (const [k, [name]] of values.entries()) expect(frames[k], name).toBe(expected[k]);
      expect(frames).toEqual(expected);
    }
  });
});
