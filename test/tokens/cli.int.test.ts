import { decodeJwt } from "jose";
import { afterAll, describe, expect, it } from "vitest";
import { Resources, rocketBin, startGateway, startProcess, TestClient } from "../harness/index.js";
import { tokenSecret } from "./sign.js";

const resources = new Resources();
afterAll(() => resources.close());

/** Runs `rocket token ...` with `env`; resolves with its exit code, stdout and stderr. */
async function rocketToken(args: string[], env: Record<string, string> = {}) {
  const proc = startProcess(process.execPath, [rocketBin, "token", ...args], { env: { PATH: process.env.PATH ?? "", ...env } });
  const { code } = await proc.exited;
  return { code, stdout: proc.lines.filter((l) => !proc.stderr.includes(l)), stderr: proc.stderr.join("\n") };
}

describe("rocket token", () => {
  it("prints only a token, signed with the hub's secret, that the gateway accepts with exactly its cap", async () => {
    const env = { ROCKET_TOKEN_SECRET: tokenSecret };
    const out = await rocketToken(
      ["--sub", "alice", "--cap", "chat:*=subscribe,publish", "--cap", "news=subscribe", "--ttl", "15m"],
      env,
    );
    expect(out.code).toBe(0);
    expect(out.stdout).toHaveLength(1);
    const token = out.stdout[0] as string;
    const claims = decodeJwt(token);
    expect(claims).toMatchObject({ sub: "alice", cap: { "chat:*": ["subscribe", "publish"], news: ["subscribe"] } });
    expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBe(900);

    const gw = resources.add(await startGateway({ env }), (g) => g.stop());
    const c = resources.add(await TestClient.connect(gw.url()), (x) => x.close());
    expect(await c.request({ auth: { token } })).toEqual({ ok: true });
    expect(await c.subscribe("chat:1")).toEqual({ ok: true });
    expect(await c.subscribe("news")).toEqual({ ok: true });
    expect(await c.subscribe("other")).toEqual({ err: "access_denied" });
  });

  it("signs for a hub of a config file, with its issuer and audience", async () => {
    const gw = resources.add(
      await startGateway({
        config: { Hubs: [{ Path: "/app", Tokens: { Secret: tokenSecret, Issuer: "me", Audience: "rocket" } }] },
      }),
      (g) => g.stop(),
    );
    const configFile = gw.proc.child.spawnargs.find((a) => a.endsWith(".json")) as string;
    const out = await rocketToken([configFile, "--hub", "/app", "--cap", "*=subscribe"]);
    expect(out.code).toBe(0);
    expect(decodeJwt(out.stdout[0] as string)).toMatchObject({ iss: "me", aud: "rocket" });
    const c = resources.add(await TestClient.connect(gw.url("/app")), (x) => x.close());
    expect(await c.request({ auth: { token: out.stdout[0] } })).toEqual({ ok: true });
  });

  it("exits 2 with one clear line without a secret, for an unknown hub, or a bad --cap or --ttl", async () => {
    const none = await rocketToken(["--cap", "x=subscribe"]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/hub \/ has no token secret to sign with \(set ROCKET_TOKEN_SECRET\)/);
    const env = { ROCKET_TOKEN_SECRET: tokenSecret };
    expect((await rocketToken(["--hub", "/nope"], env)).stderr).toMatch(/no hub \/nope/);
    expect((await rocketToken(["--cap", "x=admin"], env)).stderr).toMatch(/unknown right admin/);
    expect((await rocketToken(["--cap", "x"], env)).code).toBe(2);
    expect((await rocketToken(["--ttl", "soon"], env)).stderr).toMatch(/--ttl soon/);
  });
});
