import { describe, expect, it } from "vitest";
import { readPageConfig, readSecret, withSecret } from "./page-config.js";

const at = (search = "", hash = "", protocol = "http:") => ({ protocol, host: "localhost:9772", search, hash });

describe("readPageConfig", () => {
  it("connects to the hub of the server that served the page", () => {
    expect(readPageConfig(at())).toEqual({ urls: ["ws://localhost:9772/"], secret: undefined });
    expect(readPageConfig(at("", "", "https:")).urls).toEqual(["wss://localhost:9772/"]);
    expect(readPageConfig(at("?hub=/chat")).urls).toEqual(["ws://localhost:9772/chat"]);
  });

  it("takes a list of URLs from ?urls=", () => {
    expect(readPageConfig(at("?urls=ws://a:1/, ws://b:2/,")).urls).toEqual(["ws://a:1/", "ws://b:2/"]);
  });

  it("reads the secret from the fragment, percent-encoded, plus signs kept", () => {
    expect(readPageConfig(at("", "#secret=abc-_XYZ")).secret).toBe("abc-_XYZ");
    expect(readSecret(`#secret=${encodeURIComponent("a+b/c=&d")}`)).toBe("a+b/c=&d");
    expect(readSecret("#secret=a+b")).toBe("a+b");
    expect(readSecret("#x=1&secret=s")).toBe("s");
    expect(readSecret("#secret=")).toBeUndefined();
    expect(readSecret("")).toBeUndefined();
  });

  it("reads a token from the fragment", () => {
    expect(readPageConfig(at("", "#token=a.b-c_d.e")).token).toBe("a.b-c_d.e");
    expect(readPageConfig(at("", "#secret=s")).token).toBeUndefined();
  });

  it("writes a secret back into the fragment", () => {
    expect(withSecret("", "a+b&c")).toBe(`#secret=${encodeURIComponent("a+b&c")}`);
    expect(readSecret(withSecret("#secret=old&x=1", "new"))).toBe("new");
    expect(withSecret("#secret=old&x=1", "new")).toBe("#secret=new&x=1");
  });
});
