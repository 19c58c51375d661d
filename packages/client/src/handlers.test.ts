import { describe, expect, it } from "vitest";
import { MessageHandlers } from "./handlers.js";

const message = (channel: string, event: string) => ({ channel, event, data: null });

describe("MessageHandlers", () => {
  it("runs channel handlers for every event and event handlers for theirs", () => {
    const handlers = new MessageHandlers();
    const seen: string[] = [];
    handlers.add("chat", undefined, (m) => seen.push(`all:${m.event}`));
    handlers.add("chat", "join", (m) => seen.push(`join:${m.event}`));
    handlers.add("other", undefined, () => seen.push("other"));
    const fail = () => {
      throw new Error("unexpected");
    };
    handlers.dispatch(message("chat", "join"), fail);
    handlers.dispatch(message("chat", "message"), fail);
    handlers.dispatch(message("nobody", "join"), fail);
    expect(seen).toEqual(["all:join", "join:join", "all:message"]);
  });

  it("removes exactly the handler asked for, also one added twice", () => {
    const handlers = new MessageHandlers();
    let count = 0;
    const handler = () => count++;
    const first = handlers.add("c", "e", handler);
    handlers.add("c", "e", handler);
    first();
    first();
    handlers.dispatch(message("c", "e"), () => {});
    expect(count).toBe(1);
  });

  it("keeps going when a handler throws, and reports it", () => {
    const handlers = new MessageHandlers();
    const errors: unknown[] = [];
    let ran = false;
    handlers.add("c", undefined, () => {
      throw new Error("boom");
    });
    handlers.add("c", undefined, () => {
      ran = true;
    });
    handlers.dispatch(message("c", "e"), (e) => errors.push(e));
    expect(ran).toBe(true);
    expect(errors).toHaveLength(1);
  });
});
