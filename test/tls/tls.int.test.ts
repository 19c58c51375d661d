import { readFileSync } from "node:fs";
import { get } from "node:https";
import { RocketClient, type WebSocketConstructor } from "@rocket/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { type GatewayProc, Resources, rocketBin, startGateway, startProcess, TestClient, until } from "../harness/index.js";
import { makeCerts, type TestCerts } from "./certs.js";

const resources = new Resources();
let certs: TestCerts;
let ca: Buffer;
let gw: GatewayProc;

beforeAll(async () => {
  certs = await makeCerts();
  ca = readFileSync(certs.caFile);
  gw = resources.add(
    await startGateway({
      config: { TLSCertFile: certs.certFile, TLSKeyFile: certs.keyFile, Hubs: [{ Path: "/", Secret: "rw" }] },
    }),
    (g) => g.stop(),
  );
});
afterAll(() => resources.close());

const wss = () => `wss://localhost:${gw.port}/`;

function httpsGet(path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get({ host: "localhost", port: gw.port, path, ca }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    }).on("error", reject);
  });
}

describe("TLS served by the gateway", () => {
  it("answers /healthz and /readyz over https", async () => {
    expect(await httpsGet("/healthz")).toEqual({ status: 200, body: "ok\n" });
    expect((await httpsGet("/readyz")).status).toBe(200);
  });

  it("speaks the protocol over wss:// with a raw client", async () => {
    const c = resources.add(await TestClient.connect(wss(), { ca }), (x) => x.close());
    expect(await c.auth("read-write", "rw")).toEqual({ ok: true });
    expect(await c.subscribe("secure")).toEqual({ ok: true });
    expect(await c.publish("secure", "e", { over: "tls" })).toEqual({ ok: true });
    expect((await c.waitForDeliveries(1))[0]).toMatchObject({ channel: "secure", data: { over: "tls" } });
  });

  it("refuses a client that does not trust the certificate", async () => {
    await expect(TestClient.connect(wss())).rejects.toThrow(/self[- ]signed|unable to verify|certificate/i);
  });

  it("works with the client SDK", async () => {
    // The SDK takes any WebSocket class: this one trusts the test CA.
    class TrustingWebSocket extends WebSocket {
      constructor(url: string) {
        super(url, { ca });
      }
    }
    const rocket = resources.add(
      new RocketClient({
        url: wss(),
        auth: { access: "read-write", secret: "rw" },
        WebSocket: TrustingWebSocket as unknown as WebSocketConstructor,
      }),
      (r) => r.close(),
    );
    const got: unknown[] = [];
    rocket.on("sdk", (m) => got.push(m.data));
    await rocket.subscribe("sdk");
    await rocket.publish("sdk", "e", 42);
    await until(() => got.length === 1, 5000, "the delivery over wss");
    expect(got).toEqual([42]);
    expect(rocket.state).toBe("open");
  });
});

describe("TLS files that cannot be read", () => {
  it.each([
    ["missing", "/nonexistent/rocket-cert.pem"],
    ["a directory", "/tmp"],
  ])("stop the start with exit 2 naming the key (%s)", async (_what, path) => {
    const proc = startProcess(process.execPath, [rocketBin, "--port", "0"], {
      env: { PATH: process.env.PATH ?? "", ROCKET_TLS_CERT_FILE: path, ROCKET_TLS_KEY_FILE: certs.keyFile },
    });
    const { code } = await proc.exited;
    expect(code).toBe(2);
    expect(proc.stderr.join("\n")).toMatch(/ROCKET_TLS_CERT_FILE: cannot read/);
  });
});
