import { describe, expect, it } from "vitest";
import { cleanName, createIdentity } from "./identity.js";

describe("identity", () => {
  it("makes a 16-hex-digit id, a two-word name and a hue", () => {
    const me = createIdentity(null, () => 7);
    expect(me.id).toBe("0007000700070007");
    expect(me.name).toBe("nimble-finch");
    expect(me.hue).toBe(7);
  });

  it("keeps a stored name", () => {
    expect(createIdentity("  Ada ").name).toBe("Ada");
  });

  it("cleans names", () => {
    expect(cleanName("  a\u0000b\nc  ")).toBe("abc");
    expect(cleanName("x".repeat(40))).toHaveLength(24);
  });
});
