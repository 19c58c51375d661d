import { AccessLevel, type Capabilities } from "@rocket/protocol";
import { describe, expect, it } from "vitest";
import { noGrant, secretGrant, TokenGrant } from "./grant.js";

const rights = (grant: TokenGrant, channel: string) =>
  [
    grant.canSubscribe(channel) && "subscribe",
    grant.canPublish(channel) && "publish",
    grant.canHistory(channel) && "history",
    grant.canPresence(channel) && "presence",
  ].filter(Boolean);

describe("TokenGrant", () => {
  it("matches exact names and prefixes, giving the union of their rights", () => {
    const cap: Capabilities = {
      "chat:*": ["subscribe", "publish"],
      "chat:ro*": ["presence"],
      news: ["subscribe"],
      "user:alice": ["subscribe"],
      "logs:*": ["history"],
    };
    const grant = new TokenGrant(cap);
    expect(rights(grant, "chat:lobby")).toEqual(["subscribe", "publish", "history"]);
    expect(rights(grant, "chat:room1")).toEqual(["subscribe", "publish", "history", "presence"]);
    expect(rights(grant, "chat:")).toEqual(["subscribe", "publish", "history"]);
    expect(rights(grant, "chat")).toEqual([]);
    expect(rights(grant, "news")).toEqual(["subscribe", "history"]);
    expect(rights(grant, "news2")).toEqual([]);
    expect(rights(grant, "user:alice")).toEqual(["subscribe", "history"]);
    expect(rights(grant, "user:bob")).toEqual([]);
    expect(rights(grant, "logs:x")).toEqual(["history"]);
    expect(rights(grant, "")).toEqual([]);
  });

  it("lets * alone reach every channel, and an empty cap reach none", () => {
    expect(rights(new TokenGrant({ "*": ["publish"] }), "anything at all")).toEqual(["publish"]);
    expect(rights(new TokenGrant({}), "x")).toEqual([]);
    expect(rights(new TokenGrant({ x: [] }), "x")).toEqual([]);
  });

  it("treats a trailing * as a prefix, never as part of the name", () => {
    const grant = new TokenGrant({ "a*": ["subscribe"] });
    expect(grant.canSubscribe("a*")).toBe(true);
    expect(grant.canSubscribe("abc")).toBe(true);
    expect(grant.canSubscribe("b")).toBe(false);
  });

  it("is neither trusted nor a secret grant", () => {
    const grant = new TokenGrant({});
    expect([grant.kind, grant.trusted]).toEqual(["token", false]);
  });
});

describe("secret grants", () => {
  it("give read-only subscribe, history and presence, and read-write publish too", () => {
    const ro = secretGrant(AccessLevel.ReadOnly);
    expect([ro.canSubscribe("c"), ro.canPublish("c"), ro.canHistory("c"), ro.canPresence("c")]).toEqual([
      true,
      false,
      true,
      true,
    ]);
    const rw = secretGrant(AccessLevel.ReadWrite);
    expect([rw.canSubscribe("c"), rw.canPublish("c"), rw.trusted, ro.trusted]).toEqual([true, true, true, false]);
    expect([noGrant.canSubscribe("c"), noGrant.canHistory("c"), noGrant.kind]).toEqual([false, false, "none"]);
  });
});
