import { describe, expect, it } from "vitest";
import { parseChatMessage, parseMove, parsePresence, parseRename } from "./demo-messages.js";

describe("payload checks", () => {
  it("accepts well-formed payloads", () => {
    expect(parsePresence({ id: "a", name: "n" })).toEqual({ id: "a", name: "n" });
    expect(parseChatMessage({ id: "a", name: "n", text: "hi" })).toEqual({ id: "a", name: "n", text: "hi" });
    expect(parseRename({ id: "a", name: "n", from: "m" })).toEqual({ id: "a", name: "n", from: "m" });
    expect(parseMove({ id: "a", name: "n", hue: 120.5, x: 0, y: 1 })).toEqual({ id: "a", name: "n", hue: 120, x: 0, y: 1 });
  });

  it("refuses anything else", () => {
    for (const bad of [null, 1, "x", [], {}, { id: "a" }, { id: 1, name: "n" }, { id: "", name: "n" }]) {
      expect(parsePresence(bad)).toBeUndefined();
    }
    expect(parseChatMessage({ id: "a", name: "n", text: "" })).toBeUndefined();
    expect(parseChatMessage({ id: "a", name: "n", text: "x".repeat(501) })).toBeUndefined();
    expect(parseMove({ id: "a", name: "n", x: 2, y: 0 })).toBeUndefined();
    expect(parseMove({ id: "a", name: "n", x: "0", y: 0 })).toBeUndefined();
    expect(parseMove({ id: "a", name: "n", hue: "red", x: 0, y: 0 })?.hue).toBe(0);
  });
});
