import { describe, expect, it } from "vitest";
import { checkChannelName } from "./channel.js";
import { ErrorCode } from "./codes.js";

describe("channel names", () => {
  it("accepts 1 to 255 UTF-8 bytes without control characters", () => {
    expect(checkChannelName("chat")).toBe("chat");
    expect(checkChannelName("a".repeat(255))).toBe("a".repeat(255));
    expect(checkChannelName("é".repeat(127))).toBe("é".repeat(127));
    expect(checkChannelName("room:42/presence")).toBe("room:42/presence");
  });

  it("refuses empty, long, non-string and control-character names", () => {
    for (const bad of ["", "a".repeat(256), "é".repeat(128), "a\nb", "\u0000", "x\u007f", 5, null, undefined, {}]) {
      expect(checkChannelName(bad)).toBe(ErrorCode.InvalidChannelName);
    }
  });
});
