import { describe, expect, it } from "vitest";
import { createBus } from "../../apps/gateway/src/bus-factory.js";
import { ConfigError } from "../../apps/gateway/src/config.js";

const quiet = { debug() {}, info() {}, warn() {}, error() {}, child: () => quiet };
const options = (redisUrl: string | undefined) => ({
  redisUrl,
  observer: {},
  logger: quiet,
  publishTimeoutMs: 2000,
  node: "factory-test",
});

describe("createBus", () => {
  it("picks the in-process bus without a Redis URL", async () => {
    const { bus, registry } = createBus(options(undefined));
    expect(bus.kind).toBe("memory");
    expect(registry.exists("/", "none")).toBe(false);
    await bus.close();
  });

  it.each([
    ["redis://127.0.0.1:1", "redis"],
    ["rediss://127.0.0.1:1/2", "redis"],
    ["redis+cluster://127.0.0.1:1,127.0.0.1:2", "redis-cluster"],
    ["redis+sentinel://127.0.0.1:1,127.0.0.1:2/mymaster", "redis-sentinel"],
  ])("picks the Redis bus for %s", async (url, kind) => {
    const { bus, registry } = createBus(options(url));
    expect(bus.kind).toBe(kind);
    expect(bus.isReady()).toBe(false);
    // Not ready: the registry does not answer from Redis either.
    await expect(Promise.resolve(registry.exists("/", "any"))).rejects.toThrow(/not available/);
    await bus.close();
  });

  it("turns a malformed URL into a ConfigError naming the setting, without the password", () => {
    const attempt = () => createBus(options("redis://user:hunter2@a:1,b:2"));
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(/^RedisUrl \(--redis, ROCKET_REDIS_URL\): several hosts need the cluster form/);
    expect(attempt).not.toThrow(/hunter2/);
  });
});
