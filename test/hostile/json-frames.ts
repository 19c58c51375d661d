import fc from "fast-check";

/**
 * Generators of hostile client frames at the JSON level: commands of every shape with
 * wrong types, extra and duplicate keys, escaped keys, odd spacing, numbers beyond double
 * precision and unicode of every kind; invalid JSON; deep nesting; random text and bytes.
 * Frames are built as trees and rendered here, so a generator knows the exact text of a
 * publish's `data`; what a frame *means* is left to the JSON.parse-based reference model.
 */

/** JSON as written: literals keep their spelling, strings their escaping, objects their key order and duplicates. */
export type JsonNode =
  | { readonly t: "raw"; readonly text: string }
  | { readonly t: "str"; readonly value: string; readonly escape: Escape }
  | { readonly t: "arr"; readonly items: readonly JsonNode[] }
  | { readonly t: "obj"; readonly entries: readonly (readonly [JsonNode & { t: "str" }, JsonNode])[] };

/** How a string is spelled: as JSON.stringify does, every UTF-16 unit as `\uXXXX`, or with `\/`. */
type Escape = "plain" | "unicode" | "solidus";

/** One client frame to send. `dataText`: the exact text of the data a publish carries, when there is one. */
export interface FrameInput {
  readonly kind: "text" | "binary";
  readonly bytes: Buffer;
  readonly dataText?: string;
}

/** A frame input that fast-check prints short and readable in a counterexample. */
export function frameInput(kind: FrameInput["kind"], bytes: Buffer, dataText?: string): FrameInput {
  return {
    kind,
    bytes,
    ...(dataText === undefined ? {} : { dataText }),
    [fc.toStringMethod]: () => `${kind} frame ${JSON.stringify(shorten(bytes.toString(kind === "text" ? "utf8" : "latin1")))}`,
  } as FrameInput;
}

const shorten = (text: string) => (text.length > 400 ? `${text.slice(0, 200)}…(${text.length} chars)…${text.slice(-100)}` : text);

const space = fc.constantFrom("", "", "", " ", "\n", "\t", "\r\n  ");

function spell(value: string, style: Escape): string {
  if (style === "plain") return JSON.stringify(value);
  if (style === "solidus") return JSON.stringify(value).replaceAll("/", "\\/");
  let out = '"';
  for (let i = 0; i < value.length; i++) out += `\\u${value.charCodeAt(i).toString(16).padStart(4, "0")}`;
  return `${out}"`;
}

/** Renders a tree as JSON text, with `gap` around every punctuation mark. */
export function render(node: JsonNode, gap = ""): string {
  switch (node.t) {
    case "raw":
      return node.text;
    case "str":
      return spell(node.value, node.escape);
    case "arr":
      return `[${gap}${node.items.map((item) => render(item, gap)).join(`${gap},${gap}`)}${gap}]`;
    case "obj":
      return `{${gap}${node.entries.map(([k, v]) => `${render(k, gap)}${gap}:${gap}${render(v, gap)}`).join(`${gap},${gap}`)}${gap}}`;
  }
}

/** Strings that break things: empty, control characters, lone surrogates, prototype names, long. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: "grapheme-ascii", maxLength: 12 }) },
  { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 12 }) },
  { weight: 2, arbitrary: fc.string({ unit: "grapheme", maxLength: 8 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      "",
      "__proto__",
      "constructor",
      "toString",
      "data",
      "d\u0000",
      "\ud800",
      "\udc00x",
      "\u2028\u2029",
      "\ufeff",
      "😀",
      '"\\',
      "x".repeat(300),
    ),
  },
);

const str = (value: fc.Arbitrary<string>) =>
  fc
    .tuple(value, fc.constantFrom<Escape>("plain", "plain", "plain", "plain", "unicode", "solidus"))
    .map(([v, style]) => ({ t: "str" as const, value: v, escape: style }));

/** Number literals, including ones JSON.parse rounds or overflows. */
export const numberText: fc.Arbitrary<string> = fc.oneof(
  fc.integer().map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => JSON.stringify(d)),
  fc.bigInt({ min: -(10n ** 40n), max: 10n ** 40n }).map(String),
  fc.constantFrom(
    "1e400",
    "-1e400",
    "1E-400",
    "-0",
    "0.0",
    "0e0",
    "-0.0e-0",
    "1.7976931348623157e309",
    "123456789012345678901.5e-3",
  ),
);

const literal = fc.oneof(
  { weight: 3, arbitrary: numberText.map((text) => ({ t: "raw" as const, text })) },
  { weight: 1, arbitrary: fc.constantFrom("true", "false", "null").map((text) => ({ t: "raw" as const, text })) },
  { weight: 4, arbitrary: str(hostileString) },
);

