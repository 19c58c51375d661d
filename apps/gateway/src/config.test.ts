import { describe, expect, it } from "vitest";
import { environmentHelp } from "./cli.js";
import { ConfigError, envKeys, loadConfig } from "./config.js";
import { extraEnv, fileConfigSchema, keyDocs } from "./config-schema.js";

const load = (file: object | undefined, env: Record<string, string> = {}, flags: Record<string, unknown> = {}) =>
  loadConfig({
    file: file ? "rocket.json" : undefined,
    readFile: () => JSON.stringify(file),
    env,
    flags,
    randomSecret: () => "generated",
  });

/** The ConfigError message of `attempt`. */
const message = (attempt: () => unknown) => {
  try {
    attempt();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error("no ConfigError");
};

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
        history: { history: undefined, prefixes: [] },
        presence: { presence: false, prefixes: [] },
        tokens: {
          key: { kind: "secret", secret: "generatedgenerated".padEnd(32, "0") },
          issuer: undefined,
          audience: undefined,
          leewaySeconds: 5,
        },
        tokenOnly: false,
      },
    ]);
    expect(c.generatedSecret).toBe("generated");
    expect(c.generatedTokenSecret).toBe("generatedgenerated".padEnd(32, "0"));
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
    expect(load({ Port: 1 }, { ROCKET_PORT: "2" }, { Port: "3" }).port).toBe(3);
    expect(load({ RedisUrl: "redis://a" }, { ROCKET_REDIS_URL: "redis://b" }).redisUrl).toBe("redis://b");
  });

  it("names every bad key, as the user spelled it", () => {
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

  it("resolves History per hub and per channel prefix, the hub's own over the top-level keys", () => {
    const c = load({
      History: { Size: 10 },
      Channels: [{ Prefix: "chat:", History: { Size: 100, TtlSeconds: 3600 } }],
      Hubs: [
        { Path: "/a" },
        {
          Path: "/b",
          History: { Size: 0 },
          Channels: [
            { Prefix: "c", History: { Size: 5, TtlSeconds: 60 } },
            { Prefix: "co", History: { Size: 0 } },
          ],
        },
      ],
    });
    expect(c.hubs[0]?.history).toEqual({
      history: { size: 10, ttlMs: 300_000 },
      prefixes: [{ prefix: "chat:", history: { size: 100, ttlMs: 3_600_000 } }],
    });
    expect(c.hubs[1]?.history).toEqual({
      history: undefined,
      prefixes: [
        { prefix: "co", history: undefined },
        { prefix: "c", history: { size: 5, ttlMs: 60_000 } },
      ],
    });
    const env = load(undefined, { ROCKET_CHANNELS: '[{"Prefix":"chat","History":{"Size":100,"TtlSeconds":3600}}]' });
    expect(env.hubs[0]?.history.prefixes).toEqual([{ prefix: "chat", history: { size: 100, ttlMs: 3_600_000 } }]);
    expect(message(() => load({ Hubs: [{ Path: "/", History: { Size: -1 } }] }))).toMatch(/Hubs\[0\]\.History\.Size/);
    expect(message(() => load({ History: { TtlSeconds: 5 } }))).toMatch(/History\.Size/);
    expect(
      message(() =>
        load({
          Channels: [
            { Prefix: "x", History: { Size: 1 } },
            { Prefix: "x", History: { Size: 2 } },
          ],
        }),
      ),
    ).toMatch(/Channels\[1\]\.Prefix: duplicate prefix x/);
    expect(message(() => load(undefined, { ROCKET_HISTORY: "{not json" }))).toMatch(/ROCKET_HISTORY/);
  });

  it("names a flag given a bad value", () => {
    expect(message(() => load(undefined, {}, { Port: "abc" }))).toContain("--port: ");
    expect(message(() => load(undefined, {}, { RedisUrl: "http://x" }))).toContain("--redis: ");
  });

  it("refuses TLS files it cannot read, naming the key or variable that gave them", () => {
    const readable = new Set(["rocket.json", "cert.pem"]);
    const tls = (file: object, env: Record<string, string> = {}) =>
      loadConfig({
        file: "rocket.json",
        readFile: (path) => {
          if (!readable.has(path)) throw new Error(`ENOENT: no such file or directory, open '${path}'`);
          return path === "rocket.json" ? JSON.stringify(file) : "PEM";
        },
        env,
        flags: {},
      });
    expect(tls({ TLSCertFile: "cert.pem", TLSKeyFile: "cert.pem" }).tls).toEqual({ certFile: "cert.pem", keyFile: "cert.pem" });
    expect(message(() => tls({ TLSCertFile: "cert.pem", TLSKeyFile: "key.pem" }))).toBe(
      "rocket.json: TLSKeyFile: cannot read key.pem: ENOENT: no such file or directory, open 'key.pem'",
    );
    expect(message(() => tls({}, { ROCKET_TLS_CERT_FILE: "missing.pem", ROCKET_TLS_KEY_FILE: "cert.pem" }))).toMatch(
      /ROCKET_TLS_CERT_FILE: cannot read missing\.pem/,
    );
  });
});

