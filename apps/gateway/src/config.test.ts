import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "./config.js";

const load = (file: object | undefined, env: Record<string, string> = {}, flags: Record<string, unknown> = {}) =>
  loadConfig({
    file: file ? "rocket.json" : undefined,
    readFile: () => JSON.stringify(file),
    env,
    flags,
    randomSecret: () => "generated",
  });

describe("loadConfig", () => {
  it("defaults to one hub at / with read-only open and a generated read-write secret", () => {
    const c = load(undefined);
    expect(c.port).toBe(9772);
    expect(c.host).toBe("localhost");
    expect(c.hubs).toEqual([
      {
        path: "/",
        secrets: { readOnly: "", readWrite: "generated" },
        logFile: "",
        allowedOrigins: undefined,
        compression: false,
      },
    ]);
    expect(c.generatedSecret).toBe("generated");
    expect(c.maxPayloadBytes).toBe(65536);
    expect(c.maxDepth).toBe(32);
    expect(c.maxBackpressureBytes).toBe(1024 * 1024);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it("takes the default hub's read-write secret from ROCKET_SECRET", () => {
    const c = load(undefined, { ROCKET_SECRET: "mine" });
    expect(c.hubs[0]?.secrets.readWrite).toBe("mine");
    expect(c.generatedSecret).toBeUndefined();
  });

  it("reads webrocket's keys, including the old single Secret", () => {
    const c = load({
      Host: "0.0.0.0",
      Port: 1234,
      Hubs: [
        { Path: "/a", Secret: "s" },
        { Path: "/b", Secrets: { ReadOnly: "r" } },
      ],
    });
    expect(c.hubs.map((h) => [h.path, h.secrets])).toEqual([
      ["/a", { readOnly: "", readWrite: "s" }],
      ["/b", { readOnly: "r", readWrite: "" }],
    ]);
    expect(c.generatedSecret).toBeUndefined();
  });

  it("applies flags over environment over file", () => {
    expect(load({ Port: 1 }, { ROCKET_PORT: "2" }).port).toBe(2);
    expect(load({ Port: 1 }, { ROCKET_PORT: "2" }, { port: 3 }).port).toBe(3);
    expect(load({ RedisUrl: "redis://a" }, { ROCKET_REDIS_URL: "redis://b" }).redisUrl).toBe("redis://b");
  });

  it("names every bad key, as the user spelled it", () => {
    const message = (attempt: () => unknown) => {
      try {
        attempt();
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as Error).message;
      }
      throw new Error("no ConfigError");
    };
    const perKey = message(() =>
      load({ Port: -1, Bogus: 1, Hubs: [{ Path: "/x", Extra: true }] }, { ROCKET_MAX_PAYLOAD_BYTES: "big" }),
    );
    for (const part of ["Port: ", "Bogus: unknown key", "Hubs[0].Extra: unknown key", "ROCKET_MAX_PAYLOAD_BYTES: "]) {
      expect(perKey).toContain(part);
    }
    // Checks across keys run once every key is well-formed.
    const across = message(() => load({ Hubs: [{ Path: "/x" }, { Path: "/x" }], TLSCertFile: "c.pem" }));
    expect(across).toContain("Hubs[1].Path: duplicate hub path /x");
    expect(across).toContain("TLSKeyFile: TLSCertFile and TLSKeyFile go together");
  });
});
