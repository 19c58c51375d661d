import { ErrorCode } from "./codes.js";
import type { Decoded, DecodeError, Since } from "./commands.js";
import { parseAccess } from "./credentials.js";
import { JsonByte, jsonStringEnd } from "./json-bytes.js";

/** Limits applied while decoding. */
export interface DecodeOptions {
  /** Deepest allowed nesting of arrays and objects, the frame's own object included. Default 32. */
  readonly maxDepth?: number;
}

const invalid = (reason: DecodeError["reason"]): DecodeError =>
  Object.freeze({ type: "error", code: ErrorCode.InvalidData, reason });
const invalidData = invalid("shape");
const tooDeep = invalid("depth");
const notUtf8 = invalid("utf8");
const notJson = invalid("json");
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Decodes one client frame. Never throws: anything that is not a well-formed command of
 * the protocol comes back as `{type:"error", code:"invalid_data"}`. A publish's `data` is
 * kept as the client's own JSON text (`dataJson`) so that numbers beyond double
 * precision and the like reach subscribers unchanged.
 */
export function decode(frame: string | Uint8Array | ArrayBuffer, options: DecodeOptions = {}): Decoded {
  let text: string;
  if (typeof frame === "string") {
    text = frame;
  } else {
    try {
      text = utf8.decode(frame);
    } catch {
      return notUtf8;
    }
  }
  // JSON.parse copes with any depth, but everything after it (stringify, logging,
  // structured clone) recurses: refuse deep frames before they get that far. The same pass
  // notes where a publish's data sits, so the hot path reads the frame once before parsing.
  const scan = scanFrame(text, options.maxDepth ?? 32);
  if (scan === undefined) return tooDeep;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return notJson;
  }
  if (!isObject(parsed)) return invalidData;
  const keys = Object.keys(parsed);
  if (keys.length !== 1) return invalidData;
  const name = keys[0] as string;
  const body = parsed[name];
  switch (name) {
    case "auth": {
      if (!isObject(body)) return invalidData;
      if ("token" in body) {
        // A token says everything about access: mixing it with webrocket's fields is ambiguous.
        const { token } = body;
        if (typeof token !== "string" || token === "" || "access" in body || "secret" in body) return invalidData;
        return { type: "auth", token };
      }
      const access = parseAccess(body.access);
      const secret = body.secret ?? "";
      if (access === undefined || typeof secret !== "string") return invalidData;
      return { type: "auth", access, secret };
    }
    case "subscribe": {
      if (!isObject(body)) return invalidData;
      if (body.since === undefined) return { type: name, channel: body.channel };
      const since = parseSince(body.since);
      return since === undefined ? invalidData : { type: name, channel: body.channel, since };
    }
    case "unsubscribe":
    case "presence":
      if (!isObject(body)) return invalidData;
      return { type: name, channel: body.channel };
    case "history": {
      if (!isObject(body)) return invalidData;
      const { limit } = body;
      if (limit !== undefined && !(Number.isSafeInteger(limit) && (limit as number) >= 0)) return invalidData;
      const since = body.since === undefined ? undefined : parseSince(body.since);
      if (body.since !== undefined && since?.offset === undefined) return invalidData;
      return {
        type: "history",
        channel: body.channel,
        ...(limit === undefined ? {} : { limit: limit as number }),
        ...(since?.offset === undefined ? {} : { since }),
      };
    }
    case "publish": {
      if (!isObject(body)) return invalidData;
      const { event, channel } = body;
      if (typeof event !== "string" || event === "") return invalidData;
      if (typeof channel !== "string" || channel === "") return invalidData;
      const data = body.data === undefined ? null : body.data;
      const dataJson =
        body.data === undefined
          ? "null"
          : scan.dataEnd > 0
            ? text.slice(scan.dataStart, scan.dataEnd).trim()
            : JSON.stringify(data);
      return { type: "publish", event, channel, data, dataJson };
    }
    case "logout":
      return { type: "logout" };
    case "disconnect":
      return { type: "disconnect" };
    default:
      return invalidData;
  }
}

/** `{}` or `{"offset":N,"epoch":"E"}` (N a non-negative integer); undefined for anything else. */
function parseSince(value: unknown): Since | undefined {
  if (!isObject(value)) return undefined;
  const { offset, epoch } = value;
  if (offset === undefined && epoch === undefined) return {};
  if (!Number.isSafeInteger(offset) || (offset as number) < 0 || typeof epoch !== "string") return undefined;
  return { offset: offset as number, epoch };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

// Plain constants in the scan loop, not property reads.
const {
  Quote: QUOTE,
  OpenBrace: OPEN_BRACE,
  CloseBrace: CLOSE_BRACE,
  OpenBracket: OPEN_BRACKET,
  CloseBracket: CLOSE_BRACKET,
  Colon: COLON,
  Comma: COMMA,
} = JsonByte;

/** Where the value of the last `data` key at depth 2 lies (`dataEnd` 0: none). */
interface FrameScan {
  dataStart: number;
  dataEnd: number;
}

/**
 * One pass over a frame: undefined when arrays/objects nest deeper than `max`, otherwise
 * the span of the last `data` value at depth 2 (JSON.parse keeps the last duplicate too).
 * Only meaningful for text that then parses as JSON.
 */
function scanFrame(text: string, max: number): FrameScan | undefined {
  let depth = 0;
  let keyIsData = false;
  let expectKey = false;
  let valueStart = -1;
  let dataStart = 0;
  let dataEnd = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const end = jsonStringEnd(text, i);
      if (depth === 2 && expectKey) {
        const raw = text.slice(i + 1, end);
        keyIsData = raw === "data" || (raw.includes("\\") && safeUnescape(raw) === "data");
        expectKey = false;
      }
      i = end;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > max) return undefined;
      if (depth === 2) expectKey = c === OPEN_BRACE;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      if (depth === 2 && valueStart >= 0) {
        dataStart = valueStart;
        dataEnd = i;
        valueStart = -1;
      }
      depth--;
    } else if (depth === 2) {
      if (c === COLON) {
        if (keyIsData) valueStart = i + 1;
        keyIsData = false;
      } else if (c === COMMA) {
        if (valueStart >= 0) {
          dataStart = valueStart;
          dataEnd = i;
          valueStart = -1;
        }
        expectKey = true;
      }
    }
  }
  return { dataStart, dataEnd };
}

function safeUnescape(raw: string): string | undefined {
  try {
    return JSON.parse(`"${raw}"`) as string;
  } catch {
    return undefined;
  }
}
