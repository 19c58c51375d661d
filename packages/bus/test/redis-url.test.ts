import { describe, expect, it } from "vitest";
import { describeRedisTarget, parseRedisUrl, RedisUrlError, redactRedisUrl } from "../src/index.js";

describe("parseRedisUrl", () => {
  it("reads one server", () => {
    expect(parseRedisUrl("redis://127.0.0.1:6380")).toEqual({
      kind: "redis",
      address: { host: "127.0.0.1", port: 6380 },
      tls: false,
      username: undefined,
      password: undefined,
      db: 0,
    });
    expect(parseRedisUrl("rediss://user:p%40ss@redis.example/3")).toEqual({
      kind: "redis",
      address: { host: "redis.example", port: 6379 },
      tls: true,
      username: "user",
      password: "p@ss",
      db: 3,
    });
    expect(parseRedisUrl("redis://:secret@[::1]:7000/")).toMatchObject({
      address: { host: "::1", port: 7000 },
      username: undefined,
      password: "secret",
    });
  });

  it("reads a cluster seed list", () => {
    expect(parseRedisUrl("redis+cluster://10.0.0.1:7000,10.0.0.2:7001,redis-3")).toEqual({
      kind: "redis-cluster",
      seeds: [
        { host: "10.0.0.1", port: 7000 },
        { host: "10.0.0.2", port: 7001 },
        { host: "redis-3", port: 6379 },
      ],
      tls: false,
      username: undefined,
      password: undefined,
    });
    expect(parseRedisUrl("rediss+cluster://u:p@a:1")).toMatchObject({
      kind: "redis-cluster",
      tls: true,
      username: "u",
      password: "p",
    });
  });

  it("reads Sentinels and the master's name", () => {
    expect(parseRedisUrl("redis+sentinel://10.0.0.1:26380,sentinel-2,[::1]/mymaster")).toEqual({
      kind: "redis-sentinel",
      sentinels: [
        { host: "10.0.0.1", port: 26380 },
        { host: "sentinel-2", port: 26379 },
        { host: "::1", port: 26379 },
      ],
      masterName: "mymaster",
      tls: false,
      username: undefined,
      password: undefined,
      db: 0,
    });
    expect(parseRedisUrl("rediss+sentinel://u:p%2Fq@s1:1,s2:2/my%2Dmaster.1/4")).toEqual({
      kind: "redis-sentinel",
      sentinels: [
        { host: "s1", port: 1 },
        { host: "s2", port: 2 },
      ],
      masterName: "my-master.1",
      tls: true,
      username: "u",
      password: "p/q",
      db: 4,
    });
    expect(describeRedisTarget(parseRedisUrl("redis+sentinel://u:secret@s1:1,s2/m/2"))).toBe(
      "redis+sentinel://u:***@s1:1,s2:26379/m/2",
    );
  });

  it.each([
    ["localhost:6379", /not a URL/],
    ["redis+sentinel://s1:1,s2:2", /no master name/],
    ["redis+sentinel://s1:1/", /no master name/],
    ["redis+sentinel://s1:1/m/x", /not MASTER_NAME or MASTER_NAME\/db/],
    ["redis+sentinel://s1:1/m/1/2", /not MASTER_NAME or MASTER_NAME\/db/],
    ["redis+sentinel://s1:1/m?x=1", /query parameters/],
    ["redis+sentinel://s1:1/my%20master", /white space/],
    ["http://localhost", /unknown scheme/],
    ["redis://", /no host/],
    ["redis://a:1,b:2", /cluster form: redis\+cluster/],
    ["redis://host:0", /port "0"/],
    ["redis://host:99999", /port "99999"/],
    ["redis://host:abc", /port "abc"/],
    ["redis://host/db", /database "db"/],
    ["redis://host?tls=true", /query parameters/],
    ["redis+cluster://a:1,b:2/2", /only database 0/],
    ["redis+cluster://a:1,,b:2", /not a host/],
    ["redis://[::1:6379", /unterminated IPv6/],
  ])("refuses %s", (url, reason) => {
    expect(() => parseRedisUrl(url)).toThrow(RedisUrlError);
    expect(() => parseRedisUrl(url)).toThrow(reason);
  });

  it("never repeats a password in an error or a log", () => {
    expect(() => parseRedisUrl("redis://u:hunter2@host:bad")).toThrow(/^(?!.*hunter2)/);
    expect(redactRedisUrl("redis://u:hunter2@host:6379")).toBe("redis://u:***@host:6379");
  });
});
