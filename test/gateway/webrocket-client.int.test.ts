import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { Resources, startGateway, startRedis } from "../harness/index.js";

/**
 * webrocket v0.2's own Python client (webrocket-client-py), replayed frame for frame: it
 * sends `json.dumps` output (a space after `:` and `,`), and reads exactly one frame after
 * each request, taking anything without an `err` key as success. Python 2 and its
 * websocket library are not on this machine, so its exchange is reproduced here byte for
 * byte; every frame it receives must be the frame webrocket sent.
 */
class PythonStyleClient {
  private readonly frames: string[] = [];
  private readonly waiting: ((frame: string) => void)[] = [];

  private constructor(private readonly ws: WebSocket) {
    ws.on("message", (data) => {
      const frame = data.toString();
      const waiter = this.waiting.shift();
      if (waiter) waiter(frame);
      else this.frames.push(frame);
    });
  }

  static connect(url: string): Promise<PythonStyleClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      const client = new PythonStyleClient(ws);
      ws.once("open", () => resolve(client));
      ws.once("error", reject);
    });
  }

  /** `json.dumps(payload)` as Python writes it, then `ws.send`. */
  send(payload: string): void {
    this.ws.send(payload);
  }

  /** `ws.recv()`: the next frame, whatever it is. */
  recv(timeoutMs = 5000): Promise<string> {
    const frame = this.frames.shift();
    if (frame !== undefined) return Promise.resolve(frame);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no frame")), timeoutMs);
      this.waiting.push((f) => {
        clearTimeout(timer);
        resolve(f);
      });
    });
  }

  close(): void {
    this.ws.close();
  }
}

const example = fileURLToPath(new URL("../fixtures/webrocket-example.json", import.meta.url));
const resources = new Resources();
afterEach(() => resources.close());

const auth = '{"auth": {"access": "read-write", "secret": "secret"}}';
const authReadOnly = '{"auth": {"access": "read-only", "secret": ""}}';
const subscribe = '{"subscribe": {"channel": "hello"}}';
const publish = '{"publish": {"channel": "hello", "event": "foo", "data": {"raz": "dwa"}}}';
const delivered = '{"event":"foo","channel":"hello","data":{"raz": "dwa"}}';
const ok = '{"ok":true}';

async function client(url: string): Promise<PythonStyleClient> {
  return resources.add(await PythonStyleClient.connect(url), (c) => c.close());
}

/** The client's `__main__`: authenticate, subscribe to `hello`, publish `foo` to it; then logout. */
async function runMain(c: PythonStyleClient): Promise<string[]> {
  c.send(auth);
  expect(await c.recv()).toBe(ok);
  c.send(subscribe);
  expect(await c.recv()).toBe(ok);
  c.send(publish);
  // `publish` reads one frame as its answer; its own delivery and the ok both come, in some order.
  const afterPublish = [await c.recv(), await c.recv()];
  c.send('{"logout": true}');
  expect(await c.recv()).toBe(ok);
  return afterPublish;
}

describe("webrocket v0.2's Python client", () => {
  it("runs its example against webrocket's example.json, seeing webrocket's exact frames", async () => {
    const gw = resources.add(await startGateway({ args: [example] }), (g) => g.stop());
    const url = gw.url("/echo");
    const reader = await client(url);
    reader.send(authReadOnly);
    expect(await reader.recv()).toBe(ok);
    reader.send(subscribe);
    expect(await reader.recv()).toBe(ok);

    const afterPublish = await runMain(await client(url));
    expect(afterPublish.sort()).toEqual([delivered, ok].sort());
    expect(afterPublish.some((f) => f.includes('"err"'))).toBe(false);
    expect(await reader.recv()).toBe(delivered);
  });

  it("gets the same frames through a cluster of two gateways on Redis", async () => {
    const redis = resources.add(await startRedis(), (r) => r.stop());
    const a = resources.add(await startGateway({ args: [example], redisUrl: redis.url }), (g) => g.stop());
    const b = resources.add(await startGateway({ args: [example], redisUrl: redis.url }), (g) => g.stop());
    const reader = await client(b.url("/echo"));
    reader.send(authReadOnly);
    expect(await reader.recv()).toBe(ok);
    reader.send(subscribe);
    expect(await reader.recv()).toBe(ok);

    const afterPublish = await runMain(await client(a.url("/echo")));
    expect(afterPublish.sort()).toEqual([delivered, ok].sort());
    expect(await reader.recv()).toBe(delivered);
  });
});
