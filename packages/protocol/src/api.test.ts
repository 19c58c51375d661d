import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeApiBatch, decodeApiDisconnect, decodeApiPublish, maxBatchPublications } from "./api.js";
import { encodePresenceReply } from "./encode.js";
import { rawMembers } from "./json-members.js";
import { encodePresenceEvent, presenceFrameParts } from "./server-events.js";

describe("decodeApiPublish", () => {
  it("keeps data as the sender wrote it and defaults the hub to /", () => {
    expect(decodeApiPublish('{"channel":"C","event":"E","data": {"n":12345678901234567890, "2":1,"1":2} }')).toEqual({
      ok: true,
      value: { hub: "/", channel: "C", event: "E", dataJson: '{"n":12345678901234567890, "2":1,"1":2}' },
    });
    expect(decodeApiPublish('{"hub":"/a","channel":"C","event":"E"}')).toEqual({
      ok: true,
      value: { hub: "/a", channel: "C", event: "E", dataJson: "null" },
    });
    expect(decodeApiPublish('{"channel":"C","event":"E","data":{"data":1},"data":"last"}')).toMatchObject({
      value: { dataJson: '"last"' },
    });
  });

  it("answers invalid_data to anything else", () => {
    for (const body of [
      "",
      "[]",
      "null",
      '{"channel":"C"}',
      '{"channel":"C","event":""}',
      '{"channel":1,"event":"E"}',
      '{"hub":1,"channel":"C","event":"E"}',
      '{"channel":"C","event":"E"',
    ]) {
      expect(decodeApiPublish(body), body).toEqual({ ok: false, err: "invalid_data" });
    }
  });
});

describe("decodeApiBatch", () => {
  it("decodes each publication on its own, data as written", () => {
    const decoded = decodeApiBatch(
      '{"publications":[{"channel":"a","event":"E","data":[1, 2]},{"channel":"b"},{"channel":"c","event":"F","data":1e400}]}',
    );
    expect(decoded).toEqual({
      ok: true,
      value: [
        { ok: true, value: { hub: "/", channel: "a", event: "E", dataJson: "[1, 2]" } },
        { ok: false, err: "invalid_data" },
        { ok: true, value: { hub: "/", channel: "c", event: "F", dataJson: "1e400" } },
      ],
    });
  });

  it("refuses a body of another shape, and more than the maximum of publications", () => {
    expect(decodeApiBatch('{"publications":{}}')).toEqual({ ok: false, err: "invalid_data" });
    const many = JSON.stringify({ publications: Array.from({ length: maxBatchPublications + 1 }, () => ({})) });
    expect(decodeApiBatch(many)).toEqual({ ok: false, err: "limit_exceeded" });
  });
});

describe("decodeApiDisconnect", () => {
  it("takes a user and an optional hub", () => {
    expect(decodeApiDisconnect('{"user":"alice"}')).toEqual({ ok: true, value: { hub: "/", user: "alice" } });
    expect(decodeApiDisconnect('{"user":""}')).toEqual({ ok: false, err: "invalid_data" });
    expect(decodeApiDisconnect('{"hub":"/","user":7}')).toEqual({ ok: false, err: "invalid_data" });
  });
});

describe("rawMembers", () => {
  it("finds every member of a name, with its text, for any JSON", () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), (outer, data) => {
        const text = JSON.stringify({ a: outer, list: [{ data, x: [data] }] }, null, 1);
        const found = rawMembers(text, "data", 3).filter((m) => m.path.join("/") === "list/0/data");
        expect(found).toHaveLength(1);
        expect(JSON.parse(found[0]?.text ?? "")).toEqual(JSON.parse(JSON.stringify(data)));
      }),
    );
  });
});

describe("presence frames", () => {
  it("encodes events and replies", () => {
    expect(encodePresenceEvent("__join", "C", 'al"ice')).toBe('{"event":"__join","channel":"C","data":{"user":"al\\"ice"}}');
    const { head, tail } = presenceFrameParts("__leave", "C");
    expect(JSON.parse(`${head}"bob"${tail}`)).toEqual({ event: "__leave", channel: "C", data: { user: "bob" } });
    expect(encodePresenceReply([{ user: "alice", connections: 2 }])).toBe(
      '{"ok":true,"users":[{"user":"alice","connections":2}]}',
    );
    expect(encodePresenceReply([])).toBe('{"ok":true,"users":[]}');
  });
});
