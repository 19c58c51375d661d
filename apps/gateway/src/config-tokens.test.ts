import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "./config.js";

const secret = "s".repeat(32);
const keys = {
  "rsa.pem": generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey,
  "ec.pem": generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey,
  "ed.pem": generateKeyPairSync("ed25519").publicKey,
  "p384.pem": generateKeyPairSync("ec", { namedCurve: "P-384" }).publicKey,
};
const files: Record<string, string> = Object.fromEntries(
  Object.entries(keys).map(([name, key]) => [name, key.export({ type: "spki", format: "pem" }).toString()]),
);
files["junk.pem"] = "not a key";

const load = (file: object | undefined, env: Record<string, string> = {}) =>
  loadConfig({
    file: file ? "rocket.json" : undefined,
    readFile: (path) => {
      if (path === "rocket.json") return JSON.stringify(file);
      const text = files[path];
      if (text === undefined) throw new Error("ENOENT: no such file");
      return text;
    },
    env,
    flags: {},
    randomSecret: () => "generated",
  });

const message = (attempt: () => unknown) => {
  try {
    attempt();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error("no ConfigError");
};

const hub = (tokens: object, extra: object = {}) => ({ Hubs: [{ Path: "/", Tokens: tokens, ...extra }] });

describe("Tokens in the file", () => {
  it("resolves each key source, with the claims and the leeway", () => {
    const c = load({
      Hubs: [
        { Path: "/s", Tokens: { Secret: secret, Issuer: "i", Audience: "a", LeewaySeconds: 0 }, TokenOnly: true },
        { Path: "/r", Tokens: { PublicKeyFile: "rsa.pem" } },
        { Path: "/e", Tokens: { PublicKeyFile: "ec.pem" } },
        { Path: "/d", Tokens: { PublicKeyFile: "ed.pem" } },
        { Path: "/j", Tokens: { JwksUrl: "https://issuer.example/.well-known/jwks.json" } },
        { Path: "/l", Tokens: { JwksUrl: "http://127.0.0.1:8080/jwks" } },
        { Path: "/none" },
      ],
    });
    const [s, r, e, d, j, l, none] = c.hubs;
    expect(s?.tokens).toEqual({ key: { kind: "secret", secret }, issuer: "i", audience: "a", leewaySeconds: 0 });
    expect(s?.tokenOnly).toBe(true);
    expect([r, e, d].map((h) => h?.tokens?.key.kind === "public-key" && h.tokens.key.algorithm)).toEqual([
      "RS256",
      "ES256",
      "EdDSA",
    ]);
    expect(j?.tokens?.key).toEqual({ kind: "jwks", url: "https://issuer.example/.well-known/jwks.json" });
    expect(l?.tokens?.leewaySeconds).toBe(5);
    expect(none?.tokens).toBeUndefined();
    expect(none?.tokenOnly).toBe(false);
  });

  it("names every bad key", () => {
    expect(message(() => load(hub({})))).toMatch(/Hubs\[0\]\.Tokens: give exactly one of Secret, PublicKeyFile and JwksUrl/);
    expect(message(() => load(hub({ Secret: secret, JwksUrl: "https://x.example/" })))).toMatch(
      /Hubs\[0\]\.Tokens\.JwksUrl: give exactly one/,
    );
    expect(message(() => load(hub({ Secret: "short" })))).toMatch(/Hubs\[0\]\.Tokens\.Secret: must be at least 32 characters/);
    expect(message(() => load(hub({ JwksUrl: "http://issuer.example/jwks" })))).toMatch(
      /Hubs\[0\]\.Tokens\.JwksUrl: must be https/,
    );
    expect(message(() => load(hub({ JwksUrl: "nope" })))).toMatch(/JwksUrl: not a URL/);
    expect(message(() => load(hub({ Secret: secret, LeewaySeconds: -1 })))).toMatch(/LeewaySeconds/);
    expect(message(() => load(hub({ Secret: secret, Extra: 1 })))).toMatch(/Hubs\[0\]\.Tokens\.Extra: unknown key/);
    expect(message(() => load({ Hubs: [{ Path: "/", TokenOnly: true }] }))).toMatch(
      /Hubs\[0\]\.TokenOnly: a token-only hub needs Tokens/,
    );
  });

  it("reads the public key at start, naming the key when it cannot be used", () => {
    expect(message(() => load(hub({ PublicKeyFile: "missing.pem" })))).toMatch(
      /Hubs\[0\]\.Tokens\.PublicKeyFile: cannot read missing\.pem/,
    );
    expect(message(() => load(hub({ PublicKeyFile: "junk.pem" })))).toMatch(/PublicKeyFile: junk\.pem holds no PEM public key/);
    expect(message(() => load(hub({ PublicKeyFile: "p384.pem" })))).toMatch(/PublicKeyFile: p384\.pem: a ec \(secp384r1\) key/);
  });
});

describe("the default hub's tokens from the environment", () => {
  it("generates a token secret unless one is given", () => {
    expect(load(undefined).generatedTokenSecret).toHaveLength(32);
    const c = load(undefined, { ROCKET_TOKEN_SECRET: secret, ROCKET_TOKEN_ISSUER: "me", ROCKET_TOKEN_ONLY: "true" });
    expect(c.generatedTokenSecret).toBeUndefined();
    expect(c.hubs[0]?.tokens).toEqual({ key: { kind: "secret", secret }, issuer: "me", audience: undefined, leewaySeconds: 5 });
    expect(c.hubs[0]?.tokenOnly).toBe(true);
    expect(load(undefined, { ROCKET_TOKEN_PUBLIC_KEY_FILE: "ed.pem" }).hubs[0]?.tokens?.key).toMatchObject({
      algorithm: "EdDSA",
    });
  });

  it("names the variables in errors", () => {
    expect(message(() => load(undefined, { ROCKET_TOKEN_SECRET: "short" }))).toMatch(/ROCKET_TOKEN_SECRET: must be at least 32/);
    expect(message(() => load(undefined, { ROCKET_TOKEN_PUBLIC_KEY_FILE: "missing.pem" }))).toMatch(
      /ROCKET_TOKEN_PUBLIC_KEY_FILE: cannot read missing\.pem/,
    );
    expect(message(() => load(undefined, { ROCKET_TOKEN_JWKS_URL: "http://example.com/" }))).toMatch(
      /ROCKET_TOKEN_JWKS_URL: must be https/,
    );
    expect(message(() => load(undefined, { ROCKET_TOKEN_LEEWAY_SECONDS: "9999", ROCKET_TOKEN_SECRET: secret }))).toMatch(
      /ROCKET_TOKEN_LEEWAY_SECONDS/,
    );
    expect(message(() => load(undefined, { ROCKET_TOKEN_ISSUER: "me" }))).toMatch(/ROCKET_TOKEN_ISSUER: set ROCKET_TOKEN_SECRET/);
    expect(message(() => load(undefined, { ROCKET_TOKEN_ONLY: "yes" }))).toMatch(/ROCKET_TOKEN_ONLY: must be true or false/);
  });

  it("reads the limits, with their defaults", () => {
    expect(load(undefined).limits).toEqual({
      commandsPerSecond: 200,
      publishesPerSecond: 100,
      subscriptionsPerConnection: 1000,
      authFailures: 5,
      connectionsPerSecond: 0,
      channelTtlSeconds: 86400,
    });
    expect(load(undefined, { ROCKET_MAX_COMMANDS_PER_SECOND: "7", ROCKET_CHANNEL_TTL_SECONDS: "0" }).limits).toMatchObject({
      commandsPerSecond: 7,
      channelTtlSeconds: 0,
    });
  });
});
