import { describe, expect, it } from "vitest";
import { closeCodes } from "./codes.js";
import { closeCodeLabel, closeCodeLabels, LimitLabel, limitLabels, rateLimitLabels } from "./metric-labels.js";

describe("metric label tables", () => {
  it("gives every close code the server sends a label of its own, and any other code 'other'", () => {
    for (const code of closeCodes) expect(closeCodeLabel(code)).toBe(String(code));
    expect(closeCodeLabel(1006)).toBe("1006");
    expect(closeCodeLabel(4999)).toBe("other");
    expect(closeCodeLabel(3000)).toBe("other");
    expect(new Set(closeCodeLabels.map(closeCodeLabel)).size).toBe(closeCodeLabels.length);
  });

  it("lists the limit labels", () => {
    expect(limitLabels).toEqual(["payload", "depth", "channel_name", "backpressure", "subscriptions", "auth_failures"]);
    expect(rateLimitLabels).toEqual(["commands", "publishes"]);
    expect(LimitLabel.ChannelName).toBe("channel_name");
  });
});
