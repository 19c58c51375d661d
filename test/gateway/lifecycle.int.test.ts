import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { Resources, rocketBin, startGateway, startProcess, TestClient, until } from "../harness/index.js";

const resources = new Resources();
afterEach(() => resources.close());

const exampleJson = fileURLToPath(new URL("../fixtures/webrocket-example.json", import.meta.url));
const cleanEnv = () => {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("ROCKET_") && !k.startsWith("UWS_")) env[k] = v;
  return env;
};

/** Runs `rocket` expecting it to refuse to start; resolves with its exit code and stderr. */
async function refusedStart(args: string[], env: Record<string, string> = {}) {
  const proc = resources.add(startProcess(process.execPath, [rocketBin, ...args], { env: { ...cleanEnv(), ...env } }), (p) =>
    p.stop(),
  );
  const { code } = await proc.exited;
  return { code, stderr: proc.stderr.join("\n") };
}

describe("configuration", () => {
  it("starts from webrocket's example.json unchanged; a read-write client publishes", async () => {
    const gw = resources.add(await startGateway({ args: [exampleJson] }), (g) => g.stop());
    const sub = resources.add(await TestClient.connect(gw.url("/echo")), (c) => c.close());
    expect(await sub.auth("read-only", "")).toEqual({ ok: true });
    expect(await sub.subscribe("news")).toEqual({ ok: true });
    const pub = resources.add(await TestClient.connect(gw.url("/echo")), (c) => c.close());
    expect(await pub.auth("read-write", "secret")).toEqual({ ok: true });
    expect(await pub.publish("news", "headline", { title: "hi" })).toEqual({ ok: true });
    expect(await sub.waitForDeliveries(1)).toEqual([{ event: "headline", channel: "news", data: { title: "hi" } }]);
  });

  it("stops with exit code 2 and one line naming each bad key", async () => {
    const dir = mkdtempSync(join(tmpdir(), "rocket-cfg-"));
    const file = join(dir, "bad.json");
    writeFileSync(file, JSON.stringify({ Port: "many", Hubs: [{ Path: "no-slash", Secrets: { ReadOnly: 1 } }], Colour: "red" }));
    const bad = await refusedStart([file]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.split("\n").filter(Boolean)).toHaveLength(1);
    for (const key of ["Port", "Hubs[0].Path", "Hubs[0].Secrets.ReadOnly", "Colour: unknown key"])
      expect(bad.stderr).toContain(key);

    const env = await refusedStart([], { ROCKET_PORT: "seventy" });
    expect(env.code).toBe(2);
    expect(env.stderr).toContain("ROCKET_PORT");

    const redis = await refusedStart(["--redis", "http://user:hunter2@example:6379"]);
    expect(redis.code).toBe(2);
    expect(redis.stderr).toContain("--redis");
    expect(redis.stderr).not.toContain("hunter2");

    const flag = await refusedStart(["--port", "99999"]);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain("--port");

    const notJson = join(dir, "not.json");
    writeFileSync(notJson, "{ Host: ");
    const parse = await refusedStart([notJson]);
    expect(parse.code).toBe(2);
    expect(parse.stderr).toContain("not valid JSON");

    const missing = await refusedStart([join(dir, "absent.json")]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("cannot read");
  });

  it("lets flags win over environment and environment over the file", async () => {
    const gw = resources.add(
      await startGateway({ args: [exampleJson], env: { ROCKET_PORT: "1", ROCKET_LOG_LEVEL: "error" } }),
      (g) => g.stop(),
    );
    // --port 0 (flag) beat ROCKET_PORT=1 (env) and Port 9772 (file); --log-level debug beat
    // ROCKET_LOG_LEVEL=error, or the info line "listening" would not have been printed.
    expect(gw.port).not.toBe(1);
    expect(gw.port).not.toBe(9772);

    const dir = mkdtempSync(join(tmpdir(), "rocket-cfg-"));
    const file = join(dir, "unreachable.json");
    writeFileSync(file, JSON.stringify({ Host: "192.0.2.1", Port: 9772 }));
    const proc = resources.add(
      startProcess(process.execPath, [rocketBin, file], { env: { ...cleanEnv(), ROCKET_HOST: "127.0.0.1", ROCKET_PORT: "0" } }),
      (p) => p.stop(),
    );
    const line = JSON.parse(await proc.waitForLine(/"msg":"listening"/)) as { host: string; port: number };
    expect(line.host).toBe("127.0.0.1");
    expect(line.port).not.toBe(9772);
  });

  it("generates and prints a read-write secret once when none is configured", async () => {
    const gw = resources.add(await startGateway({ env: { ROCKET_SECRET: "" } }), (g) => g.stop());
    const line = await gw.proc.waitForLine(/readWriteSecret/);
    const { readWriteSecret } = JSON.parse(line) as { readWriteSecret: string };
    expect(readWriteSecret.length).toBeGreaterThanOrEqual(16);
    expect(gw.proc.lines.filter((l) => l.includes(readWriteSecret))).toHaveLength(1);
    const c = resources.add(await TestClient.connect(gw.url()), (x) => x.close());
    expect(await c.auth("read-write", readWriteSecret)).toEqual({ ok: true });
    expect(await c.auth("read-write", "guess")).toEqual({ err: "invalid_credentials" });
  });

  it("writes a hub's log lines to its Log file", async () => {
    const log = join(mkdtempSync(join(tmpdir(), "rocket-log-")), "hub.log");
    const gw = resources.add(
      await startGateway({ config: { Hubs: [{ Path: "/logged", Log: log, AllowedOrigins: ["https://ok.example"] }] } }),
      (g) => g.stop(),
    );
    await expect(TestClient.connect(gw.url("/logged"), { origin: "https://evil.example" })).rejects.toThrow(/403/);
    await until(
      () => {
        try {
          return readFileSync(log, "utf8").includes("origin not allowed");
        } catch {
          return false;
        }
      },
      5000,
      "the hub's log line",
    );
    const line = JSON.parse(readFileSync(log, "utf8").trim().split("\n")[0] as string) as { hub: string };
    expect(line.hub).toBe("/logged");
  });
});

describe("origins", () => {
  it("refuses upgrades from origins not on the hub's list with 403", async () => {
    const gw = resources.add(
      await startGateway({ config: { Hubs: [{ Path: "/", AllowedOrigins: ["https://app.example"] }] } }),
      (g) => g.stop(),
    );
    await expect(TestClient.connect(gw.url(), { origin: "https://evil.example" })).rejects.toThrow(/403/);
    await expect(TestClient.connect(gw.url())).rejects.toThrow(/403/);
    const good = resources.add(await TestClient.connect(gw.url(), { origin: "https://app.example" }), (c) => c.close());
    expect(await good.auth("read-only", "")).toEqual({ ok: true });
    const metrics = await (await fetch(gw.http("/metrics"))).text();
    expect(metrics).toMatch(/rocket_upgrades_refused_total\{hub="\/",reason="origin"\} 2/);
  });
});

describe("shutdown", () => {
  it("on SIGTERM closes clients with 1001, refuses new ones and exits 0", async () => {
    const gw = await startGateway({ env: { ROCKET_DRAIN_TIMEOUT_MS: "300" } });
    const clients = await Promise.all([1, 2, 3].map(() => TestClient.connect(gw.url())));
    gw.proc.kill("SIGTERM");
    const codes = await Promise.all(clients.map(async (c) => (await c.closed).code));
    expect(codes).toEqual([1001, 1001, 1001]);
    expect((await gw.proc.exited).code).toBe(0);
    await expect(TestClient.connect(gw.url())).rejects.toThrow();
  });

  it("on SIGINT does the same", async () => {
    const gw = await startGateway();
    const c = await TestClient.connect(gw.url());
    gw.proc.kill("SIGINT");
    expect((await c.closed).code).toBe(1001);
    expect((await gw.proc.exited).code).toBe(0);
  });
});

describe("native uWebSockets.js", () => {
  it("refuses to start on the pure-JS fallback", async () => {
    const res = await refusedStart(["--port", "0"], { UWS_USE_FALLBACK: "1" });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/native binary did not load.*UWS_USE_FALLBACK/);
  });
});

describe("command line", () => {
  it("prints help and version", async () => {
    const help = resources.add(startProcess(process.execPath, [rocketBin, "--help"], { env: cleanEnv() }), (p) => p.stop());
    expect((await help.exited).code).toBe(0);
    const text = help.lines.join("\n");
    for (const flag of ["--host", "--port", "--redis", "--metrics-port", "--static", "ROCKET_SECRET"])
      expect(text).toContain(flag);
    const version = resources.add(startProcess(process.execPath, [rocketBin, "--version"], { env: cleanEnv() }), (p) => p.stop());
    expect((await version.exited).code).toBe(0);
    expect(version.lines.join("")).toMatch(/^\d+\.\d+\.\d+$/);
  });
});
