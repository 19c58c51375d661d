import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AccessLevel, authenticate, secretsEqual } from "./credentials.js";

describe("credentials", () => {
  it("grants the requested level for the right secret only", () => {
    const secrets = { readOnly: "ro", readWrite: "rw" };
    expect(authenticate(secrets, "read-only", "ro")).toBe(AccessLevel.ReadOnly);
    expect(authenticate(secrets, "read-write", "rw")).toBe(AccessLevel.ReadWrite);
    expect(authenticate(secrets, "read-write", "ro")).toBe(AccessLevel.None);
    expect(authenticate(secrets, "read-only", "rw")).toBe(AccessLevel.None);
    expect(authenticate(secrets, "read-only", "")).toBe(AccessLevel.None);
  });

  it("leaves a level with an empty secret open to any secret", () => {
    const secrets = { readOnly: "", readWrite: "rw" };
    expect(authenticate(secrets, "read-only", "anything")).toBe(AccessLevel.ReadOnly);
    expect(authenticate(secrets, "read-only", "")).toBe(AccessLevel.ReadOnly);
  });

  it("compares secrets exactly", () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (a, b) => {
        expect(secretsEqual(a, b)).toBe(a === b);
      }),
    );
    expect(secretsEqual("é", "e\u0301")).toBe(false);
    expect(secretsEqual("abc", "abc\u0000")).toBe(false);
  });
});