/** Any JSON value, a few levels deep. */
export const jsonNode: fc.Arbitrary<JsonNode> = fc.letrec<{ node: JsonNode; arr: JsonNode; obj: JsonNode }>((tie) => ({
  node: fc.oneof({ depthSize: "small", maxDepth: 4 }, literal, tie("arr"), tie("obj")),
  arr: fc.array(tie("node"), { maxLength: 4 }).map((items) => ({ t: "arr" as const, items })),
  obj: fc.array(fc.tuple(str(hostileString), tie("node")), { maxLength: 4 }).map((entries) => ({ t: "obj" as const, entries })),
})).node;

/** Channel names: mostly a small shared pool (so publishes find channels), then hostile ones. */
export const channelName: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom("a", "b", "chat", "news/1", "ü", "😀") },
  { weight: 2, arbitrary: hostileString },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      "",
      "\u0000",
      "a\u007f",
      "tab\there",
      "x".repeat(255),
      "x".repeat(256),
      "é".repeat(127),
      "é".repeat(128),
      "\ud800",
      "\ufffd",
    ),
  },
);

type Entry = readonly [JsonNode & { t: "str" }, JsonNode];
const key = (name: string) => str(fc.constant(name));
/** A key/value pair that is left out one time in twenty. */
const maybe = (name: string, value: fc.Arbitrary<JsonNode>): fc.Arbitrary<Entry[]> =>
  fc.option(fc.tuple(key(name), value), { freq: 20, nil: undefined }).map((e) => (e ? [e] : []));
/** Mostly the expected type, sometimes any JSON at all. */
const usually = (value: fc.Arbitrary<JsonNode>) =>
  fc.oneof({ weight: 15, arbitrary: value }, { weight: 1, arbitrary: jsonNode }) as fc.Arbitrary<JsonNode>;
const extras: fc.Arbitrary<Entry[]> = fc.oneof(
  { weight: 6, arbitrary: fc.constant<Entry[]>([]) },
  { weight: 1, arbitrary: fc.array(fc.tuple(str(hostileString), jsonNode), { minLength: 1, maxLength: 2 }) },
);

/** Bodies of each command, as entries; `data` is remembered for the publish body. */
const bodies = {
  auth: fc
    .tuple(
      maybe(
        "access",
        usually(
          str(
            fc.oneof(
              { weight: 6, arbitrary: fc.constant("read-write") },
              { weight: 3, arbitrary: fc.constant("read-only") },
              { weight: 1, arbitrary: fc.constantFrom("Read-Only", "admin", "", "read-write ") },
            ),
          ),
        ),
      ),
      maybe(
        "secret",
        usually(
          fc.oneof(
            { weight: 6, arbitrary: str(fc.constant("rw-secret")) },
            { weight: 1, arbitrary: str(hostileString) },
            { weight: 1, arbitrary: fc.constant({ t: "raw" as const, text: "null" }) },
          ),
        ),
      ),
      extras,
    )
    .map(([a, s, x]) => [...a, ...s, ...x]),
  subscribe: fc.tuple(maybe("channel", usually(str(channelName))), extras).map(([c, x]) => [...c, ...x]),
  unsubscribe: fc.tuple(maybe("channel", usually(str(channelName))), extras).map(([c, x]) => [...c, ...x]),
  publish: fc
    .tuple(
      maybe("event", usually(str(fc.oneof(fc.constantFrom("e", "say", "move"), hostileString)))),
      maybe("channel", usually(str(channelName))),
      maybe("data", jsonNode),
      extras,
      fc.option(fc.tuple(key("data"), jsonNode), { freq: 8, nil: undefined }),
    )
    .map(([e, c, d, x, dup]) => [...e, ...c, ...d, ...x, ...(dup ? [dup] : [])]),
};

/** Shuffles entries by a list of sort keys (fast-check has no shuffle of its own for tuples). */
function ordered<T>(items: readonly T[], order: readonly number[]): T[] {
  return items
    .map((item, i) => ({ item, k: order[i] ?? i }))
    .sort((a, b) => a.k - b.k)
    .map((x) => x.item);
}

/** The text of the data a publish body carries: its last `data` key, as JSON.parse reads it. */
function dataTextOf(body: JsonNode, gap: string): string | undefined {
  if (body.t !== "obj") return undefined;
  const last = body.entries.findLast(([k]) => k.value === "data");
  return last ? render(last[1], gap) : undefined;
}

