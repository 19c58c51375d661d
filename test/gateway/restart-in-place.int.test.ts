import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { freePort, type GatewayProc, Resources, startGateway, TestClient } from "../harness/index.js";

const resources = new Resources();
afterEach(() => resources.close());

/** Connections in TIME_WAIT whose local port is `port` (Linux's /proc/net/tcp, state 06). */
function timeWaitOn(port: number): number {
  const hex = port.toString(16).toUpperCase().padStart(4, "0");
  return readFileSync("/proc/net/tcp", "utf8")
    .split("\n")
    .slice(1)
    .filter((line) => {
      const [, local = "", , state] = line.trim().split(/\s+/);
      return local.endsWith(`:${hex}`) && state === "06";
    }).length;
}

/** Starts a gateway on `port`, or resolves with the lines of one that could not. */
async function tryStart(port: number): Promise<GatewayProc | string[]> {
  try {
    return resources.add(await startGateway({ port, env: { ROCKET_DRAIN_TIMEOUT_MS: "200" } }), (g) => g.stop());
  } catch (err) {
    return (err as Error).message.split("\n");
  }
}

describe("restarting a gateway in place (systemd, docker restart)", () => {
  it("binds its port again at once after a drain, while a second live gateway on that port is refused", async () => {
    const port = await freePort();
    const first = await tryStart(port);
    if (Array.isArray(first)) throw new Error(`first gateway did not start: ${first.join("\n")}`);

    // Two live gateways never share a port: the kernel would split the clients between them.
    const second = await tryStart(port);
    expect(Array.isArray(second) && second.some((l) => l.includes(`cannot listen on 127.0.0.1:${port}`))).toBe(true);

    const clients = await Promise.all(Array.from({ length: 20 }, () => TestClient.connect(`ws://127.0.0.1:${port}/`)));
    for (const c of clients) resources.add(c, (x) => x.close());
    for (const c of clients) expect(await c.auth("read-only", "")).toEqual({ ok: true });
    await first.stop();
    expect((await first.proc.exited).code).toBe(0);
    for (const c of clients) expect((await c.closed).code).toBe(1001);
    // The drain closed them from the gateway's side: their ends linger on its port.
    expect(timeWaitOn(port), "connections in TIME_WAIT on the port").toBeGreaterThan(0);

    const restarted = await tryStart(port);
    if (Array.isArray(restarted)) throw new Error(`restart in place failed: ${restarted.join("\n")}`);
    const client = resources.add(await TestClient.connect(restarted.url()), (c) => c.close());
    expect(await client.auth("read-write", "test-secret")).toEqual({ ok: true });
    expect(await client.subscribe("back")).toEqual({ ok: true });
    expect(await client.publish("back", "m", 1)).toEqual({ ok: true });
    expect(await client.waitForDeliveries(1)).toEqual([{ event: "m", channel: "back", data: 1 }]);
  });
});