describe("server API, presence and webhooks", () => {
  it("takes ApiKeys from the file, ROCKET_API_KEYS and ROCKET_API_KEY", () => {
    const key = (c: string) => c.repeat(16);
    expect(load(undefined).apiKeys).toEqual([]);
    expect(load({ ApiKeys: [key("a"), key("b")] }).apiKeys).toEqual([key("a"), key("b")]);
    expect(load(undefined, { ROCKET_API_KEYS: JSON.stringify([key("c")]), ROCKET_API_KEY: key("d") }).apiKeys).toEqual([
      key("c"),
      key("d"),
    ]);
    expect(message(() => load({ ApiKeys: ["short"] }))).toMatch(/ApiKeys.*16 characters/);
    expect(message(() => load(undefined, { ROCKET_API_KEY: "short" }))).toBe("ROCKET_API_KEY: must be at least 16 characters");
  });

  it("resolves Presence per hub and per prefix, the longest prefix saying anything winning", () => {
    const c = load({
      Presence: true,
      Channels: [
        { Prefix: "chat:", Presence: false },
        { Prefix: "chat:room:", Presence: true },
        { Prefix: "h", History: { Size: 5 } },
      ],
      Hubs: [{ Path: "/a" }, { Path: "/b", Presence: false, Channels: [] }],
    });
    expect(c.hubs[0]?.presence).toEqual({
      presence: true,
      prefixes: [
        { prefix: "chat:room:", presence: true },
        { prefix: "chat:", presence: false },
      ],
    });
    expect(c.hubs[0]?.history.prefixes).toEqual([{ prefix: "h", history: { size: 5, ttlMs: 300_000 } }]);
    expect(c.hubs[1]?.presence).toEqual({ presence: false, prefixes: [] });
    expect(load(undefined, { ROCKET_PRESENCE: "true" }).hubs[0]?.presence?.presence).toBe(true);
    expect(message(() => load({ Channels: [{ Prefix: "x" }] }))).toMatch(/Channels\[0\].*History, Presence or both/);
  });

  it("takes Webhooks with every event by default, and checks them", () => {
    const hooks = { Url: "https://app.example/hooks", Secret: "s".repeat(16) };
    expect(load({ Webhooks: hooks }).webhooks).toEqual({
      url: hooks.Url,
      secret: hooks.Secret,
      events: ["channel_occupied", "channel_vacated", "join", "leave"],
      timeoutMs: 5000,
    });
    expect(load(undefined, { ROCKET_WEBHOOKS: JSON.stringify({ ...hooks, Events: ["join"] }) }).webhooks?.events).toEqual([
      "join",
    ]);
    expect(message(() => load({ Webhooks: { ...hooks, Url: "ftp://x" } }))).toMatch(/Webhooks.Url: must be http/);
    expect(message(() => load({ Webhooks: { ...hooks, Events: ["nope"] } }))).toMatch(/Webhooks.Events/);
  });
});

describe("the configuration table", () => {
  const snake = (name: string) =>
    name
      .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
      .replace(/([A-Z]+)([A-Z][a-z])/g, "$1_$2")
      .toUpperCase();

  it("gives every key but Hubs a ROCKET_* variable named after it, and every variable works", () => {
    for (const [name, doc] of keyDocs()) {
      if (name === "Hubs") {
        expect(doc.env).toBeUndefined();
        continue;
      }
      expect(doc.env, name).toBe(`ROCKET_${snake(name)}`);
    }
    expect(envKeys.ROCKET_MAX_DEPTH).toBe("MaxDepth");
    expect(envKeys.ROCKET_TLS_CERT_FILE).toBe("TLSCertFile");
    expect(load(undefined, { ROCKET_MAX_DEPTH: "7" }).maxDepth).toBe(7);
    expect(load(undefined, { ROCKET_IDLE_TIMEOUT_SECONDS: "64" }).idleTimeoutSeconds).toBe(64);
  });

  it("shows the defaults the schema applies", () => {
    const defaults = fileConfigSchema.parse({}) as Record<string, unknown>;
    let literals = 0;
    for (const [name, doc] of keyDocs()) {
      const literal = /^`([^`]*)`$/.exec(doc.default);
      if (literal) {
        literals += 1;
        expect(String(defaults[name]), name).toBe(literal[1]);
      } else {
        // Words stand for "nothing set": an empty string, an empty list, or absent.
        expect([undefined, "", "[]"], name).toContain(Array.isArray(defaults[name]) ? "[]" : defaults[name]);
      }
    }
    expect(literals).toBeGreaterThan(8);
  });

  it("drives the environment section of --help", () => {
    const help = environmentHelp();
    const variables = [...help.matchAll(/^ {2}(ROCKET_\w+)/gm)].map((m) => m[1]);
    expect(variables).toEqual([...Object.keys(envKeys), ...extraEnv.map((e) => e.env)]);
    for (const [name, doc] of keyDocs()) {
      if (doc.env) expect(help).toMatch(new RegExp(`${doc.env} +${name}, default `));
    }
  });
});