/** A command frame: one known key (sometimes twice, sometimes with a stranger), a body of hostile shape. */
export const commandFrame: fc.Arbitrary<FrameInput> = fc
  .tuple(
    fc.oneof(
      {
        weight: 40,
        arbitrary: fc.constantFrom("auth", "subscribe", "subscribe", "unsubscribe", "publish", "publish", "publish"),
      },
      { weight: 2, arbitrary: fc.constant("logout") },
      { weight: 1, arbitrary: fc.constant("disconnect") },
    ),
    fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 8, maxLength: 8 }),
    space,
    fc.oneof(
      { weight: 20, arbitrary: fc.constant("one") },
      { weight: 1, arbitrary: fc.constantFrom("twice", "stranger", "not-object") },
    ),
    fc.nat(),
  )
  .chain(([name, order, gap, top]) => {
    const body: fc.Arbitrary<JsonNode> =
      name === "logout" || name === "disconnect"
        ? usually(fc.constant({ t: "raw" as const, text: "true" }))
        : usually(
            bodies[name as keyof typeof bodies].map((entries) => ({ t: "obj" as const, entries: ordered(entries, order) })),
          );
    return fc.tuple(body, body, str(hostileString), jsonNode).map(([first, second, stranger, other]): FrameInput => {
      const entries: Entry[] =
        top === "twice"
          ? [
              [{ t: "str", value: name, escape: "plain" }, first],
              [{ t: "str", value: name, escape: "unicode" }, second],
            ]
          : top === "stranger"
            ? [
                [{ t: "str", value: name, escape: "plain" }, first],
                [stranger, other],
              ]
            : [[{ t: "str", value: name, escape: "plain" }, first]];
      const root: JsonNode = top === "not-object" ? { t: "arr", items: [{ t: "obj", entries }] } : { t: "obj", entries };
      const winner = entries.findLast(([k]) => k.value === name)?.[1];
      const dataText = name === "publish" && winner ? dataTextOf(winner, gap) : undefined;
      return frameInput("text", Buffer.from(render(root, gap)), dataText);
    });
  });

/** Text that is not JSON: a command cut short, with a byte dropped or added, or with trailing junk. */
export const brokenFrame: fc.Arbitrary<FrameInput> = fc
  .tuple(
    commandFrame,
    fc.nat(),
    fc.constantFrom("cut", "drop", "insert", "append", "quote"),
    fc.string({ unit: "binary", minLength: 1, maxLength: 3 }),
  )
  .map(([frame, at, how, junk]) => {
    const text = frame.bytes.toString("utf8");
    const i = text.length === 0 ? 0 : at % text.length;
    const broken =
      how === "cut"
        ? text.slice(0, i)
        : how === "drop"
          ? text.slice(0, i) + text.slice(i + 1)
          : how === "insert"
            ? text.slice(0, i) + junk + text.slice(i)
            : how === "append"
              ? text + junk
              : text.replaceAll('"', "'");
    return frameInput("text", Buffer.from(broken));
  });

/** Nesting near the depth limit and far beyond it, balanced or not, with brackets inside strings too. */
export const deepFrame: fc.Arbitrary<FrameInput> = fc
  .tuple(
    fc.oneof(fc.integer({ min: 28, max: 36 }), fc.integer({ min: 100, max: 3_000 })),
    fc.constantFrom("[", '{"a":', '[{"b":'),
    fc.boolean(),
    fc.boolean(),
  )
  .map(([depth, open, balanced, decoy]) => {
    const close = open === "[" ? "]" : open === '{"a":' ? "}" : "}]";
    const unit = open === '[{"b":' ? 2 : 1;
    const n = Math.max(1, Math.floor(depth / unit));
    const inner = `${open.repeat(n)}${decoy ? '"[[[{{{"' : "1"}${balanced ? close.repeat(n) : close.repeat(Math.max(0, n - 1))}`;
    return frameInput("text", Buffer.from(`{"publish":{"event":"e","channel":"a","data":${inner}}}`));
  });

/** Any frame the fuzzing sends on a connection that is meant to stay open. */
export const hostileFrame: fc.Arbitrary<FrameInput> = fc.oneof(
  { weight: 20, arbitrary: commandFrame },
  { weight: 3, arbitrary: brokenFrame },
  { weight: 1, arbitrary: jsonNode.map((node) => frameInput("text", Buffer.from(render(node)))) },
  { weight: 1, arbitrary: deepFrame },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 40 }).map((s) => frameInput("text", Buffer.from(s))) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 40 }).map((b) => frameInput("binary", Buffer.from(b))) },
  { weight: 1, arbitrary: commandFrame.map((f) => frameInput("binary", f.bytes, f.dataText)) },
);
