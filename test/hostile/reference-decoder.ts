/**
 * The reference model of a client frame's meaning, written from docs/protocol.md with
 * JSON.parse and nothing clever: no scanning, no spans, no fast paths. The protocol
 * package's `decode` must agree with it on every input.
 */

export type ReferenceCommand =
  | { readonly type: "auth"; readonly access: "read-only" | "read-write"; readonly secret: string }
  | { readonly type: "subscribe" | "unsubscribe"; readonly channel: unknown }
  | { readonly type: "publish"; readonly event: string; readonly channel: string; readonly data: unknown }
  | { readonly type: "logout" }
  | { readonly type: "disconnect" };

/** Why a frame is `invalid_data`. For text that is not JSON, `depth` is allowed too (the limit may be checked first). */
export type ReferenceReason = "utf8" | "json" | "depth" | "shape";

export type ReferenceDecoded =
  | ReferenceCommand
  | { readonly type: "error"; readonly code: "invalid_data"; readonly reasons: readonly ReferenceReason[] };

const invalid = (...reasons: ReferenceReason[]): ReferenceDecoded => ({ type: "error", code: "invalid_data", reasons });

/** Whether `bytes` is well-formed UTF-8: decoding with replacement and encoding again gives the same bytes. */
export function isUtf8(bytes: Uint8Array): boolean {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Buffer.from(buf.toString("utf8"), "utf8").equals(buf);
}

/** Whether a parsed value nests arrays and objects deeper than `max` (iterative: values may nest very deep). */
export function deeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const [node, depth] = top;
    if (typeof node !== "object" || node === null) continue;
    if (depth + 1 > max) return true;
    for (const child of Object.values(node)) stack.push([child, depth + 1]);
  }
  return false;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** What a frame means, per docs/protocol.md ("Frames you send", "Error codes", `MaxDepth`). */
export function referenceDecode(frame: string | Uint8Array, maxDepth = 32): ReferenceDecoded {
  let text: string;
  if (typeof frame === "string") text = frame;
  else if (!isUtf8(frame)) return invalid("utf8");
  else text = Buffer.from(frame).toString("utf8");
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return invalid("json", "depth");
  }
  if (deeperThan(parsed, maxDepth)) return invalid("depth");
  if (!isPlainObject(parsed)) return invalid("shape");
  const keys = Object.keys(parsed);
  if (keys.length !== 1) return invalid("shape");
  const name = keys[0];
  const body = parsed[name ?? ""];
  switch (name) {
    case "auth": {
      if (!isPlainObject(body)) return invalid("shape");
      if (body.access !== "read-only" && body.access !== "read-write") return invalid("shape");
      // webrocket decodes into Go strings: an absent or null secret is the empty secret.
      const secret = body.secret ?? "";
      if (typeof secret !== "string") return invalid("shape");
      return { type: "auth", access: body.access, secret };
    }
    case "subscribe":
    case "unsubscribe":
      if (!isPlainObject(body)) return invalid("shape");
      return { type: name, channel: body.channel };
    case "publish": {
      if (!isPlainObject(body)) return invalid("shape");
      const { event, channel, data } = body;
      if (typeof event !== "string" || event === "" || typeof channel !== "string" || channel === "") return invalid("shape");
      return { type: "publish", event, channel, data: data === undefined ? null : data };
    }
    case "logout":
      return { type: "logout" };
    case "disconnect":
      return { type: "disconnect" };
    default:
      return invalid("shape");
  }
}

/** The channel name rules of docs/protocol.md: 1–255 UTF-8 bytes of a string, no control characters. */
export function isValidChannelName(name: unknown): name is string {
  return (
    typeof name === "string" && name.length > 0 && Buffer.byteLength(name, "utf8") <= 255 && !/[\u0000-\u001f\u007f]/.test(name)
  );
}
