import { describe, expect, it } from "vitest";
import { parseCli, parseSources } from "./cli.js";

const argv = (...args: string[]) => ["node", "rocket-bench", ...args];

describe("command line", () => {
  it("expands source address ranges", () => {
    expect(parseSources("127.0.0.2-127.0.0.4")).toEqual(["127.0.0.2", "127.0.0.3", "127.0.0.4"]);
    expect(parseSources("127.0.0.2-3")).toEqual(["127.0.0.2", "127.0.0.3"]);
    expect(parseSources("10.0.0.1, 10.0.0.2")).toEqual(["10.0.0.1", "10.0.0.2"]);
    expect(parseSources("auto")).toBe("auto");
  });

  it("reads --compare <scenario> with defaults sized for the targets", () => {
    const request = parseCli(argv("--compare", "fanout"), "0", {});
    expect(request).toMatchObject({ command: "run", scenario: "fanout", compare: true });
    if (request.command !== "run") throw new Error("unreachable");
    expect(request.load.subscribers).toBe(1000);
    expect(request.load.payloadBytes).toBe(100);
    expect(request.load.ratePerSec).toBeUndefined();
  });

  it("takes --http-publish: with --compare, or with an API key", () => {
    expect(parseCli(argv("--compare", "channels", "--http-publish"), "0", {})).toMatchObject({
      httpPublish: true,
      compare: true,
    });
    expect(
      parseCli(argv("fanout", "--url", "ws://127.0.0.1:9772", "--http-publish", "--api-url", "http://127.0.0.1:9100"), "0", {
        ROCKET_API_KEY: "k",
      }),
    ).toMatchObject({ httpPublish: true, apiKey: "k", apiUrl: "http://127.0.0.1:9100" });
  });

  it("drives a given server with its secret from the environment", () => {
    const request = parseCli(argv("connections", "--url", "ws://127.0.0.1:9772", "--server-pid", "42"), "0", {
      ROCKET_SECRET: "s3",
    });
    expect(request).toMatchObject({ command: "run", scenario: "connections", compare: false, secret: "s3", serverPids: [42] });
    if (request.command !== "run") throw new Error("unreachable");
    expect(request.load.connections).toBe(19_000);
  });

  it("takes two URLs for cross", () => {
    const request = parseCli(argv("cross", "--url", "ws://a:1", "--url", "ws://b:2"), "0", {});
    expect(request).toMatchObject({ urls: ["ws://a:1", "ws://b:2"] });
  });

  it("parses the baseline subcommand", () => {
    expect(parseCli(argv("baseline", "--port", "0", "--redis", "redis://127.0.0.1:1"), "0", {})).toEqual({
      command: "baseline",
      host: "127.0.0.1",
      port: 0,
      redisUrl: "redis://127.0.0.1:1",
    });
  });

  it("alternates Rocket and the baseline over rounds, each with its own Redis if asked", () => {
    const request = parseCli(argv("--compare", "channels", "--rate", "10000", "--rounds", "3", "--with-redis"), "0", {});
    expect(request).toMatchObject({ command: "run", scenario: "channels", compare: true, rounds: 3, withRedis: true });
    expect(parseCli(argv("--compare", "fanout"), "0", {})).toMatchObject({ rounds: 1, withRedis: false });
  });
});
