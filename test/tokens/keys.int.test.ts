import { readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { exportJWK, type JWK } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GatewayProc, Resources, startGateway, TestClient, until } from "../harness/index.js";
import { makeCerts } from "../tls/certs.js";
import { keyPair, sign, tokenSecret } from "./sign.js";

const resources = new Resources();
const algorithms = ["RS256", "ES256", "EdDSA"] as const;
const pairs = Object.fromEntries(algorithms.map((alg) => [alg, keyPair(alg)])) as Record<
  (typeof algorithms)[number],
  ReturnType<typeof keyPair>
>;
const cap = { room: ["subscribe"] };
let gw: GatewayProc;

/** A JWKS endpoint over https whose key set the test replaces, counting the fetches. */
interface JwksServer {
  readonly url: string;
  keys: JWK[];
  fetches: number;
}
let jwks: JwksServer;

async function jwk(alg: (typeof algorithms)[number], kid: string): Promise<JWK> {
  return { ...(await exportJWK(pairs[alg].publicKey)), kid, alg, use: "sig" };
}

beforeAll(async () => {
  const certs = await makeCerts();
  const state = { keys: [] as JWK[], fetches: 0 };
  const server: Server = createServer({ cert: readFileSync(certs.certFile), key: readFileSync(certs.keyFile) }, (_req, res) => {
    state.fetches += 1;
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: state.keys }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  resources.add(server, (s) => new Promise<void>((resolve) => s.close(() => resolve())));
  const port = (server.address() as AddressInfo).port;
  jwks = Object.assign(state, { url: `https://localhost:${port}/jwks.json` });
  jwks.keys = [await jwk("RS256", "rsa-1"), await jwk("ES256", "ec-1"), await jwk("EdDSA", "ed-1")];

  const hubs = algorithms.map((alg) => {
    const file = join(certs.dir, `${alg}.pem`);
    writeFileSync(file, pairs[alg].pem);
    return { Path: `/${alg.toLowerCase()}`, Tokens: { PublicKeyFile: file } };
  });
  gw = resources.add(
    await startGateway({
      config: {
        Hubs: [...hubs, { Path: "/jwks", Tokens: { JwksUrl: jwks.url } }, { Path: "/hs", Tokens: { Secret: tokenSecret } }],
      },
      // The gateway trusts the test CA for the JWKS fetch, as an operator would add theirs.
      env: { NODE_EXTRA_CA_CERTS: certs.caFile },
    }),
    (g) => g.stop(),
  );
});
afterAll(() => resources.close());

async function tryToken(path: string, token: string): Promise<unknown> {
  const c = resources.add(await TestClient.connect(gw.url(path)), (x) => x.close());
  const reply = await c.request({ auth: { token } });
  c.close();
  return reply;
}

describe("public key hubs", () => {
  it("take RS256, ES256 and EdDSA tokens, each hub only its own key's algorithm", async () => {
    for (const alg of algorithms) {
      const token = await sign({ cap }, { alg, key: pairs[alg].privateKey });
      for (const other of algorithms) {
        expect(await tryToken(`/${other.toLowerCase()}`, token), `${alg} on /${other}`).toEqual(
          other === alg ? { ok: true } : { err: "invalid_credentials" },
        );
      }
      expect(await tryToken("/hs", token), `${alg} on /hs`).toEqual({ err: "invalid_credentials" });
    }
  });

  it("refuse an HMAC token keyed with the public key (algorithm confusion)", async () => {
    const forged = await sign({ cap }, { alg: "HS256", key: pairs.RS256.pem });
    expect(await tryToken("/rs256", forged)).toEqual({ err: "invalid_credentials" });
  });

  it("take HS256, HS384 and HS512 on a secret hub", async () => {
    for (const alg of ["HS256", "HS384", "HS512"])
      expect(await tryToken("/hs", await sign({ cap }, { alg })), alg).toEqual({ ok: true });
  });
});

describe("JWKS hubs", () => {
  it("verify with each key type of the set, and follow a key rotation", async () => {
    for (const [alg, kid] of [
      ["RS256", "rsa-1"],
      ["ES256", "ec-1"],
      ["EdDSA", "ed-1"],
    ] as const) {
      expect(await tryToken("/jwks", await sign({ cap }, { alg, kid, key: pairs[alg].privateKey })), alg).toEqual({ ok: true });
    }
    // Fetched once, then served from the cache.
    expect(jwks.fetches).toBe(1);

    // Rotation: the issuer publishes a new key and retires the old ones.
    const next = keyPair("ES256");
    jwks.keys = [{ ...(await exportJWK(next.publicKey)), kid: "ec-2", alg: "ES256", use: "sig" }];
    const fresh = await sign({ cap }, { alg: "ES256", kid: "ec-2", key: next.privateKey });
    // An unknown kid refetches the set, at most once a second (the cooldown): retry until past it.
    let reply: unknown;
    await until(
      async () => {
        reply = await tryToken("/jwks", fresh);
        return (reply as { ok?: boolean }).ok === true;
      },
      5000,
      "the rotated key to be fetched",
      200,
    );
    expect(reply).toEqual({ ok: true });
    expect(jwks.fetches).toBeGreaterThanOrEqual(2);
    const fetches = jwks.fetches;
    expect(await tryToken("/jwks", fresh)).toEqual({ ok: true });
    expect(jwks.fetches).toBe(fetches);
    // The retired key no longer verifies anything.
    const retired = await sign({ cap }, { alg: "RS256", kid: "rsa-1", key: pairs.RS256.privateKey });
    expect(await tryToken("/jwks", retired)).toEqual({ err: "invalid_credentials" });
  });

  it("refuse HMAC tokens even with a kid the set has", async () => {
    expect(await tryToken("/jwks", await sign({ cap }, { alg: "HS256", kid: "ec-2" }))).toEqual({ err: "invalid_credentials" });
  });
});
